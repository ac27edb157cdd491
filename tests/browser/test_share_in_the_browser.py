"""An owner shares a sequence read-only with a colleague, who then sees it read-only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, authoring
from sequencer.sequences.authoring import StepInput
from sequencer.workspace import services

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Inside the open dialog, whatever control has focus.
FOCUS_IN_DIALOG = "document.querySelector('dialog[open]').contains(document.activeElement)"


def test_sharing_read_only_with_a_member_gives_them_a_read_only_view(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = authoring.create_sequence(
        admin,
        name="Enterprise plays",
        steps=[StepInput(subject="Hello", body_html="<p>Hi there</p>")],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    rita = services.create_user("rita@acme.test", "a-long-passphrase", name="Rita Reader")
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    share = page.get_by_role("button", name="Share")
    share.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Share “Enterprise plays”")
    expect(dialog).to_be_visible()
    dialog.get_by_role("combobox", name="Access for Everyone in Acme").select_option("No access")
    expect(dialog.get_by_role("status")).to_have_text("Access saved.")
    # Whom to add is found by typing, and added with the keyboard alone.
    search = dialog.get_by_role("searchbox", name="Find a member or team")
    search.focus()
    page.keyboard.type("rita")
    rita_choice = dialog.get_by_role("radio", name=re.compile(r"^Rita Reader"))
    expect(rita_choice).to_be_checked()  # the only match is chosen already
    expect(dialog.get_by_role("radio")).to_have_count(1)
    page.keyboard.press("Enter")  # searches; does not submit the dialog
    expect(dialog.get_by_role("status")).to_have_text("Access saved.")
    page.keyboard.press("Tab")
    expect(rita_choice).to_be_focused()
    page.keyboard.press("Tab")
    access_choice = dialog.get_by_role("combobox", name="Access", exact=True)
    expect(access_choice).to_be_focused()
    access_choice.select_option("Read only")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Add")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("status")).to_have_text("Rita Reader now has read only access.")
    expect(dialog.get_by_role("combobox", name="Access for Rita Reader")).to_have_value("read_only")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "share-dialog.png"))
    axe("share dialog")
    # Focus stays in the dialog, however far the keyboard goes, both ways.
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert page.evaluate(FOCUS_IN_DIALOG)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(share).to_be_focused()

    sequence.refresh_from_db()
    assert access.level_for(rita, sequence) == Level.READ_ONLY
    assert access.access_list(sequence).workspace_access == Level.NO_ACCESS

    page.context.clear_cookies()
    sign_in(rita)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    expect(page.get_by_role("heading", name="Enterprise plays")).to_be_visible()
    expect(page.get_by_text("read-only access")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    expect(page.get_by_label("Subject")).to_be_disabled()
    expect(page.get_by_label("Body")).to_be_disabled()
    expect(page.get_by_label("Business days only")).to_be_disabled()
    expect(page.get_by_role("button", name="Publish sequence")).to_have_count(0)
    expect(page.get_by_role("button", name="Add step to sequence")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete step 1")).to_have_count(0)
    page.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share “Enterprise plays”")
    expect(dialog.get_by_text("Only members with full access")).to_be_visible()
    expect(dialog.get_by_role("listitem").filter(has_text="Rita Reader (you)")).to_contain_text(
        "Read only"
    )
    expect(dialog.get_by_role("combobox")).to_have_count(0)
    axe("share dialog, read only")
