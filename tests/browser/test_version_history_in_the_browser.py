"""A member edits a live sequence, publishes again and reads what changed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import SequenceVersion

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_publishing_again_shows_the_change_in_the_version_history(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = authoring.create_sequence(
        admin,
        name="Renewals",
        steps=[StepInput(subject="Your renewal", body_html="<p>Hi, your plan renews soon.</p>")],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    email = page.get_by_role("article", name="Email 1")
    # The composer replaces the plain field once its script has loaded.
    expect(email.get_by_role("button", name="Insert variable")).to_be_visible()
    email.get_by_role("textbox", name="Body").fill("Hi, your plan renews next month.")
    page.get_by_label("Business days only").uncheck()
    expect(page.locator("#save-state")).to_contain_text("unpublished changes")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 2")

    page.get_by_role("link", name="Version history").click()
    expect(page.get_by_role("heading", name="Version history")).to_be_visible()
    latest = page.get_by_role("region", name="Version 2 Live")
    expect(latest).to_contain_text("Published by Ada Admin")
    body = latest.get_by_role("row", name="Body")
    expect(body.locator("del")).to_have_text("removed: soon")
    expect(body.locator("ins")).to_have_text("added: next month")
    settings = latest.get_by_role("row", name="Business days only")
    expect(settings).to_contain_text("On")
    expect(settings).to_contain_text("Off")
    expect(page.get_by_role("region", name="Version 1")).to_contain_text(
        "The first published version"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "version-history.png"), full_page=True)
    axe("version history")


@pytest.mark.browser_context_args(timezone_id="Asia/Tokyo")
def test_a_viewer_in_tokyo_reads_publication_times_in_tokyo_time(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = authoring.create_sequence(
        admin,
        name="Renewals",
        steps=[StepInput(subject="Your renewal", body_html="<p>Hi.</p>")],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    SequenceVersion.objects.filter(sequence=sequence).update(
        published_at=datetime(2026, 12, 4, 18, 20, tzinfo=UTC)
    )
    sign_in(admin)
    # Any signed-in page tells the server the browser's zone (shell.js's cookie).
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    page.get_by_role("link", name="Version history").click()

    expect(page.get_by_role("region", name="Version 1 Live")).to_contain_text(
        "Published by Ada Admin on 5 Dec 2026, 03:20 your time (Asia/Tokyo)"
    )
    axe("version history in the viewer's zone")
