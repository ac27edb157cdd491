"""Publish is clicked while an autosave is answering: the click must not be lost."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from sequencer.sequences.models import Sequence
from tests.browser.composing import sequence_with_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_autosave_leaves_the_publish_button_in_place_so_a_click_during_it_counts(
    live_server, page: Page, admin, sign_in
):
    sequence = sequence_with_body(admin, "Clicked mid-save", "<p>Hello</p>")
    sign_in(admin)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    publish = page.get_by_role("button", name="Publish sequence")
    expect(publish).to_be_visible()
    publish.evaluate("(button) => { window.publishButton = button; }")

    page.get_by_label("Description").fill("Typed just before publishing")
    page.get_by_label("Description").blur()
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.wait_for_load_state("networkidle")
    # A browser drops a click whose press and release land on two different elements, so
    # a save that redrew the button between them would swallow the publish.
    assert page.evaluate("() => window.publishButton.isConnected")

    with page.expect_navigation():
        publish.click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")
    assert Sequence.objects.get(pk=sequence.pk).description == "Typed just before publishing"
