"""The owner invites a teammate as a delegated sender; she accepts from the notifications menu."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.mail.models import Mailbox, Signature
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import DelegatedSender
from sequencer.workspace import services
from sequencer.workspace.models import User

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# htmx swaps the status line (out of band) a moment before the settings it redraws.
BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"


def _mailbox(owner: User, email: str) -> Mailbox:
    return Mailbox.objects.create(
        owner=owner,
        provider="smtp_imap",
        email=email,
        is_default=True,
        smtp_host="smtp.mail.test",
        smtp_port=587,
        address_proven_at=datetime.now(UTC),
        address_proof="admin",
    )


def test_the_owner_invites_a_delegated_sender_who_accepts_from_the_notifications_menu(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = authoring.create_sequence(
        admin,
        name="Q3 outreach",
        steps=[StepInput(subject="Hello", body_html="<p>Hi there</p>")],
        clock=system_clock,
    )
    box = _mailbox(admin, "ada@acme.test")
    Signature.objects.create(mailbox=box, name="Short", body_html="<p>Ada</p>", is_default=True)
    mia = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")
    _mailbox(mia, "mia@acme.test")
    services.create_user("sam@acme.test", "a-long-passphrase", name="Sam Sales")
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    page.get_by_role("navigation", name="Sequence").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Sender settings")).to_be_visible()

    page.get_by_role("switch", name="Delegated sender").check()
    status = page.locator("#settings-status")
    expect(status).to_have_text(
        "Teammates can now send this sequence as you, from your default mailbox."
    )
    expect(page.get_by_role("checkbox", name="Use default mailbox")).to_be_checked()
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_role("combobox", name="Signature").select_option(label="“Short”")
    expect(status).to_contain_text("Signature saved to the draft")
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_role("searchbox", name="Search a member").fill("mia")
    expect(page.get_by_role("radio")).to_have_count(1)
    expect(page.get_by_role("radio", name="Mia Member")).to_be_checked()
    page.get_by_role("button", name="Invite member").click()
    expect(status).to_have_text("Invited Mia Member. They can accept from their notifications.")
    delegates = page.get_by_role("list", name="Who can be sent as")
    expect(delegates.get_by_role("listitem").filter(has_text="Mia Member")).to_contain_text(
        "Invited · awaiting answer"
    )
    expect(delegates.get_by_role("listitem").filter(has_text="(you)")).to_contain_text("On")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sequence-settings.png"), full_page=True)
    axe("sequence settings")
    sequence.refresh_from_db()
    assert sequence.settings["signature"] == "Short"

    page.context.clear_cookies()
    sign_in(mia)
    page.goto(live_server.url + "/sequences/")
    bell = page.get_by_role("button", name="Notifications, 1 unread")
    bell.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("region", name="Notifications")
    expect(panel).to_be_visible()
    accept = panel.get_by_role("button", name="Accept")
    expect(accept).to_be_visible()
    expect(panel).to_contain_text("Ada Admin asks you to be a delegated sender for Q3 outreach")
    axe("notifications menu")
    for _ in range(4):
        page.keyboard.press("Tab")
        if accept.evaluate("el => el === document.activeElement"):
            break
    expect(accept).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.get_by_role("status")).to_contain_text(
        "Accepted: teammates can now send “Q3 outreach” as you, from mia@acme.test."
    )
    expect(panel.get_by_role("button", name="Accept")).to_have_count(0)
    expect(page.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Notifications", exact=True)).to_be_focused()
    row = DelegatedSender.objects.get(sequence=sequence, member=mia)
    assert row.accepted_at is not None

    page.goto(live_server.url + f"/sequences/{sequence.pk}/settings/")
    expect(page.get_by_role("switch", name="Delegated sender")).to_be_checked()
    mine = page.get_by_role("list", name="Who can be sent as").get_by_role("listitem")
    expect(mine.filter(has_text="Mia Member (you)")).to_contain_text("Sends from mia@acme.test")
    page.set_viewport_size({"width": 390, "height": 844})
    axe("sequence settings on a phone")
