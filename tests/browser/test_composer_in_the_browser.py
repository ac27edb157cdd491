"""The composer: a rich body with variable chips, driven with the keyboard in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from sequencer.sequences import authoring
from sequencer.sequences.models import Sequence
from tests.browser.composing import caret_at_end, sequence_with_body, stored_body

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}

# Formatting, a link, both list kinds, variables with and without a fallback (one written
# without spaces), and Liquid that is no chip: all of it as the API stores it.
API_BODY = (
    '<p>Hi {{ person.first_name | default: "there" }}, I saw <strong>{{ company.name }}</strong>'
    ' on <a href="https://example.com/{{ person.email }}" rel="noopener noreferrer">our map</a>.'
    "</p><ul><li><p>One <em>idea</em></p></li><li><p>{{company.domain}}</p></li></ul>"
    "<ol><li><p>First</p></li></ol><p>{% if person.job_title %}As {{ person.job_title }}"
    "{% endif %}, thanks.</p>"
)


def test_a_body_written_through_the_api_opens_with_chips_and_saves_unchanged(
    live_server, page: Page, admin, sign_in, violations
):
    sequence = sequence_with_body(admin, "Round trip", API_BODY)
    stored = stored_body(sequence)
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    expect(page.get_by_role("button", name="Insert variable")).to_be_visible()

    body = page.get_by_role("textbox", name="Body")
    expect(body.locator(".variable-chip")).to_have_count(4)
    expect(body.locator(".variable-chip").first).to_have_text("First name · fallback: there")
    expect(body.locator("strong .variable-chip")).to_have_text("Company name")
    expect(body.locator("li .variable-chip")).to_have_text("Company domain")
    # The conditional is no chip: it stays text around the variable's chip.
    expect(body).to_contain_text("{% if person.job_title %}As Job title{% endif %}, thanks.")

    # Another field's autosave posts the body too: it must come back byte for byte.
    page.get_by_label("Description").fill("Saved without touching the body")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.wait_for_function(
        "() => document.getElementById('save-state').textContent.includes('saved')"
    )
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    assert Sequence.objects.get(pk=sequence.pk).description == "Saved without touching the body"
    assert stored_body(sequence) == stored
    assert violations == []


def test_a_body_the_editor_cannot_show_is_edited_as_html_and_kept(
    live_server, page: Page, admin, sign_in
):
    body = '<table><tr><td style="color: red">{{ person.first_name }}</td></tr></table>'
    sequence = sequence_with_body(admin, "Round trip", body)
    stored = stored_body(sequence)
    sign_in(admin)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    expect(page.get_by_text("edited as HTML to keep it intact")).to_be_visible()
    expect(page.get_by_label("Body")).to_have_value(stored)
    page.get_by_label("Description").fill("x")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    assert stored_body(sequence) == stored


def test_a_variable_with_a_fallback_is_inserted_and_changed_with_the_keyboard_only(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sequence = sequence_with_body(admin, "Round trip", "<p>Hello</p>")
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    # The composer replaces the plain field once its script has loaded.
    expect(page.get_by_role("button", name="Insert variable")).to_be_visible()
    body = page.get_by_role("textbox", name="Body")
    caret_at_end(page, body)
    page.keyboard.type(" ")
    # The autosave of what is typed is let through before moving on.
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        page.keyboard.press("Control+b")
        page.keyboard.type("dear")
        page.keyboard.press("Control+b")
        page.keyboard.type(" ")

    # Tab from the body reaches the {x} button in the composer's corner.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Insert variable")).to_be_focused()
    page.keyboard.press("Enter")
    search = page.get_by_role("combobox", name="Search variables")
    expect(search).to_be_focused()
    page.keyboard.type("name")
    expect(page.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    chosen = page.get_by_role("option", selected=True).locator("span").first.text_content()
    page.keyboard.press("Enter")
    fallback = page.get_by_role("textbox", name="Fallback")
    expect(fallback).to_be_focused()
    axe("composer with the variable popover open")
    page.keyboard.type("friend")
    page.keyboard.press("Enter")
    chip = body.locator(".variable-chip")
    expect(chip).to_have_text(f"{chosen} · fallback: friend")
    expect(body).to_be_focused()

    # Back onto the chip with the arrow key; Enter opens its popover.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(fallback).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Change variable")).to_be_focused()
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    page.keyboard.type("job title")
    page.keyboard.press("Enter")
    expect(chip).to_have_text("Job title · fallback: friend")
    axe("composer with a chip")

    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    version = authoring.latest_version(Sequence.objects.get(pk=sequence.pk))
    assert version is not None
    assert version.steps[0]["body_html"] == (
        '<p>Hello <strong>dear</strong> {{ person.job_title | default: "friend" }}</p>'
    )
    assert violations == []


def test_the_picker_offers_the_senders_fields_in_a_sender_group(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sequence = sequence_with_body(admin, "Round trip", "<p>Best,</p>")
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    expect(page.get_by_role("button", name="Insert variable")).to_be_visible()
    body = page.get_by_role("textbox", name="Body")
    caret_at_end(page, body)
    page.keyboard.type(" ")

    page.get_by_role("button", name="Insert variable").click()
    page.get_by_role("combobox", name="Search variables").fill("sender")
    options = page.get_by_role("listbox", name="Variables").get_by_role("option")
    expect(options).to_have_count(4)
    expect(options.first).to_contain_text("Sender's first name")
    expect(options.first.locator(".muted")).to_have_text("Sender")
    axe("variable picker showing the sender's fields")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Apply").click()
    expect(body.locator(".variable-chip")).to_have_text("Sender's first name")

    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    assert stored_body(sequence) == "<p>Best, {{ sender.first_name }}</p>"
    assert violations == []
