"""A salesperson connects an SMTP + IMAP mailbox against the real peers, tests it, then
reads the outbox, in Chromium."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.sequences import authoring, enrollment
from sequencer.sequences.authoring import StepInput
from tests.peers.fixtures import ALICE, DOVECOT_USERS, mark_address_proven

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _shot(page: Page, name: str) -> None:
    """The whole page, taken with a window as tall as the page, so that the sidebar and
    the phone's top bar (sticky to the window) sit where a person sees them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def _fill_servers(page: Page, smtp_server, dovecot, smtp_password: str) -> None:
    smtp = page.get_by_role("group", name="Sending (SMTP)")
    smtp.get_by_label("Host").fill(smtp_server.host)
    smtp.get_by_label("Port").fill(str(smtp_server.port))
    smtp.get_by_label("Security").select_option("none")
    smtp.get_by_label("Username").fill("alice")
    smtp.get_by_label("Password").fill(smtp_password)
    imap = page.get_by_role("group", name="Reading (IMAP)")
    imap.get_by_label("Host").fill(dovecot.host)
    imap.get_by_label("Port").fill(str(dovecot.imap_port))
    imap.get_by_label("Security").select_option("none")
    imap.get_by_label("Username").fill(ALICE)
    imap.get_by_label("Password").fill(DOVECOT_USERS[ALICE])


def _queue(owner, box: Mailbox, settings: dict, names: list[str]) -> None:
    sequence = authoring.create_sequence(
        owner,
        name=settings.pop("name"),
        settings=settings,
        steps=[StepInput(subject="Hello", body_html="<p>Hi</p>")],
        clock=system_clock,
    )
    authoring.publish(owner, sequence.pk, clock=system_clock)
    people = []
    for name in names:
        first, last = name.split()
        person = Person.objects.create(first_name=first, last_name=last)
        address = f"{first.lower()}@{last.lower()}.test"
        EmailAddress.objects.create(person=person, email=address, is_primary=True)
        people.append(person)
    enrollment.enroll(
        owner,
        sequence.pk,
        [enrollment.Recipient(person_id=p.pk) for p in people],
        mailbox_id=box.pk,
        clock=system_clock,
    )


def test_a_member_connects_tests_and_reads_the_outbox_of_an_smtp_imap_mailbox(
    live_server, page: Page, admin, sign_in, axe, smtp_delivers_to_dovecot, smtp_server
):
    dovecot = smtp_delivers_to_dovecot
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/sequences/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()
    expect(page.get_by_role("heading", name="No mailbox yet")).to_be_visible()
    expect(page.get_by_role("link", name="Mailboxes", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    axe("empty mailboxes page")

    page.get_by_role("link", name="Connect SMTP and IMAP").click()
    page.get_by_label("Email address").fill(ALICE)
    page.get_by_label("Sender name").fill("Alice Example")
    _fill_servers(page, smtp_server, dovecot, "secret")
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#connection-test")
    expect(result).to_contain_text("Connection test passed.")
    expect(result).to_contain_text("sent mail is filed in 'Sent'")
    assert not Mailbox.objects.exists()  # testing saves nothing
    axe("mailbox form, test passed")

    smtp = page.get_by_role("group", name="Sending (SMTP)")
    smtp.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("Connection test failed at step: Login.")
    expect(result.locator("li.step-failed")).to_contain_text("Login")
    expect(result.locator("li.step-passed").first).to_contain_text("Connect")
    # What was typed stays in the form (the test answered with the result only).
    expect(page.get_by_label("Email address")).to_have_value(ALICE)
    axe("mailbox form, test failed")
    _shot(page, "mailbox-form.png")
    page.set_viewport_size(NARROW)
    _shot(page, "mailbox-form-phone.png")
    axe("mailbox form on a phone")
    page.set_viewport_size(WIDE)

    smtp.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Connect mailbox").click()
    expect(page.get_by_role("heading", name=ALICE)).to_be_visible()
    expect(page.locator("#connection-test")).to_contain_text("Connection test passed.")
    expect(page.get_by_role("region", name="State")).to_contain_text(
        "is proven by a test message found over IMAP"
    )
    # The saved password is never written back into the page.
    expect(page.get_by_role("group", name="Sending (SMTP)").get_by_label("Password")).to_have_value(
        ""
    )
    assert "secret" not in page.content()
    axe("mailbox page")

    page.screenshot(path="/tmp/settings-mailbox-page.png", full_page=True)

    # A signature, written in the composer's editor (no variables in a signature).
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Signatures").click()
    page.get_by_role("link", name=f"New signature for {ALICE}").click()
    page.get_by_label("Name").fill("Formal")
    # The composer replaces the plain field once its script has loaded.
    expect(page.get_by_role("toolbar", name="Formatting of the signature")).to_be_visible()
    body = page.get_by_role("textbox", name="Signature")
    body.click()
    page.keyboard.press("Control+b")
    expect(page.get_by_role("button", name="Bold")).to_have_attribute("aria-pressed", "true")
    page.keyboard.type("Alice Example")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+b")
    page.keyboard.type("Sales, Example Ltd")
    expect(page.get_by_role("button", name="Insert variable")).to_have_count(0)
    axe("signature editor")
    page.get_by_role("button", name="Save signature").click()
    expect(page.get_by_text("Signature “Formal” saved")).to_be_visible()
    signature = page.get_by_role("region", name=ALICE)
    expect(signature.locator(".signature-preview strong")).to_have_text("Alice Example")
    expect(signature.locator(".signature-preview")).to_contain_text("Sales, Example Ltd")
    expect(signature).to_contain_text("Default")
    axe("signatures")
    page.screenshot(path="/tmp/settings-signatures.png", full_page=True)

    box = Mailbox.objects.get(email=ALICE)
    _queue(
        admin,
        box,
        {
            "name": "Spring outreach",
            # Every day, all day: due now whatever day the test runs on.
            "window": {"start": "00:00", "end": "00:00"},
            "time_zone": "UTC",
            "business_days_only": False,
        },
        ["Grace Hopper", "Alan Turing", "Katherine Johnson"],
    )
    _queue(
        admin,
        box,
        {
            "name": "Webinar follow-up",
            "window": {"start": "09:00", "end": "10:00"},
            "time_zone": "Pacific/Auckland",
            "business_days_only": True,
            "holiday_country": "NZ",
        },
        ["Margaret Hamilton"],
    )
    paused = Mailbox.objects.create(
        owner=admin,
        provider="smtp_imap",
        email="sales@example.test",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        is_default=False,
    )
    mark_address_proven(paused)
    _queue(
        admin,
        paused,
        {
            "name": "Renewals",
            "window": {"start": "00:00", "end": "00:00"},
            "time_zone": "UTC",
            "business_days_only": False,
        },
        ["Ada Lovelace"],
    )
    Mailbox.objects.filter(pk=paused.pk).update(
        status=MailboxStatus.PAUSED,
        status_reason="The provider says the daily sending quota is used up.",
        paused_until=system_clock.now() + timedelta(hours=20),
    )

    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    mine = page.get_by_role("region", name=ALICE)
    expect(mine.get_by_role("row")).to_have_count(5)  # the header and four emails
    expect(mine).to_contain_text("Due now")
    expect(mine).to_contain_text("Pacing: this mailbox waits 5 minutes between two emails.")
    expect(mine).to_contain_text("Pacific/Auckland")
    other = page.get_by_role("region", name="sales@example.test")
    expect(other).to_contain_text("The provider says the daily sending quota is used up.")
    axe("outbox")
    _shot(page, "outbox.png")
    page.set_viewport_size(NARROW)
    _shot(page, "outbox-phone.png")
    axe("outbox on a phone")
    page.set_viewport_size(WIDE)

    # The mailbox the engine paused is resumed from the list.
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Mailboxes").click()
    row = page.locator(f"#mailbox-{paused.pk}")
    expect(row).to_contain_text("The provider says the daily sending quota is used up.")
    axe("mailboxes list")
    page.screenshot(path="/tmp/settings-mailboxes.png", full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path="/tmp/settings-mailboxes-phone.png", full_page=True)
    row.get_by_role("button", name="Resume sales@example.test").click()
    expect(page.get_by_text("sales@example.test is sending again")).to_be_visible()
    paused.refresh_from_db()
    assert paused.status == MailboxStatus.ACTIVE
