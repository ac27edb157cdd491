"""Enrolling from the Recipients tab in a real browser, then following a recipient."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from sequencer.clock import system_clock
from sequencer.crm.models import ListEntry, PersonList
from sequencer.sequences import delegation
from sequencer.sequences.models import Enrollment
from sequencer.sequences.suppression import suppress
from sequencer.workspace import services
from tests.integration.web.enrolling import (
    enroll,
    mailbox_of,
    out_of_office,
    person,
    published,
    reply_from,
    send_first_email,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Phone-sized screenshots are only looked at while working on the pages.
SCRATCH = Path(os.environ.get("SEQUENCER_SCRATCH_SCREENSHOTS", "/tmp"))
FOCUS_IN_DIALOG = "document.querySelector('dialog[open]').contains(document.activeElement)"
BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A browser in Berlin: times are shown in the viewer's zone, not the server's."""
    return {**browser_context_args, "timezone_id": "Europe/Berlin"}


def test_a_member_enrolls_a_list_from_the_recipients_tab_and_follows_a_recipient(
    live_server, page: Page, admin, sign_in, axe
):
    blocked: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", on_console)
    sequence = published(admin)
    own = mailbox_of(admin, "ada@acme.test")
    mia = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")
    mia_box = mailbox_of(mia, "mia@acme.test")
    delegation.set_own_delegation(mia, sequence.pk, enabled=True, clock=system_clock)
    grace = person("Grace", "grace@navy.test", "grace.h@home.test", last="Hopper")
    una = person("Una", "una@initech.test", last="Unger")
    suppress(mia_box.email, "una@initech.test", reason="unsubscribed", clock=system_clock)
    person("Ken", "ken@initech.test", last="Kay")
    leads = PersonList.objects.create(name="Warm leads")
    for someone in (grace, una, person("Linus", "linus@initech.test", last="Lee")):
        ListEntry.objects.create(person_list=leads, person=someone)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    [joan] = enroll(sequence, admin, own, person("Joan", "joan@bletchley.test", last="Clarke"))
    Enrollment.objects.filter(pk=joan.pk).update(enrolled_at=now - timedelta(days=3, minutes=1))
    send_first_email(joan, now - timedelta(days=3))
    out_of_office(joan, now - timedelta(days=2), (now + timedelta(days=5)).date().isoformat())
    reply_from(
        joan, own, now - timedelta(hours=2), "Thanks Ada, I'm back now.\nLet's talk on Tuesday."
    )

    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    page.get_by_role("navigation", name="Sequence").get_by_role("link", name="Recipients").click()
    opener = page.get_by_role("button", name="Enroll recipients")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Enroll recipients in “Q3 outreach”")
    expect(dialog).to_be_visible()
    assert page.evaluate(FOCUS_IN_DIALOG)
    # Escape closes it and gives focus back to the button; the button opens it again.
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Nobody is selected yet")

    dialog.get_by_role("combobox", name="Add a list").select_option(label="Warm leads")
    expect(dialog.get_by_role("heading", name="Recipients (3)")).to_be_visible()
    expect(dialog).to_contain_text("3 will be enrolled")
    dialog.get_by_role("searchbox", name="Add people").fill("ken")
    dialog.get_by_role("button", name="Add Ken Kay").click()
    expect(dialog.get_by_role("heading", name="Recipients (4)")).to_be_visible()
    dialog.get_by_role("button", name="Take Ken Kay out").click()
    expect(dialog.get_by_role("heading", name="Recipients (3)")).to_be_visible()
    dialog.get_by_role("combobox", name="Sender").select_option(
        label="Mia Member · mia@acme.test (delegated sender)"
    )
    refused = dialog.get_by_role("region", name="Will not be enrolled (1)")
    expect(refused).to_contain_text("Una Unger")
    expect(refused).to_contain_text(
        "una@initech.test unsubscribed from emails sent by mia@acme.test."
    )
    expect(dialog).to_contain_text("2 will be enrolled")
    dialog.get_by_role("combobox", name="Address for Grace Hopper").select_option(
        "grace.h@home.test"
    )
    expect(page.locator(BUSY)).to_have_count(0)
    expect(dialog.get_by_role("combobox", name="Address for Grace Hopper")).to_have_value(
        "grace.h@home.test"
    )
    dialog.get_by_role("button", name="Grace Hopper", exact=True).click()
    preview = dialog.get_by_role("region", name="Preview for Grace Hopper")
    expect(preview).to_contain_text("To grace.h@home.test, if enrolled now.")
    expect(preview).to_contain_text("Times are your time (Berlin).")
    expect(preview).to_contain_text("Hello Grace")
    expect(preview).to_contain_text("RE: Hello Grace")
    expect(preview).to_contain_text("Following up, Grace.")
    expect(preview.get_by_role("heading", name="Preview for Grace Hopper")).to_be_focused()
    expect(page.locator(BUSY)).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "enroll-dialog.png"))
    axe("enroll dialog")
    for key in ["Tab"] * 14 + ["Shift+Tab"] * 14:
        page.keyboard.press(key)
        assert page.evaluate(FOCUS_IN_DIALOG)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCRATCH / "enroll-dialog-phone.png"))
    axe("enroll dialog on a phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    dialog.get_by_role("button", name="Enroll 2 people").click()
    result = dialog.get_by_role("heading", name="Enrolled 2 people in “Q3 outreach”")
    expect(result).to_be_focused()
    expect(dialog).to_contain_text("Una Unger")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    table = page.get_by_role("table", name="Recipients of this sequence")
    grace_row = table.get_by_role("row").filter(has_text="Grace Hopper")
    expect(grace_row).to_contain_text("grace.h@home.test")
    expect(grace_row).to_contain_text("Mia Member")
    expect(grace_row).to_contain_text("Email 1 of 2")
    made = Enrollment.objects.get(sequence=sequence, person=grace)
    assert (made.email, made.mailbox_id) == ("grace.h@home.test", mia_box.pk)

    grace_row.get_by_role("link", name="Grace Hopper").click()
    detail = page.get_by_role("region", name="Grace Hopper")
    expect(detail.get_by_role("heading", name="Grace Hopper")).to_be_focused()
    detail.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_have_text("Paused: no email goes out until you resume.")
    expect(table.get_by_role("row").filter(has_text="Grace Hopper")).to_contain_text("Paused")
    page.get_by_role("region", name="Grace Hopper").get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_have_text("Resumed: the next email is scheduled again.")
    expect(table.get_by_role("row").filter(has_text="Grace Hopper")).to_contain_text("Active")
    made.refresh_from_db()
    assert made.status == "active"

    table.get_by_role("link", name="Linus Lee").click()
    page.get_by_role("region", name="Linus Lee").get_by_role("button", name="Remove").click()
    confirm = page.get_by_role("dialog", name="Remove Linus Lee?")
    expect(confirm).to_contain_text("No more emails of this sequence go to linus@initech.test.")
    axe("remove confirmation")
    confirm.get_by_role("button", name="Remove from sequence").click()
    expect(page.get_by_role("status")).to_have_text(
        "Removed from the sequence: nothing more is sent."
    )
    expect(table.get_by_role("row").filter(has_text="Linus Lee")).to_contain_text("Removed")

    table.get_by_role("link", name="Joan Clarke").click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Let's talk on Tuesday.")
    expect(timeline).to_contain_text("Out of office")
    expect(timeline).to_contain_text("Back on")
    expect(timeline).to_contain_text("Email 1: Hello Joan")
    timeline.get_by_text("Show the email").click()
    expect(timeline.get_by_text("Hi Joan!")).to_be_visible()
    expect(page.get_by_role("link", name="Original message (.eml)")).to_be_visible()
    expect(page.locator(BUSY)).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "recipients-tab.png"), full_page=True)
    axe("recipients tab with a timeline")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCRATCH / "recipients-tab-phone.png"), full_page=True)
    axe("recipients tab on a phone")
    assert blocked == []


def test_a_read_only_member_sees_recipients_without_any_control(
    live_server, page: Page, admin, sign_in, make_member, axe
):
    sequence = published(admin, workspace_access="read_only")
    own = mailbox_of(admin, "ada@acme.test")
    enroll(sequence, admin, own, person("Kim", "kim@initech.test"))
    rita = services.create_user("rita@acme.test", "a-long-passphrase", name="Rita Reader")
    sign_in(rita)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/recipients/")

    expect(page.get_by_text("You have read-only access")).to_be_visible()
    expect(page.get_by_role("button", name="Enroll recipients")).to_have_count(0)
    page.get_by_role("link", name="Kim Tester").click()
    expect(page.get_by_role("list", name="Timeline")).to_contain_text("Enrolled in version 1")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    axe("recipients tab, read only")


def test_the_enroll_page_opened_from_a_link_picks_a_sequence_and_enrolls(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = published(admin, name="Welcome series")
    published(admin, name="Renewals")
    mailbox_of(admin, "ada@acme.test")
    ada = person("Ada", "ada@analytical.test", last="Lovelace")
    sign_in(admin)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + f"/enroll/?person={ada.pk}")

    expect(page.get_by_role("heading", name="Enroll recipients", level=1)).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("combobox", name="Sequence").select_option(label="Welcome series")
    expect(page.get_by_role("combobox", name="Sender")).to_have_value(
        f"mailbox:{admin.mailboxes.get().pk}"
    )
    expect(page.get_by_text("1 will be enrolled")).to_be_visible()
    axe("enroll page on a phone")
    page.get_by_role("button", name="Enroll 1 person").click()
    expect(
        page.get_by_role("heading", name="Enrolled 1 person in “Welcome series”")
    ).to_be_visible()
    page.get_by_role("link", name="See recipients").click()
    expect(page.get_by_role("table", name="Recipients of this sequence")).to_contain_text(
        "Ada Lovelace"
    )
    assert Enrollment.objects.get(person=ada).sequence_id == sequence.pk


# Chooses Mia's mailbox the moment the next redraw lands, as a quick hand would.
CHOOSE_MIA_ON_NEXT_SWAP = """() => document.body.addEventListener("htmx:afterSwap", () => {
  setTimeout(() => {
    const sender = document.getElementById("enroll-sender");
    const mia = [...sender.options].find((option) => option.text.includes("mia@acme.test"));
    sender.value = mia.value;
    sender.dispatchEvent(new Event("change", { bubbles: true }));
  }, 0);
}, { once: true })"""


def test_a_sender_chosen_the_moment_the_dialog_redraws_is_not_lost(
    live_server, page: Page, admin, sign_in
):
    sequence = published(admin, name="Welcome series")
    mailbox_of(admin, "ada@acme.test")
    mia = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")
    mia_box = mailbox_of(mia, "mia@acme.test")
    delegation.set_own_delegation(mia, sequence.pk, enabled=True, clock=system_clock)
    una = person("Una", "una@initech.test", last="Unger")
    suppress(mia_box.email, "una@initech.test", reason="unsubscribed", clock=system_clock)
    sign_in(admin)
    page.goto(live_server.url + f"/enroll/?person={una.pk}")

    page.evaluate(CHOOSE_MIA_ON_NEXT_SWAP)
    page.get_by_role("combobox", name="Sequence").select_option(label="Welcome series")

    expect(page.get_by_role("combobox", name="Sender")).to_contain_text("mia@acme.test")
    refused = page.get_by_role("region", name="Will not be enrolled (1)")
    expect(refused).to_contain_text("Una Unger")
    expect(page.get_by_text("0 will be enrolled")).to_be_visible()
