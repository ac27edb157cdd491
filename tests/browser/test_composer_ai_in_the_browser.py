"""AI variables in the composer: the sparkle button, "/ai", the chip and its Liquid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.sequences import authoring
from sequencer.sequences.models import Sequence
from sequencer.sequences.templating import ai_prompts, render_html_body
from tests.browser.composing import caret_at_end, sequence_with_body, stored_body

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

PROMPT = "One sentence about {{ company.name }}'s recent news"


def _published_body(sequence: Sequence) -> str:
    version = authoring.latest_version(Sequence.objects.get(pk=sequence.pk))
    assert version is not None
    return str(version.steps[0]["body_html"])


def _open_editor(page: Page, live_server, sequence: Sequence) -> None:
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    # The composer replaces the plain field once its script has loaded.
    expect(page.get_by_role("button", name="AI variable")).to_be_visible()


def _publish(page: Page) -> None:
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    # Publishing posts the form and loads the editor again: wait for that page, and for
    # its composer, before looking at its state (an autosave answer can still land on the
    # page being left).
    with page.expect_navigation():
        page.get_by_role("button", name="Publish sequence").click()
    expect(page.get_by_role("button", name="AI variable")).to_be_visible()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")


def test_the_sparkle_button_inserts_an_ai_chip_whose_liquid_is_saved_exactly(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sequence = sequence_with_body(admin, "AI round trip", "<p>Hello</p>")
    sign_in(admin)
    _open_editor(page, live_server, sequence)
    body = page.get_by_role("textbox", name="Body")
    caret_at_end(page, body)
    page.keyboard.type(" ")

    button = page.get_by_role("button", name="AI variable")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    box = page.get_by_role("dialog", name="AI variable")
    prompt = box.get_by_role("textbox", name="Prompt")
    expect(prompt).to_be_focused()
    expect(prompt).to_have_accessible_description(
        "What to write for each recipient, e.g. “One sentence about {{ company.name }}'s "
        "recent news”. Variables in {{ }} are filled in first."
    )
    # An empty prompt is refused in the box, next to the prompt.
    box.get_by_role("button", name="Insert", exact=True).click()
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(box.get_by_text("Write a prompt")).to_be_visible()
    expect(prompt).to_be_focused()

    prompt.fill(PROMPT)
    # Liquid strings have no escapes: a fallback with double quotes is single-quoted.
    box.get_by_role("textbox", name="Fallback").fill('Hope the "big launch" went well')
    expect(prompt).not_to_have_attribute("aria-invalid", "true")
    expect(box.get_by_text("Write a prompt")).to_be_hidden()
    axe("composer with the AI prompt box open")
    box.get_by_role("button", name="Insert", exact=True).click()

    expect(box).to_be_hidden()
    chip = body.locator(".ai-chip")
    label = chip.locator("[aria-hidden='true']").last
    expect(label).to_have_text("AI: One sentence about [Company…")
    expect(chip.locator(".visually-hidden")).to_have_text(
        f'AI variable: {PROMPT} (fallback: Hope the "big launch" went well)'
    )
    # Variables in the prompt stay in it: no chip of their own.
    expect(body.locator(".variable-chip")).to_have_count(0)
    expect(body).to_be_focused()
    page.keyboard.type(" Bye")
    axe("composer with an AI chip")

    _publish(page)
    expected = (
        "<p>Hello {% ai fallback: 'Hope the \"big launch\" went well' %}"
        f"{PROMPT}{{% endai %}} Bye</p>"
    )
    assert _published_body(sequence) == expected
    # The Liquid parses: with no text written, the email says the fallback.
    rendered = render_html_body(expected, {"company": {"name": "Acme"}})
    assert rendered == '<p>Hello Hope the "big launch" went well Bye</p>'
    assert violations == []


def test_typing_slash_ai_opens_the_box_and_the_keyboard_alone_inserts_and_edits_a_chip(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sequence = sequence_with_body(admin, "AI round trip", "<p>Hello</p>")
    sign_in(admin)
    _open_editor(page, live_server, sequence)
    body = page.get_by_role("textbox", name="Body")
    caret_at_end(page, body)
    page.keyboard.type(" /ai")
    page.keyboard.press("Space")
    prompt = page.get_by_role("textbox", name="Prompt")
    expect(prompt).to_be_focused()
    page.keyboard.type("A warm line for ")

    # The same variable picker puts a variable into the prompt, at the caret.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Insert variable in prompt")).to_be_focused()
    page.keyboard.press("Enter")
    search = page.get_by_role("combobox", name="Search variables")
    expect(search).to_be_focused()
    axe("variable picker for an AI prompt")
    # Escape in the picker goes back to the prompt as it was, not out of the box.
    page.keyboard.press("Escape")
    expect(prompt).to_be_focused()
    expect(prompt).to_have_value("A warm line for ")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    page.keyboard.type("first name")
    page.keyboard.press("Enter")
    expect(prompt).to_be_focused()
    expect(prompt).to_have_value("A warm line for {{ person.first_name }}")
    page.keyboard.type(" about spring")

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    fallback = page.get_by_role("textbox", name="Fallback")
    expect(fallback).to_be_focused()
    # Both kinds of quote: the apostrophe becomes a typographic one.
    page.keyboard.type('It\'s "spring" here')
    page.keyboard.press("Enter")
    chip = body.locator(".ai-chip")
    expect(chip).to_have_count(1)
    expect(body).to_be_focused()
    # "/ai" itself is gone from the text.
    expect(body).not_to_contain_text("/ai")

    # Arrowed onto, Enter opens the chip's box to edit it; Escape goes back to the text.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    edit = page.get_by_role("dialog", name="Edit AI variable")
    expect(prompt).to_be_focused()
    expect(prompt).to_have_value("A warm line for {{ person.first_name }} about spring")
    expect(fallback).to_have_value('It\u2019s "spring" here')
    page.keyboard.press("Escape")
    expect(edit).to_be_hidden()
    expect(body).to_be_focused()
    page.keyboard.press("Enter")
    expect(prompt).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("A warm line for {{ person.first_name }} about summer")
    page.keyboard.press("Control+Enter")
    expect(edit).to_be_hidden()
    expect(body).to_be_focused()
    expect(chip.locator(".visually-hidden")).to_contain_text("about summer")

    # From the sparkle button, Escape gives the focus back to the button.
    page.keyboard.press("End")
    button = page.get_by_role("button", name="AI variable")
    button.focus()
    page.keyboard.press("Enter")
    expect(prompt).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="AI variable")).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    _publish(page)
    assert _published_body(sequence) == (
        "<p>Hello {% ai fallback: 'It\u2019s \"spring\" here' %}"
        "A warm line for {{ person.first_name }} about summer{% endai %}</p>"
    )
    assert violations == []


def test_clicking_an_ai_chip_edits_its_prompt_and_the_saved_body_follows(
    live_server, page: Page, admin, sign_in, violations
):
    sequence = sequence_with_body(
        admin,
        "AI round trip",
        "<p>Hi {{ person.first_name }}, {% ai %}One line about {{ company.name }}{% endai %}</p>",
    )
    sign_in(admin)
    _open_editor(page, live_server, sequence)
    body = page.get_by_role("textbox", name="Body")
    expect(body.locator(".variable-chip")).to_have_count(1)
    chip = body.locator(".ai-chip")
    expect(chip.locator(".visually-hidden")).to_have_text(
        "AI variable: One line about {{ company.name }}"
    )

    chip.click()
    box = page.get_by_role("dialog", name="Edit AI variable")
    expect(box.get_by_role("textbox", name="Prompt")).to_have_value(
        "One line about {{ company.name }}"
    )
    expect(box.get_by_role("textbox", name="Fallback")).to_have_value("")
    box.get_by_role("textbox", name="Prompt").fill("Two lines about {{ company.name }}")
    box.get_by_role("textbox", name="Fallback").fill("Hello again")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".step-card").first.screenshot(path=str(SCREENSHOTS / "composer-ai-variable.png"))
    # Phone-sized, only looked at while working on the composer.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(".step-card").first.screenshot(path="/tmp/composer-ai-variable-phone.png")
    page.set_viewport_size(WIDE)
    box.get_by_role("button", name="Apply").click()
    expect(chip.locator(".visually-hidden")).to_have_text(
        "AI variable: Two lines about {{ company.name }} (fallback: Hello again)"
    )

    _publish(page)
    assert _published_body(sequence) == (
        '<p>Hi {{ person.first_name }}, {% ai fallback: "Hello again" %}'
        "Two lines about {{ company.name }}{% endai %}</p>"
    )
    # Backspace on the selected chip removes it, as with other chips.
    chip.click()
    page.get_by_role("button", name="Cancel").click()
    expect(body).to_be_focused()
    expect(chip).to_have_class(re.compile(r"\bProseMirror-selectednode\b"))
    page.keyboard.press("Backspace")
    expect(chip).to_have_count(0)
    expect(page.locator("#save-state")).to_contain_text("Saved · unpublished changes")
    assert stored_body(sequence) == "<p>Hi {{ person.first_name }}, </p>"
    assert violations == []


# AI blocks in the ways Liquid allows them to be written, around ordinary variables.
AI_BODY = (
    '<p>Hi {{ person.first_name | default: "there" }}, '
    '{% ai fallback: "I hope it\'s going well." %}One friendly sentence about '
    "{{ company.name }}'s news, for {{ person.job_title | default: 'them' }}.{% endai %}</p>"
    "<p>{%ai%}A P.S. about {{company.domain}}{%endai%} and "
    "{% ai fallback: 'Say \"hi\"' %}  spaced   prompt  {% endai %}</p>"
    "<ul><li><p>{%- ai -%}In a list{%- endai -%}</p></li></ul><p>Thanks</p>"
)


def test_a_body_with_ai_blocks_opens_as_chips_and_saves_byte_for_byte(
    live_server, page: Page, admin, sign_in, violations
):
    sequence = sequence_with_body(admin, "AI round trip", AI_BODY)
    stored = stored_body(sequence)
    assert len(ai_prompts(stored)) == 4
    sign_in(admin)
    _open_editor(page, live_server, sequence)
    body = page.get_by_role("textbox", name="Body")
    expect(body.locator(".ai-chip")).to_have_count(4)
    # Only the variable outside the AI blocks is a chip.
    expect(body.locator(".variable-chip")).to_have_count(1)
    expect(body.locator(".ai-chip").nth(2).locator(".visually-hidden")).to_have_text(
        'AI variable:   spaced   prompt   (fallback: Say "hi")'
    )

    # Opened and applied unchanged, a chip leaves the body as it was.
    body.locator(".ai-chip").first.click()
    page.get_by_role("button", name="Apply").click()
    # Apply gives the focus back to the body; only then type elsewhere, or the text lands
    # where the focus arrives.
    expect(body).to_be_focused()
    page.get_by_label("Description").fill("Saved without touching the body")
    _publish(page)
    assert stored_body(sequence) == stored
    assert _published_body(sequence) == stored

    # After an edit elsewhere the body is written again: each AI block as it was.
    body.get_by_text("Thanks").click()
    page.keyboard.press("End")
    page.keyboard.type(", bye")
    expect(page.locator("#save-state")).to_contain_text("Saved · unpublished changes")
    assert stored.endswith("<p>Thanks</p>")
    assert stored_body(sequence) == stored.removesuffix("</p>") + ", bye</p>"
    assert violations == []


def test_an_ai_prompt_with_an_unknown_variable_is_refused_at_publish_under_the_body(
    live_server, page: Page, admin, sign_in, axe
):
    sequence = sequence_with_body(
        admin, "AI round trip", "<p>Hi, {% ai %}About {{ company.shoe_size }}{% endai %}</p>"
    )
    sign_in(admin)
    _open_editor(page, live_server, sequence)
    page.get_by_role("button", name="Publish sequence").click()

    expect(page.get_by_role("alert").first).to_contain_text("Not published")
    error = page.locator("#steps-0-body_html-error")
    expect(error).to_contain_text("company.shoe_size")
    expect(page.get_by_role("button", name="AI variable")).to_be_visible()
    body = page.get_by_role("textbox", name="Body")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_accessible_description(error.text_content() or "")
    # The chip itself says which of its variables is unknown.
    chip = body.locator(".ai-chip")
    expect(chip).to_have_class("ai-chip unknown")
    expect(chip.locator(".visually-hidden")).to_have_text(
        "AI variable: About {{ company.shoe_size }} (unknown variable: company.shoe_size)"
    )
    axe("composer with a refused AI prompt")
    page.locator(".step-card").first.screenshot(path="/tmp/composer-ai-refused.png")

    # Its box refuses the prompt until the variable is one the workspace has.
    chip.click()
    prompt = page.get_by_role("textbox", name="Prompt")
    page.get_by_role("button", name="Apply").click()
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_have_accessible_description(re.compile(r"company\.shoe_size \}\}: no such"))
    prompt.fill("About {{ company.name }}")
    page.get_by_role("button", name="Apply").click()
    expect(chip).to_have_class("ai-chip")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    # Publishing posts the form and loads the editor again: wait for that page, and for
    # its composer, before looking at its state (an autosave answer can still land on the
    # page being left).
    with page.expect_navigation():
        page.get_by_role("button", name="Publish sequence").click()
    expect(page.get_by_role("button", name="AI variable")).to_be_visible()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    assert _published_body(sequence) == "<p>Hi, {% ai %}About {{ company.name }}{% endai %}</p>"
