"""The editor's schedule preview follows the waits as they are typed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput

pytestmark = pytest.mark.django_db(transaction=True)


def _day(days_from_now: int) -> str:
    moment = datetime.now(ZoneInfo("America/New_York")) + timedelta(days=days_from_now)
    return f"{moment:%a} {moment.day} {moment:%b}"


def test_the_schedule_preview_changes_with_the_wait(live_server, page: Page, admin, sign_in, axe):
    sequence = authoring.create_sequence(
        admin,
        name="Trial follow-up",
        settings={
            "time_zone": "America/New_York",
            "window": {"start": "00:00", "end": "00:00"},
            "business_days_only": False,
        },
        steps=[
            StepInput(subject="Welcome", body_html="<p>Hi</p>"),
            StepInput(delay_days=1, body_html="<p>Any questions?</p>"),
        ],
        clock=system_clock,
    )
    sign_in(admin)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    preview = page.locator("#schedule-preview")
    # The browser said where it is, so its own time is shown next to New York's.
    expect(preview).to_contain_text("your time")
    email_2 = preview.get_by_role("listitem").filter(has_text="Email 2")
    expect(email_2).to_contain_text(f"{_day(1)}, ")

    page.get_by_role("spinbutton", name="Wait").fill("5")
    expect(email_2).to_contain_text(f"{_day(5)}, ")
    page.get_by_role("button", name="Add step to sequence").click()
    expect(preview.get_by_role("listitem").filter(has_text="Email 3")).to_contain_text(
        f"{_day(6)}, "
    )
    axe("editor with the schedule preview")
