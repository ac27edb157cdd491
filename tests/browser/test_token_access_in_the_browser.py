"""A read-only API token, chosen from the keyboard on Settings → API tokens."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from sequencer.workspace.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

# Where the page is photographed while developing (not kept in the docs).
LOOK = os.environ.get("SEQUENCER_NARROW_SCREENSHOTS")


def test_a_read_only_token_is_chosen_from_the_keyboard_and_listed_as_read_only(
    live_server, page: Page, admin, sign_in, axe
):
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/settings/tokens/")
    read_write = page.get_by_role("radio", name="Read and write")
    read_only = page.get_by_role("radio", name="Read only")
    expect(page.get_by_role("group", name="Access")).to_be_visible()
    expect(read_write).to_be_checked()

    page.get_by_role("textbox", name="Token name").fill("Weekly report")
    page.keyboard.press("Tab")
    expect(read_write).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(read_only).to_be_checked()
    if LOOK:
        page.screenshot(path=f"{LOOK}/tokens-access-choice.png", full_page=True)
    page.keyboard.press("Enter")

    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    expect(page.get_by_text("This token only reads")).to_be_visible()
    expect(page.get_by_role("row", name="Weekly report")).to_contain_text("Read only")
    assert ApiToken.objects.get(name="Weekly report").scope == "read_only"
    axe("tokens, a read-only one")
    if LOOK:
        page.screenshot(path=f"{LOOK}/tokens-read-only.png", full_page=True)
