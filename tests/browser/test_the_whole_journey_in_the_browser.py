"""The whole journey, from an empty install to a reply, in Chromium against real peers.

aiosmtpd receives what the mailbox sends and Dovecot holds its inbox (both started by the
fixtures in tests/peers). A newcomer creates the workspace, connects the mailbox through
the form and passes Test connection, imports people from a CSV with one bad row, puts
three on a list, writes a three-step sequence with a variable and a fallback, publishes,
enrolls the list's three with the checkboxes after previewing one, and sees the first
email reach the SMTP server with that person's data. That person replies through
Dovecot's submission service; the Recipients tab then shows them exited as replied
while the other two go on.

The engine's send and inbox steps run here, in the test's thread, through the same calls
the worker loop makes (``Worker.tick`` and the mailbox sync), not a worker process.

Then two short ones: enrolling from a person's page and from a company's People tab,
through their **Enroll in sequence**, until the recipients show in the Recipients tab.
"""

from __future__ import annotations

import os
import re
import smtplib
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.crm.models import Company, EmailAddress, Person
from sequencer.engine.worker import Worker, inbound_handler
from sequencer.mail.models import Mailbox
from sequencer.mail.sync import runner
from sequencer.sequences.models import Enrollment, Sequence
from tests.browser.composing import (
    BUSY,
    add_step,
    insert_variable,
    new_sequence,
    type_in_body,
    wait_for_saves,
)
from tests.integration.web.enrolling import mailbox_of, person, published
from tests.peers.dovecot import Dovecot
from tests.peers.fixtures import ALICE, DOVECOT_USERS
from tests.peers.smtp import ReceivedMessage, ScriptedSMTPServer

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}
# Looked at while working on the pages, not kept in the docs.
SCRATCH = Path(os.environ.get("SEQUENCER_SCRATCH_SCREENSHOTS", "/tmp"))
CAROL = "carol@example.test"  # a Dovecot user: she reads and answers her mail there
# Five people, one of them with an address that is not one.
TRADE_FAIR = (
    "Email,First name,Last name,Job title,Company\n"
    f"{CAROL},Carol,Shaw,Head of Sales,Example Ltd\n"
    "dee.dunn@bigcorp.test,Dee,Dunn,COO,BigCorp\n"
    "cy.cole(at)client.test,Cy,Cole,Buyer,Client Co\n"
    "eve.evans@bigcorp.test,Eve,Evans,Founder,BigCorp\n"
    "finn.ford@client.test,Finn,Ford,CTO,Client Co\n"
)
ON_THE_LIST = ("Carol Shaw", "Dee Dunn", "Eve Evans")


def _until(found: Callable[[], object], what: str, timeout: float = 15.0) -> object:
    """Poll ``found`` until it gives something truthy (what the engine does is not in the
    browser, so Playwright's expect cannot wait for it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def _read_inboxes() -> None:
    """The worker's inbox step, on every mailbox now: its own interval would wait minutes
    after the pass the first tick made."""
    now = system_clock.now()
    runner.sync_mailboxes(
        now,
        owner="journey-reader",
        clock=system_clock,
        act=inbound_handler(system_clock),
        interval=timedelta(0),
    )


def _reply_as_carol(dovecot: Dovecot, first: ReceivedMessage) -> None:
    """Carol answers from her own mailbox: Dovecot's submission service relays the reply
    to the SMTP peer, which delivers it into Alice's Dovecot inbox."""
    original = first.message
    reply = EmailMessage()
    reply["From"] = f"Carol Shaw <{CAROL}>"
    reply["To"] = ALICE
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.test")
    reply["In-Reply-To"] = first.message_id
    reply["References"] = first.message_id
    reply.set_content("Thanks Alice, a call on Tuesday works for me.\n\nCarol\n")
    with smtplib.SMTP(
        dovecot.host, dovecot.submission_port, local_hostname="carol.test", timeout=5
    ) as client:
        client.login(CAROL, DOVECOT_USERS[CAROL])
        client.send_message(reply)


def test_from_an_empty_install_to_a_reply_that_exits_its_recipient(
    live_server,
    page: Page,
    axe,
    smtp_server: ScriptedSMTPServer,
    smtp_delivers_to_dovecot: Dovecot,
):
    dovecot = smtp_delivers_to_dovecot
    page.set_viewport_size(WIDE)

    # 1. The first visit creates the workspace and signs its admin in.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Welcome to Sequencer")).to_be_visible()
    axe("set-up page")
    page.get_by_label("Workspace name").fill("Example Ltd")
    page.get_by_label("Your name").fill("Alice Example")
    page.get_by_label("Your email").fill(ALICE)
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", name="Example Ltd")).to_be_visible()
    axe("home page of a new workspace")

    # 2. The mailbox, through the SMTP + IMAP form; Test connection must pass.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Connect SMTP and IMAP").click()
    page.get_by_label("Email address").fill(ALICE)
    page.get_by_label("Sender name").fill("Alice Example")
    smtp = page.get_by_role("group", name="Sending (SMTP)")
    smtp.get_by_label("Host").fill(smtp_server.host)
    smtp.get_by_label("Port").fill(str(smtp_server.port))
    smtp.get_by_label("Security").select_option("none")
    smtp.get_by_label("Username").fill("alice")
    smtp.get_by_label("Password").fill("secret")
    imap = page.get_by_role("group", name="Reading (IMAP)")
    imap.get_by_label("Host").fill(dovecot.host)
    imap.get_by_label("Port").fill(str(dovecot.imap_port))
    imap.get_by_label("Security").select_option("none")
    imap.get_by_label("Username").fill(ALICE)
    imap.get_by_label("Password").fill(DOVECOT_USERS[ALICE])
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-test")).to_contain_text("Connection test passed.")
    page.get_by_role("button", name="Connect mailbox").click()
    expect(page.get_by_role("heading", name=ALICE)).to_be_visible()
    # Emails to several people may leave one after the other at once.
    page.get_by_label("Minimum spacing (seconds)").fill("0")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_label("Minimum spacing (seconds)")).to_have_value("0")
    assert Mailbox.objects.get(email=ALICE).min_spacing_seconds == 0

    # 3. The CSV: the bad row is reported, the four others are imported.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    axe("people, none yet")
    page.get_by_role("link", name="Import CSV").first.click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "trade-fair.csv", "mimeType": "text/csv", "buffer": TRADE_FAIR.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("combobox", name="Import “Email” as")).to_have_value("email")
    page.get_by_role("button", name="Import 5 rows").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.locator(".report-counts")).to_contain_text("4 imported")
    bad = page.get_by_role("table", name="Rows not imported").get_by_role("row").nth(1)
    expect(bad).to_contain_text("cy.cole(at)client.test")
    assert EmailAddress.objects.count() == 4

    # 4. A new list, and three of the imported people on it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lists").click()
    axe("lists, none yet")
    page.get_by_role("link", name="New list").first.click()
    axe("new list")
    page.get_by_label("Name").fill("Trade fair")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", name="Trade fair")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    for name in ON_THE_LIST:
        page.get_by_role("checkbox", name=f"Select {name}").check()
    page.get_by_role("region", name="Selected people").get_by_role(
        "button", name="Add to list"
    ).click()
    page.get_by_role("radio", name="Trade fair").check()
    page.get_by_role("button", name="Add to list").click()
    expect(page.get_by_role("status")).to_contain_text("Added 3 people to “Trade fair”.")

    # 5. Three steps; the first greets by first name, with "there" as the fallback.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sequences").click()
    new_sequence(page)
    page.get_by_label("Name").fill("Trade fair follow-up")
    # All day, every day, so that the first email is due as soon as it is enrolled.
    page.get_by_label("From").fill("00:00")
    page.get_by_label("To", exact=True).fill("00:00")
    page.get_by_role("combobox", name="Time zone").fill("UTC")
    page.get_by_label("Business days only").uncheck()
    first = add_step(page, 1)
    first.get_by_label("Subject").fill("Good to meet you at the fair")
    first.get_by_role("textbox", name="Body").fill("Hello ")
    insert_variable(page, first, "first", "First name", fallback="there")
    expect(first.locator(".variable-chip")).to_have_text("First name · fallback: there")
    type_in_body(page, first, ", thanks for stopping by our stand.")
    second = add_step(page, 2)
    second.get_by_role("textbox", name="Body").fill("Did my note reach you?")
    page.get_by_role("spinbutton", name="Wait").nth(0).fill("2")
    third = add_step(page, 3)
    third.get_by_role("textbox", name="Body").fill("Shall I close your file?")
    page.get_by_role("spinbutton", name="Wait").nth(1).fill("4")
    wait_for_saves(page)

    # 6. Publish.
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    sequence = Sequence.objects.get(name="Trade fair follow-up")

    # 7. The list's three, with the checkboxes; Carol's emails previewed; enrolled.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lists").click()
    axe("lists")
    page.get_by_role("link", name="Trade fair").click()
    for name in ON_THE_LIST:
        page.get_by_role("checkbox", name=f"Select {name}").check()
    page.get_by_role("region", name="Selected entries").get_by_role(
        "button", name="Enroll in sequence"
    ).click()
    page.wait_for_url(re.compile(r"/enroll/"))
    page.get_by_role("combobox", name="Sequence").select_option(label="Trade fair follow-up")
    expect(page.get_by_text("3 will be enrolled")).to_be_visible()
    page.get_by_role("button", name="Carol Shaw", exact=True).click()
    preview = page.get_by_role("region", name="Preview for Carol Shaw")
    expect(preview).to_contain_text(f"To {CAROL}, if enrolled now.")
    expect(preview).to_contain_text("Hello Carol, thanks for stopping by our stand.")
    expect(preview).to_contain_text("Did my note reach you?")
    expect(page.locator(BUSY)).to_have_count(0)
    axe("enroll page with a preview")
    page.screenshot(path=str(SCRATCH / "journey-enroll-preview.png"), full_page=True)
    page.get_by_role("button", name="Enroll 3 people").click()
    expect(
        page.get_by_role("heading", name="Enrolled 3 people in “Trade fair follow-up”")
    ).to_be_visible()
    assert Enrollment.objects.filter(sequence=sequence, status="active").count() == 3

    # 8. The engine sends: Carol's first email reaches the SMTP server, with her name.
    worker = Worker(clock=system_clock, name="journey-worker")
    tests_sent = len(smtp_server.messages)  # the connection test's own message

    def carols_email() -> ReceivedMessage | None:
        worker.tick()
        return next((m for m in smtp_server.messages[tests_sent:] if m.rcpt_tos == [CAROL]), None)

    first_email = _until(carols_email, "Carol's first email at the SMTP server")
    assert isinstance(first_email, ReceivedMessage)
    received = first_email.message
    assert received["Subject"] == "Good to meet you at the fair"
    assert received["To"].addresses[0].addr_spec == CAROL
    assert received["From"].addresses[0].addr_spec == ALICE
    body = received.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Hello Carol, thanks for stopping by our stand." in body.get_content()
    assert "Hello there" not in body.get_content()

    # 9. Carol replies through Dovecot; the inbox step reads it.
    _reply_as_carol(dovecot, first_email)
    _until(
        lambda: any(b"Tuesday works" in m for m in dovecot.messages(ALICE, "INBOX")),
        "Carol's reply in Alice's inbox",
    )
    _read_inboxes()

    # 10. The Recipients tab: Carol exited as replied, the two others go on.
    page.get_by_role("link", name="See recipients").click()
    table = page.get_by_role("table", name="Recipients of this sequence")
    carol = table.get_by_role("row").filter(has_text="Carol Shaw")
    expect(carol).to_contain_text("Exited")
    expect(carol).to_contain_text("Replied")
    for name in ("Dee Dunn", "Eve Evans"):
        row = table.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("Active")
        expect(row).to_contain_text("Email 2 of 3")
    axe("recipients tab after a reply")
    page.screenshot(path=str(SCRATCH / "journey-recipients.png"), full_page=True)
    carol.get_by_role("link", name="Carol Shaw").click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("a call on Tuesday works for me")
    expect(page.locator(BUSY)).to_have_count(0)
    page.screenshot(path=str(SCRATCH / "journey-reply-timeline.png"), full_page=True)
    people = {e.person_id: e for e in Enrollment.objects.filter(sequence=sequence)}
    shaw = Person.objects.get(last_name="Shaw")
    assert (people[shaw.pk].status, people[shaw.pk].exit_reason) == ("exited", "replied")
    assert sum(e.status == "active" for e in people.values()) == 2


def _enroll_on_the_page(page: Page, sequence_name: str, count: int, noun: str) -> None:
    """On the Enroll page a record page opened: pick the sequence, enroll, see the tab."""
    page.wait_for_url(re.compile(r"/enroll/"))
    expect(page.get_by_role("heading", name="Enroll recipients", level=1)).to_be_visible()
    page.get_by_role("combobox", name="Sequence").select_option(label=sequence_name)
    expect(page.get_by_text(f"{count} will be enrolled")).to_be_visible()
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_role("button", name=f"Enroll {count} {noun}").click()
    expect(
        page.get_by_role("heading", name=f"Enrolled {count} {noun} in “{sequence_name}”")
    ).to_be_visible()
    page.get_by_role("link", name="See recipients").click()


def test_a_member_enrolls_a_person_from_their_page(live_server, page: Page, admin, sign_in, axe):
    sequence = published(admin, name="Welcome series")
    published(admin, name="Renewals")
    mailbox_of(admin, "ada@acme.test")
    hedy = person("Hedy", "hedy@lamarr.test", last="Lamarr")
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/people/{hedy.pk}/")
    page.get_by_role("link", name="Enroll in sequence").click()
    _enroll_on_the_page(page, "Welcome series", 1, "person")

    table = page.get_by_role("table", name="Recipients of this sequence")
    row = table.get_by_role("row").filter(has_text="Hedy Lamarr")
    expect(row).to_contain_text("hedy@lamarr.test")
    expect(row).to_contain_text("Active")
    assert Enrollment.objects.get(person=hedy).sequence_id == sequence.pk
    # Back on her page, the sequence is listed.
    page.goto(f"{live_server.url}/people/{hedy.pk}/")
    expect(page.get_by_role("region", name="Sequences")).to_contain_text("Welcome series")
    axe("person page in a sequence")


def test_a_member_enrolls_people_from_a_companys_people_tab(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = published(admin, name="Welcome series")
    mailbox_of(admin, "ada@acme.test")
    initech = Company.objects.create(name="Initech")
    for first, last in (("Bill", "Lumbergh"), ("Milton", "Waddams"), ("Peter", "Gibbons")):
        someone = person(first, f"{first.lower()}@initech.test", last=last)
        someone.company = initech
        someone.save()
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/companies/{initech.pk}/")
    page.get_by_role("checkbox", name="Select Milton Waddams").check()
    page.get_by_role("checkbox", name="Select Peter Gibbons").check()
    page.get_by_role("region", name="Selected people").get_by_role(
        "button", name="Enroll in sequence"
    ).click()
    _enroll_on_the_page(page, "Welcome series", 2, "people")

    table = page.get_by_role("table", name="Recipients of this sequence")
    for name, address in (("Milton Waddams", "milton"), ("Peter Gibbons", "peter")):
        row = table.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text(f"{address}@initech.test")
        expect(row).to_contain_text("Active")
    expect(table.get_by_role("row").filter(has_text="Bill Lumbergh")).to_have_count(0)
    assert set(
        Enrollment.objects.filter(sequence=sequence).values_list("person__first_name", flat=True)
    ) == {"Milton", "Peter"}
    axe("recipients tab after enrolling from a company")
