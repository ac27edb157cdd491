"""The workspace's AI configuration, stored: the built-in model until an admin chooses a
server; the key encrypted at rest and never handed back for display; every change audited."""

from __future__ import annotations

import pytest
from django.db import connection

from sequencer.domain.ai_settings import GeneratorSettings, Provider
from sequencer.workspace import ai_settings
from sequencer.workspace.ai_settings import AiSettingsChange, InvalidSettings
from sequencer.workspace.models import AiSettings, AuditEntry, Role

pytestmark = pytest.mark.django_db

SERVER = AiSettingsChange(
    provider="openai_compatible",
    base_url=" https://llm.example.test/v1 ",
    model="qwen2.5-7b",
    api_key="sk-live-SECRET",
)


def test_before_any_change_the_settings_are_the_built_in_model(admin):
    assert ai_settings.generator_settings() == GeneratorSettings()
    state = ai_settings.current()
    assert state.settings == GeneratorSettings() and not state.api_key_set


def test_the_defaults_hold_before_the_workspace_is_set_up(db):
    assert ai_settings.generator_settings() == GeneratorSettings()


def test_an_admin_chooses_a_server_and_the_generator_settings_carry_the_key(admin):
    state = ai_settings.update(admin, SERVER)

    assert state.api_key_set and state.settings.api_key == ""
    settings = ai_settings.generator_settings()
    assert settings.provider is Provider.OPENAI_COMPATIBLE
    assert settings.base_url == "https://llm.example.test/v1"  # trimmed
    assert (settings.model, settings.api_key) == ("qwen2.5-7b", "sk-live-SECRET")


def test_the_key_is_stored_encrypted(admin):
    ai_settings.update(admin, SERVER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM workspace_aisettings")
        [(stored,)] = cursor.fetchall()
    assert stored and "SECRET" not in stored and "sk-live" not in stored


def test_the_display_state_never_holds_the_key(admin):
    ai_settings.update(admin, SERVER)
    state = ai_settings.current()
    assert state.api_key_set and state.settings.api_key == ""
    assert "SECRET" not in repr(state)


def test_a_change_without_a_key_keeps_the_saved_key_and_an_empty_key_removes_it(admin):
    ai_settings.update(admin, SERVER)
    ai_settings.update(admin, AiSettingsChange(model="llama3"))
    assert ai_settings.generator_settings().api_key == "sk-live-SECRET"

    ai_settings.update(admin, AiSettingsChange(api_key=""))
    assert ai_settings.generator_settings().api_key == ""
    assert not ai_settings.current().api_key_set


def test_back_to_the_local_model_keeps_the_server_fields_for_later(admin):
    ai_settings.update(admin, SERVER)
    ai_settings.update(admin, AiSettingsChange(provider="local"))
    settings = ai_settings.generator_settings()
    assert settings.provider is Provider.LOCAL and settings.base_url.startswith("https://")


def test_every_refused_field_is_reported_and_nothing_is_saved(admin):
    with pytest.raises(InvalidSettings) as refused:
        ai_settings.update(
            admin,
            AiSettingsChange(provider="openai_compatible", base_url="ftp://x", max_tries=0),
        )
    assert [p.field for p in refused.value.problems] == ["base_url", "model", "max_tries"]
    assert refused.value.field == "base_url"
    assert not AiSettings.objects.exists()


def test_an_unknown_provider_is_refused(admin):
    with pytest.raises(InvalidSettings) as refused:
        ai_settings.update(admin, AiSettingsChange(provider="gpt"))
    assert refused.value.field == "provider"


def test_a_member_who_is_no_admin_cannot_change_them(make_member):
    with pytest.raises(PermissionError):
        ai_settings.update(make_member(role=Role.MEMBER), SERVER)
    assert not AiSettings.objects.exists()


def test_each_change_is_audited_without_the_key(admin):
    ai_settings.update(admin, SERVER)
    ai_settings.update(admin, AiSettingsChange(model="qwen2.5-7b"))  # no change: no entry

    [entry] = AuditEntry.objects.filter(action="workspace.ai_settings_changed")
    assert entry.actor == admin
    assert entry.detail["before"]["provider"] == "local"
    assert entry.detail["after"]["model"] == "qwen2.5-7b"
    assert entry.detail["api_key"] == "set"
    assert "SECRET" not in str(entry.detail)
