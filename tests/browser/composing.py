"""Writing a sequence's steps in the editor, as a member does it, for the browser tests.

Each helper waits for what the page does in between (the composer replacing the plain
field, the focus coming back, the autosave settling), so a journey reads as its steps.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence

# While htmx is in flight or swapping, the page is not settled yet.
BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"


def step(page: Page, number: int) -> Locator:
    """Email ``number``, once its composer has replaced the plain field (its script has
    loaded), so typing goes to the composer."""
    article = page.get_by_role("article", name=f"Email {number}")
    expect(article.get_by_role("button", name="Insert variable")).to_be_visible()
    return article


def add_step(page: Page, number: int) -> Locator:
    """Add step to sequence, which becomes Email ``number``."""
    page.get_by_role("button", name="Add step to sequence").click()
    return step(page, number)


def insert_variable(page: Page, email: Locator, search: str, option: str, fallback: str) -> None:
    """Insert variable from ``email``'s composer: search, pick ``option`` (its label starts
    so) and give it ``fallback``."""
    email.get_by_role("button", name="Insert variable").click()
    page.get_by_role("combobox", name="Search variables").fill(search)
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}")).click()
    page.get_by_role("textbox", name="Fallback").fill(fallback)
    page.get_by_role("button", name="Apply").click()


def type_in_body(page: Page, email: Locator, text: str) -> None:
    """Type at the caret of ``email``'s body. The editor takes the focus back (after the
    variable dialog) on its next frame: type once it has."""
    expect(email.get_by_role("textbox", name="Body")).to_be_focused()
    page.keyboard.type(text)


def wait_for_saves(page: Page) -> None:
    """Until the autosaves have all been answered and the draft says it is saved."""
    expect(page.locator(BUSY)).to_have_count(0)
    expect(page.locator("#save-state")).to_contain_text("saved")


def caret_at_end(page: Page, body: Locator) -> None:
    """Put the caret at the end of ``body``'s last paragraph with a click at its right
    edge, as a person would. (Focusing the field and pressing End races the editor,
    which sets its own selection just after it takes the focus.)"""
    last = body.locator("p").last
    box = last.bounding_box()
    assert box is not None
    last.click(position={"x": box["width"] - 2, "y": box["height"] / 2})
    expect(body).to_be_focused()


def new_sequence(page: Page) -> None:
    """New sequence, from the list: its editor opens, with its scripts running (the
    heading shows before the deferred scripts that autosave what is typed)."""
    page.get_by_role("button", name="New sequence").click()
    expect(page.get_by_role("heading", name="Untitled Sequence")).to_be_visible()
    page.wait_for_load_state()


def sequence_with_body(admin: object, name: str, body: str) -> Sequence:
    """A draft sequence of one email whose body is ``body``, as the API stores it."""
    return authoring.create_sequence(
        admin,  # type: ignore[arg-type]
        name=name,
        steps=[StepInput(subject="Hello", body_html=body)],
        clock=system_clock,
    )


def stored_body(sequence: Sequence) -> str:
    """The first email's body as the draft now stores it."""
    return authoring.draft_snapshot(Sequence.objects.get(pk=sequence.pk))["steps"][0]["body_html"]
