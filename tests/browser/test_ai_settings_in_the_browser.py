"""An admin points the workspace's AI at an OpenAI-compatible server, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from sequencer.domain.ai_settings import Provider
from sequencer.workspace import ai_settings

from .test_settings_in_the_browser import NARROW, WIDE, _shot

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-live-do-not-show-4242"


def test_an_admin_switches_to_a_server_fixes_the_url_and_the_key_is_never_shown(
    live_server, page: Page, admin, sign_in, axe
):
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="AI", exact=True
    ).click()
    expect(page.get_by_role("heading", name="AI", exact=True)).to_be_visible()
    local = page.get_by_role("radio", name="Local model, built in")
    expect(local).to_be_checked()
    expect(page.get_by_text("runs on this server: no network")).to_be_visible()
    # The server's fields are asked for only once a server is chosen.
    expect(page.get_by_label("Base URL")).to_be_hidden()
    axe("AI settings, built-in model")

    page.get_by_role("radio", name="OpenAI-compatible server").check()
    expect(page.get_by_label("Base URL")).to_be_visible()
    expect(page.get_by_label("API version")).to_be_hidden()  # Azure only
    page.get_by_label("Base URL").fill("llm.example.test/v1")
    page.get_by_label("Model name").fill("qwen2.5-7b-instruct")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save AI settings").click()

    expect(page.get_by_role("alert")).to_contain_text("The AI settings were not saved")
    expect(page.get_by_label("Base URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Base URL")).to_be_focused()
    expect(page.locator("#base_url-error")).to_contain_text("Enter an http:// or https:// URL")
    expect(page.get_by_role("radio", name="OpenAI-compatible server")).to_be_checked()
    expect(page.get_by_label("Model name")).to_have_value("qwen2.5-7b-instruct")
    expect(page.get_by_label("API key")).to_have_value("")  # never written back
    assert KEY not in page.content()
    assert ai_settings.generator_settings().provider is Provider.LOCAL
    axe("AI settings, refused URL")
    page.screenshot(path="/tmp/ai-settings-refused.png", full_page=True)

    page.get_by_label("Base URL").fill("https://llm.example.test/v1")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save AI settings").click()

    expect(page.get_by_role("status").filter(has_text="AI settings saved.")).to_be_visible()
    expect(page.get_by_text("A key is saved.")).to_be_visible()
    expect(page.get_by_label("API key")).to_have_value("")
    expect(page.get_by_label("Base URL")).to_have_value("https://llm.example.test/v1")
    assert KEY not in page.content()
    saved = ai_settings.generator_settings()
    assert (saved.provider, saved.model, saved.api_key) == (
        Provider.OPENAI_COMPATIBLE,
        "qwen2.5-7b-instruct",
        KEY,
    )
    axe("AI settings, saved")
    _shot(page, "ai-settings.png")
    page.set_viewport_size(NARROW)
    axe("AI settings on a phone")
    _shot(page, "ai-settings-phone.png")
