"""A salesperson saves one email as a template and inserts it into another, in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import authoring, library
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import EmailTemplate, Sequence

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
CHIPPED = '<p>Hi {{ person.first_name | default: "there" }}, welcome aboard.</p>'


def _sequence(admin) -> Sequence:
    return authoring.create_sequence(
        admin,
        name="Onboarding",
        steps=[
            StepInput(subject="Welcome", body_html=CHIPPED),
            StepInput(delay_days=2, subject="Second", body_html="<p>Old text</p>"),
        ],
        settings={"thread_emails": False},
        clock=system_clock,
    )


def test_a_step_saved_as_a_template_is_inserted_into_another_with_the_keyboard(
    live_server, page: Page, admin, sign_in, axe
):
    # Script errors and CSP refusals; the 400 of the refused name is expected.
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    sequence = _sequence(admin)
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    first = page.get_by_role("article", name="Email 1")
    second = page.get_by_role("article", name="Email 2")
    insert_first = first.get_by_role("button", name="Insert template", exact=True)
    expect(insert_first).to_be_visible()

    # An empty library says what to do; Escape closes and gives the focus back.
    insert_first.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Insert template")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("combobox", name="Search templates")).to_be_focused()
    expect(dialog).to_contain_text("No templates yet: write a step and use Save as template")
    axe("insert template dialog, empty library")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(insert_first).to_be_focused()

    # Save email 1 as a template: the name starts as its subject; an empty one is refused.
    save_first = first.get_by_role("button", name="Save as template", exact=True)
    save_first.click()
    saver = page.get_by_role("dialog", name="Save as template")
    name = saver.get_by_role("textbox", name="Template name")
    expect(name).to_have_value("Welcome")
    expect(name).to_be_focused()
    name.fill("")
    page.keyboard.press("Enter")
    expect(saver.get_by_text("Give the template a name.")).to_be_visible()
    expect(name).to_have_attribute("aria-invalid", "true")
    axe("save as template dialog with a name error")
    name.fill("Welcome note")
    page.keyboard.press("Enter")
    expect(saver.get_by_role("status")).to_have_text(
        'Saved "Welcome note" to the template library.'
    )
    done = saver.get_by_role("button", name="Done")
    expect(done).to_be_focused()
    page.keyboard.press("Enter")
    expect(saver).to_be_hidden()
    expect(save_first).to_be_focused()
    assert EmailTemplate.objects.get().body_html == CHIPPED

    # Into email 2, keyboard only: search, choose, confirm replacing its body.
    insert_second = second.get_by_role("button", name="Insert template", exact=True)
    insert_second.focus()
    page.keyboard.press("Enter")
    search = dialog.get_by_role("combobox", name="Search templates")
    expect(search).to_be_focused()
    page.keyboard.type("welcome")
    option = dialog.get_by_role("option", name="Welcome note")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(option).to_contain_text("Hi [First name], welcome aboard.")
    axe("insert template dialog with a template")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "insert-template.png"))
    page.keyboard.press("Enter")
    replace = dialog.get_by_role("button", name="Replace body")
    expect(replace).to_be_focused()
    expect(dialog).to_contain_text("Replace the body of email 2 with the template “Welcome note”?")
    axe("insert template dialog asking to replace a body")
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(insert_second).to_be_focused()
    body = second.get_by_role("textbox", name="Body")
    expect(body.locator(".variable-chip")).to_have_text("First name · fallback: there")
    expect(body).to_contain_text("welcome aboard")
    expect(second.get_by_role("textbox", name="Subject")).to_have_value("Welcome")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")

    # Kept: after a reload the second email is the template, chips and all.
    page.reload()
    body = page.get_by_role("article", name="Email 2").get_by_role("textbox", name="Body")
    expect(body.locator(".variable-chip")).to_have_text("First name · fallback: there")
    stored = authoring.draft_snapshot(Sequence.objects.get(pk=sequence.pk))["steps"][1]
    assert (stored["subject"], stored["body_html"]) == ("Welcome", CHIPPED)
    assert errors == []


def test_the_template_dialogs_fit_a_phone(live_server, page: Page, admin, sign_in, axe):
    sequence = _sequence(admin)
    authoring.update_draft(admin, sequence.pk, settings={"thread_emails": True}, clock=system_clock)
    sign_in(admin)
    page.set_viewport_size(NARROW)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    second = page.get_by_role("article", name="Email 2")
    second.get_by_role("button", name="Save as template", exact=True).click()
    saver = page.get_by_role("dialog", name="Save as template")
    # A threaded reply is saved with the subject it is sent with.
    expect(saver.get_by_role("textbox", name="Template name")).to_have_value("RE: Welcome")
    page.keyboard.press("Enter")
    expect(saver.get_by_role("status")).to_contain_text("Saved")
    saver.get_by_role("button", name="Done").click()

    second.get_by_role("button", name="Insert template", exact=True).click()
    dialog = page.get_by_role("dialog", name="Insert template")
    expect(dialog.get_by_role("option")).to_have_count(1)
    box = dialog.bounding_box()
    assert box is not None and box["width"] <= NARROW["width"]
    axe("insert template dialog on a phone")
    page.screenshot(path=str(SCREENSHOTS / "insert-template-phone.png"))
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Replace body").click()
    expect(dialog).to_be_hidden()
    # The threaded reply keeps the first email's subject; only its body changed.
    expect(second.get_by_role("textbox", name="Subject")).to_have_value("RE: Welcome")
    expect(page.locator("#save-state")).to_contain_text("saved")


def test_a_template_the_formatting_editor_cannot_show_goes_into_an_empty_body_as_html(
    live_server, page: Page, admin, sign_in
):
    table = "<table><tbody><tr><td>{{ person.first_name }}</td></tr></tbody></table>"
    template = library.create_template(
        admin, name="Price table", subject="Prices", body_html=table, clock=system_clock
    )
    # First in the list until the search narrows it: a hasty Enter must not pick it.
    library.create_template(admin, name="Another", body_html="<p>No</p>", clock=system_clock)
    sequence = authoring.create_sequence(
        admin, name="Empty", steps=[StepInput(subject="", body_html="")], clock=system_clock
    )
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    page.get_by_role("button", name="Insert template", exact=True).click()
    dialog = page.get_by_role("dialog", name="Insert template")

    expect(dialog.get_by_role("option")).to_have_count(2)

    # Enter straight after typing takes what was typed; an empty body is filled at once.
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        page.keyboard.type("price")
        page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(page.get_by_text("edited as HTML to keep it intact")).to_be_visible()
    expect(page.get_by_label("Body")).to_have_value(template.body_html)
    expect(page.get_by_role("button", name="Bold")).to_be_hidden()
    expect(page.get_by_label("Subject")).to_have_value("Prices")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    stored = authoring.draft_snapshot(Sequence.objects.get(pk=sequence.pk))["steps"][0]
    assert (stored["subject"], stored["body_html"]) == ("Prices", template.body_html)
