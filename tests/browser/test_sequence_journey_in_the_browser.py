"""One salesperson's whole journey with a sequence, in Chromium, without leaving the browser.

Write it from New sequence (window, time zone, business days, three steps with waits, a
variable with a fallback that is then changed, a template, an attachment, Meeting booked),
read the schedule preview, have a publish refused at the step that is wrong, publish, edit
the live sequence and discard, publish again and read what changed, duplicate and archive
it from the list, share it read-only with a colleague who then sees it read-only, and
invite a delegated sender who accepts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.mail.models import Mailbox
from sequencer.sequences import access, authoring, library
from sequencer.sequences.access import Level
from sequencer.sequences.models import DelegatedSender, Sequence, SequenceStatus
from sequencer.workspace import services
from sequencer.workspace.models import User
from tests.browser.composing import (
    BUSY,
    add_step,
    insert_variable,
    new_sequence,
    step,
    type_in_body,
    wait_for_saves,
)

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}


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


def test_a_member_writes_publishes_revises_shares_and_delegates_a_sequence(
    live_server, page: Page, admin, sign_in, axe, tmp_path: Path
):
    _mailbox(admin, "ada@acme.test")
    rita = services.create_user("rita@acme.test", "a-long-passphrase", name="Rita Reader")
    mia = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")
    _mailbox(mia, "mia@acme.test")
    library.create_template(
        admin,
        name="Last note",
        subject="Closing the loop",
        body_html="<p>Should I close your file, {{ person.first_name }}?</p>",
        clock=system_clock,
    )
    brochure = tmp_path / "brochure.pdf"
    brochure.write_bytes(b"%PDF-1.4\n" + b"0" * 2048)

    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/sequences/")
    new_sequence(page)

    # The sidebar: name and delivery.
    page.get_by_label("Name").fill("Q4 outreach")
    expect(page.get_by_role("heading", name="Q4 outreach")).to_be_visible()
    page.get_by_label("From").fill("08:00")
    page.get_by_label("To", exact=True).fill("17:00")
    page.get_by_role("combobox", name="Time zone").fill("America/New_York")
    page.get_by_label("Business days only").check()
    page.get_by_role("button", name="Add Meeting booked").click()
    expect(page.get_by_label("Meeting booked")).to_be_checked()

    # Three steps with waits; a variable with a fallback from the picker, then changed.
    first = add_step(page, 1)
    first.get_by_label("Subject").fill("An idea for your team")
    first.get_by_role("textbox", name="Body").fill("Hello ")
    insert_variable(page, first, "first", "First name", fallback="there")
    chip = first.locator(".variable-chip")
    expect(chip).to_have_text("First name · fallback: there")
    chip.click()
    page.get_by_role("button", name="Change variable").click()
    page.get_by_role("combobox", name="Search variables").fill("full name")
    page.keyboard.press("Enter")
    expect(chip).to_have_text("Full name · fallback: there")
    type_in_body(page, first, ", a short note.")

    second = add_step(page, 2)
    second.get_by_role("textbox", name="Body").fill("Did my note reach you?")
    page.get_by_role("spinbutton", name="Wait").nth(0).fill("2")
    add_step(page, 3)
    page.get_by_role("spinbutton", name="Wait").nth(1).fill("4")
    wait_for_saves(page)

    # The schedule preview follows: three emails, each at 08:00 New York time or later.
    preview = page.locator("#schedule-preview")
    for number in (1, 2, 3):
        expect(preview.get_by_role("listitem").filter(has_text=f"Email {number}")).to_be_visible()
    expect(preview).to_contain_text("New York")

    # Publishing with an empty body is refused at that step, next to its body.
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.get_by_role("alert")).to_contain_text("Not published")
    third = step(page, 3)
    expect(third.get_by_role("textbox", name="Body")).to_have_attribute("aria-invalid", "true")
    expect(third.get_by_role("textbox", name="Body")).to_have_accessible_description(
        re.compile("This email has no body")
    )

    # The empty step is filled from the template library; the first gets an attachment.
    third.get_by_role("button", name="Insert template").click()
    picker = page.get_by_role("dialog", name=re.compile("Insert template"))
    expect(picker).to_be_visible()
    picker.get_by_role("option", name=re.compile("Last note")).click()
    expect(third.get_by_role("textbox", name="Body")).to_contain_text("Should I close your file")
    expect(third.locator(".variable-chip")).to_have_text("First name")
    first = page.get_by_role("article", name="Email 1")
    with page.expect_file_chooser() as chooser:
        first.get_by_role("button", name="Attach file").click()
    chooser.value.set_files(str(brochure))
    expect(first.get_by_role("link", name="brochure.pdf")).to_be_visible()
    wait_for_saves(page)

    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    sequence = Sequence.objects.get(name="Q4 outreach")
    version = authoring.latest_version(sequence)
    assert version is not None
    assert [s["delay_days"] for s in version.steps] == [0, 2, 4]
    assert version.settings["window"] == {"start": "08:00", "end": "17:00"}
    assert version.settings["time_zone"] == "America/New_York"
    assert version.settings["business_days_only"] is True
    assert version.settings["exit_on_meeting_booked"] is True
    assert (
        "{{ person.full_name | default: &quot;there&quot; }}" not in version.steps[0]["body_html"]
    )
    assert '{{ person.full_name | default: "there" }}' in version.steps[0]["body_html"]
    assert "Should I close your file" in version.steps[2]["body_html"]
    assert [a.name for a in version.attachments.all()] == ["brochure.pdf"]
    axe("editor of the published sequence")

    # An edit of the live sequence, then thrown away.
    second = step(page, 2)
    second.get_by_role("textbox", name="Body").fill("A change I will regret.")
    expect(page.locator("#save-state")).to_contain_text("unpublished changes")
    page.get_by_role("button", name="Discard changes").click()
    confirm = page.get_by_role("dialog", name="Discard unpublished changes?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Discard changes").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    second = page.get_by_role("article", name="Email 2")
    expect(second.get_by_role("textbox", name="Body")).to_contain_text("Did my note reach you?")

    # An edit that is published, then read in the version history.
    step(page, 2)
    second.get_by_role("textbox", name="Body").fill("Did my note reach you last week?")
    expect(page.locator("#save-state")).to_contain_text("unpublished changes")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 2")
    page.get_by_role("link", name="Version history").click()
    latest = page.get_by_role("region", name="Version 2 Live")
    expect(latest).to_contain_text("Published by Ada Admin")
    expect(latest.get_by_role("row", name="Body").locator("ins")).to_have_text("added: last week")
    axe("version history")

    # Duplicate and archive from the list.
    page.get_by_role("link", name="Sequences", exact=True).first.click()
    page.get_by_role("button", name="Actions for Q4 outreach").click()
    page.get_by_role("menuitem", name="Duplicate sequence").click()
    expect(page.get_by_role("link", name="Copy of Q4 outreach")).to_be_visible()
    page.get_by_role("button", name="Actions for Copy of Q4 outreach").click()
    page.get_by_role("menuitem", name="Archive").click()
    expect(page.get_by_role("link", name="Copy of Q4 outreach")).to_have_count(0)
    assert Sequence.objects.get(name="Copy of Q4 outreach").status == SequenceStatus.ARCHIVED

    # Shared read-only with Rita and read-write with Mia, and nobody else.
    page.get_by_role("link", name="Q4 outreach").click()
    page.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share “Q4 outreach”")
    dialog.get_by_role("combobox", name="Access for Everyone in Acme").select_option("No access")
    expect(dialog.get_by_role("status")).to_have_text("Access saved.")
    # The dialog is redrawn after each change: search once it has settled.
    expect(page.locator(BUSY)).to_have_count(0)
    dialog.get_by_role("searchbox", name="Find a member or team").fill("rita")
    dialog.get_by_role("radio", name=re.compile(r"^Rita Reader")).check()
    dialog.get_by_role("combobox", name="Access", exact=True).select_option("Read only")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog.get_by_role("status")).to_have_text("Rita Reader now has read only access.")
    # The dialog is redrawn after each grant: search again once it has settled.
    expect(page.locator(BUSY)).to_have_count(0)
    dialog.get_by_role("searchbox", name="Find a member or team").fill("mia")
    dialog.get_by_role("radio", name=re.compile(r"^Mia Member")).check()
    dialog.get_by_role("combobox", name="Access", exact=True).select_option("read_write")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog.get_by_role("status")).to_have_text("Mia Member now has read and write access.")
    page.keyboard.press("Escape")
    assert access.level_for(rita, Sequence.objects.get(pk=sequence.pk)) == Level.READ_ONLY

    # The delegated sender: Ada turns it on and invites Mia.
    page.get_by_role("navigation", name="Sequence").get_by_role("link", name="Settings").click()
    page.get_by_role("switch", name="Delegated sender").check()
    expect(page.locator("#settings-status")).to_contain_text("Teammates can now send")
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_role("searchbox", name="Search a member").fill("mia")
    expect(page.get_by_role("radio", name="Mia Member")).to_be_checked()
    page.get_by_role("button", name="Invite member").click()
    expect(page.locator("#settings-status")).to_contain_text("Invited Mia Member")

    # Rita sees it with nothing editable.
    page.context.clear_cookies()
    sign_in(rita)
    page.goto(live_server.url + "/sequences/")
    page.get_by_role("link", name="Q4 outreach").click()
    expect(page.get_by_text("read-only access")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    expect(page.get_by_role("button", name="Publish sequence")).to_have_count(0)
    expect(page.get_by_role("button", name="Insert template")).to_have_count(0)
    expect(page.get_by_role("button", name="Attach file")).to_have_count(0)
    axe("read-only editor")

    # Mia accepts from the notifications menu.
    page.context.clear_cookies()
    sign_in(mia)
    page.goto(live_server.url + "/sequences/")
    page.get_by_role("button", name="Notifications, 1 unread").click()
    panel = page.get_by_role("region", name="Notifications")
    expect(panel).to_contain_text("Ada Admin asks you to be a delegated sender for Q4 outreach")
    panel.get_by_role("button", name="Accept").click()
    expect(panel.get_by_role("status")).to_contain_text("Accepted")
    assert DelegatedSender.objects.get(sequence=sequence, member=mia).accepted_at is not None
