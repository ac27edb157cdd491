"""A salesperson writes, publishes, duplicates and archives a sequence in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import access, authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence, SequenceStatus
from sequencer.workspace import services
from tests.browser.composing import new_sequence

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_member_writes_publishes_duplicates_and_archives_a_sequence(
    live_server, page: Page, admin, sign_in, axe
):
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/sequences/")
    expect(page.get_by_role("heading", name="No sequences yet")).to_be_visible()
    axe("empty sequences list")

    new_sequence(page)
    expect(page.get_by_role("status")).to_contain_text("Draft · all changes saved")

    page.get_by_label("Name").fill("Q3 outreach")
    # The title follows the autosaved name.
    expect(page.get_by_role("heading", name="Q3 outreach")).to_be_visible()
    page.get_by_label("From").fill("08:00")
    page.get_by_label("To", exact=True).fill("16:30")
    page.get_by_role("combobox", name="Time zone").fill("America/New_York")
    page.get_by_label("Skip public holidays of").select_option("US")
    page.get_by_label("Business days only").check()
    page.get_by_role("button", name="Add Meeting booked").click()
    expect(page.get_by_label("Meeting booked")).to_be_checked()
    expect(page.get_by_label("Meeting booked")).to_be_focused()

    page.get_by_role("button", name="Add step to sequence").click()
    first = page.get_by_role("article", name="Email 1")
    expect(first.get_by_role("button", name="Insert variable")).to_be_visible()
    first.get_by_label("Subject").fill("Quick question about {{ company.name }}")
    first.get_by_role("textbox", name="Body").fill("Hi ")
    # A chip for the first name, inserted with the mouse from the variable picker.
    first.get_by_role("button", name="Insert variable").click()
    page.get_by_role("option", name=re.compile(r"^First name")).click()
    page.get_by_role("textbox", name="Fallback").fill("there")
    page.get_by_role("button", name="Apply").click()
    expect(first.locator(".variable-chip")).to_have_text("First name · fallback: there")
    # The editor takes the focus back on its next frame: type once it has.
    expect(first.get_by_role("textbox", name="Body")).to_be_focused()
    page.keyboard.type(", a quick question.")
    page.get_by_role("button", name="Add step to sequence").click()
    second = page.get_by_role("article", name="Email 2")
    expect(second.get_by_role("button", name="Insert variable")).to_be_visible()
    # Threaded: the reply's subject is the first one's, and cannot be edited.
    expect(second.get_by_label("Subject")).to_have_value(
        "RE: Quick question about {{ company.name }}"
    )
    expect(second.get_by_label("Subject")).not_to_be_editable()
    second.get_by_role("textbox", name="Body").fill("Following up on my note.")
    page.get_by_role("spinbutton", name="Wait").nth(0).fill("3")
    page.get_by_role("button", name="Add step to sequence").click()
    expect(page.get_by_role("article", name="Email 3")).to_be_visible()
    page.get_by_role("spinbutton", name="Wait").nth(1).fill("2")
    page.get_by_role("button", name="Start immediately after enrollment").click()
    expect(page.get_by_label("Days before the first email")).to_have_value("0")

    page.get_by_role("button", name="Publish sequence").click()
    expect(page.get_by_role("alert")).to_contain_text("Not published")
    third = page.get_by_role("article", name="Email 3")
    expect(third.get_by_role("button", name="Insert variable")).to_be_visible()
    expect(third.get_by_role("textbox", name="Body")).to_have_attribute("aria-invalid", "true")
    expect(third.get_by_role("textbox", name="Body")).to_have_accessible_description(
        re.compile("This email has no body")
    )
    expect(first.get_by_role("textbox", name="Body")).not_to_have_attribute("aria-invalid", "true")
    axe("editor with a refused publish")

    third.get_by_role("textbox", name="Body").fill("Last note from me.")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.get_by_role("status").first).to_contain_text("Published version 1")
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")

    sequence = Sequence.objects.get(name="Q3 outreach")
    version = authoring.latest_version(sequence)
    assert version is not None
    assert [s["delay_days"] for s in version.steps] == [0, 3, 2]
    assert version.settings["window"] == {"start": "08:00", "end": "16:30"}
    assert version.settings["time_zone"] == "America/New_York"
    assert version.settings["holiday_country"] == "US"
    assert version.settings["exit_on_meeting_booked"] is True
    assert version.steps[0]["body_html"] == (
        '<p>Hi {{ person.first_name | default: "there" }}, a quick question.</p>'
    )
    _shot(page, "sequence-editor.png")
    axe("editor of a live sequence")

    # Duplicate and archive from the list, with the keyboard.
    page.get_by_role("link", name="Sequences", exact=True).first.click()
    row_menu = page.get_by_role("button", name="Actions for Q3 outreach")
    row_menu.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Duplicate sequence")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Duplicated as “Copy of Q3 outreach”")
    expect(page.get_by_role("link", name="Copy of Q3 outreach")).to_be_visible()
    _shot(page, "sequences-list.png")
    axe("sequences list")

    page.get_by_role("button", name="Actions for Copy of Q3 outreach").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Archive")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Archived")
    expect(page.get_by_role("link", name="Copy of Q3 outreach")).to_have_count(0)
    copy = Sequence.objects.get(name="Copy of Q3 outreach")
    assert copy.status == SequenceStatus.ARCHIVED

    page.get_by_label("Show archived").check()
    expect(page.get_by_role("link", name="Copy of Q3 outreach")).to_be_visible()
    expect(page).to_have_url(re.compile(r"archived=on"))


def test_the_shell_and_list_work_on_a_phone(live_server, page: Page, admin, sign_in, axe):
    authoring.create_sequence(
        admin,
        name="Welcome series",
        steps=[StepInput(subject="Welcome", body_html="<p>Hello</p>")],
        clock=system_clock,
    )
    sign_in(admin)
    page.set_viewport_size(NARROW)
    page.goto(live_server.url + "/sequences/")
    expect(page.get_by_role("link", name="Welcome series")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    _shot(page, "sequences-list-phone.png")
    axe("sequences list on a phone")

    page.get_by_role("button", name="Menu").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Sequences").click()
    page.get_by_role("link", name="Welcome series").click()
    expect(page.get_by_role("article", name="Email 1")).to_be_visible()
    _shot(page, "sequence-editor-phone.png")
    axe("editor on a phone")
    page.get_by_role("button", name="Menu").click()
    nav.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="No people yet")).to_be_visible()
    axe("empty people table on a phone")


def test_a_read_only_member_sees_the_sequence_with_nothing_editable(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = authoring.create_sequence(
        admin,
        name="Enterprise plays",
        steps=[StepInput(subject="Hello", body_html="<p>Hi</p>")],
        clock=system_clock,
    )
    reader = services.create_user("rita@acme.test", "a-long-passphrase", name="Rita Reader")
    access.set_access(
        sequence, workspace_access="read_only", members=[(admin.pk, "full_access")], teams=[]
    )
    sign_in(reader)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    expect(page.get_by_role("heading", name="Enterprise plays")).to_be_visible()
    expect(page.get_by_text("read-only access")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    expect(page.get_by_label("Subject")).to_be_disabled()
    expect(page.get_by_label("Thread emails")).to_be_disabled()
    expect(page.get_by_role("button", name="Publish sequence")).to_have_count(0)
    expect(page.get_by_role("button", name="Add step to sequence")).to_have_count(0)
    axe("read-only editor")

    access.set_access(
        sequence, workspace_access="no_access", members=[(admin.pk, "full_access")], teams=[]
    )
    response = page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    assert response is not None and response.status == 404
