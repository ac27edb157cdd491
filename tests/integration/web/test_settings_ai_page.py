"""Settings, AI: admins choose the model and its limits; the key is never shown back;
everyone else is kept out, as on the other admin settings pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from sequencer.ai.models import AiGeneration
from sequencer.domain.ai_settings import Provider
from sequencer.workspace import ai_settings
from sequencer.workspace.ai_settings import AiSettingsChange

from .conftest import LEVELS

pytestmark = pytest.mark.django_db

URL = "/settings/ai/"
LIMITS = {
    "max_tries": "3",
    "max_phrase_chars": "120",
    "max_paragraph_chars": "600",
}
SERVER = {
    **LIMITS,
    "provider": "openai_compatible",
    "base_url": "https://llm.example.test/v1",
    "model": "qwen2.5-7b",
    "api_key": "sk-live-SECRET",
    "api_version": "",
}


def test_the_page_shows_the_built_in_model_chosen_and_explains_it(admin, browser_of):
    page = browser_of(admin).get(URL).content.decode()

    assert 'id="provider-local" name="provider" value="local" checked' in page
    assert "runs on this server" in page and "no network, no API key" in page
    assert 'href="/settings/ai/" aria-current="page"' in page
    assert "A key is saved" not in page


def test_an_admin_switches_to_a_server_and_the_key_is_saved_but_never_shown(admin, browser_of):
    client = browser_of(admin)

    answer = client.post(URL, SERVER, follow=True)

    page = answer.content.decode()
    assert "AI settings saved." in page
    assert "A key is saved." in page and "SECRET" not in page
    assert 'value="https://llm.example.test/v1"' in page
    settings = ai_settings.generator_settings()
    assert settings.provider is Provider.OPENAI_COMPATIBLE
    assert settings.api_key == "sk-live-SECRET"


def test_a_blank_key_keeps_the_saved_one_and_remove_drops_it(admin, browser_of):
    client = browser_of(admin)
    client.post(URL, SERVER)

    client.post(URL, {**SERVER, "api_key": "", "model": "llama3"})
    assert ai_settings.generator_settings().api_key == "sk-live-SECRET"

    client.post(URL, {**SERVER, "api_key": "", "remove_api_key": "1"})
    assert ai_settings.generator_settings().api_key == ""


def test_each_refused_field_shows_its_error_next_to_it_and_nothing_is_saved(admin, browser_of):
    answer = browser_of(admin).post(
        URL, {**SERVER, "base_url": "ftp://llm.example.test", "model": "", "max_tries": "many"}
    )

    page = answer.content.decode()
    assert answer.status_code == 400
    assert "The AI settings were not saved" in page and "Type the API key again." in page
    assert 'id="base_url-error"><p class="field-error">Enter an http:// or https:// URL' in page
    assert 'id="max_tries-error"><p class="field-error">Enter a whole number' in page
    assert 'value="ftp://llm.example.test"' in page  # what was typed stays
    assert "SECRET" not in page
    assert ai_settings.generator_settings().provider is Provider.LOCAL


def test_the_rules_refusals_are_shown_once_the_numbers_read(admin, browser_of):
    answer = browser_of(admin).post(URL, {**SERVER, "model": ""})
    page = answer.content.decode()
    assert 'id="model-error"><p class="field-error">Enter the name of the model' in page


def test_choosing_the_built_in_model_ignores_the_hidden_server_fields(admin, browser_of):
    answer = browser_of(admin).post(
        URL, {**LIMITS, "provider": "local", "base_url": "not a url", "model": ""}
    )
    assert answer.status_code == 302
    assert ai_settings.generator_settings().base_url == ""


def test_azure_asks_for_an_api_version(admin, browser_of):
    answer = browser_of(admin).post(
        URL, {**SERVER, "provider": "azure_openai", "base_url": "https://acme.openai.azure.com"}
    )
    assert 'id="api_version-error"><p class="field-error">Azure OpenAI needs' in (
        answer.content.decode()
    )


def test_recent_generations_show_the_last_week_of_model_calls(admin, browser_of):
    page = browser_of(admin).get(URL).content.decode()
    assert "Recent generations" in page and "No text has been written in the last 7 days" in page

    now = timezone.now()

    def call(outcome: str, seconds: float, days_ago: float = 0) -> AiGeneration:
        return AiGeneration(
            provider="local",
            model="smollm2",
            seconds=seconds,
            prompt_tokens=300,
            completion_tokens=20,
            outcome=outcome,
            created_at=now - timedelta(days=days_ago),
        )

    AiGeneration.objects.bulk_create(
        [call("ok", 0.5), call("ok", 0.7), call("rejected", 0.6), call("ok", 9.0, days_ago=8)]
    )
    page = browser_of(admin).get(URL).content.decode()
    # The call eight days ago is not counted.
    assert "<dt>Calls</dt><dd>3</dd>" in page
    assert "<dt>Used in an email</dt><dd>2</dd>" in page
    assert "<dt>Rejected and asked again</dt><dd>1</dd>" in page
    assert "0.60 s" in page and "900 / 60" in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_signed_out_visitors_are_sent_to_sign_in(admin, method):
    answer = getattr(Client(), method)(URL, SERVER if method == "post" else None)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


@pytest.mark.parametrize("level", LEVELS)
def test_only_admins_see_and_change_the_ai_settings(level, member_with, make_sequence, browser_of):
    # A member's level on a sequence gives nothing here: the page is the workspace's.
    client = browser_of(member_with(make_sequence(), level))

    shown = client.get(URL)
    saved = client.post(URL, SERVER)

    expected = (200, 302) if level == "admin" else (403, 403)
    assert (shown.status_code, saved.status_code) == expected
    provider = ai_settings.generator_settings().provider
    assert provider is (Provider.OPENAI_COMPATIBLE if level == "admin" else Provider.LOCAL)


def test_the_settings_navigation_shows_ai_to_admins_only(admin, make_member, browser_of):
    assert 'href="/settings/ai/"' in browser_of(admin).get("/settings/outbox/").content.decode()
    member = browser_of(make_member())
    assert 'href="/settings/ai/"' not in member.get("/settings/outbox/").content.decode()


def test_a_saved_azure_setting_is_shown_with_its_api_version(admin, browser_of):
    ai_settings.update(
        admin,
        AiSettingsChange(
            provider="azure_openai",
            base_url="https://acme.openai.azure.com",
            model="writer",
            api_key="k",
            api_version="2024-10-21",
        ),
    )
    page = browser_of(admin).get(URL).content.decode()
    assert 'value="azure_openai" checked' in page and 'value="2024-10-21"' in page
