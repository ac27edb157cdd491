"""GET and PATCH /api/v1/workspace/settings: the spam complaint limit, which every member
reads and only admins change, each change in the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sequencer.workspace.models import AuditEntry
from sequencer.workspace.settings import complaint_policy

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "complaint_limit_percent": 0.3,
    "complaint_min_sends": 100,
    "complaint_window_days": 30,
    "ai_provider": "local",
    "ai_base_url": "",
    "ai_model": "",
    "ai_api_key_set": False,
    "ai_api_version": "",
    "ai_max_tries": 3,
    "ai_max_phrase_chars": 120,
    "ai_max_paragraph_chars": 600,
}


def test_signed_out_callers_neither_read_nor_change_the_settings(admin, anonymous_api):
    assert anonymous_api.get("workspace/settings").status_code == 401
    response = anonymous_api.patch("workspace/settings", {"complaint_limit_percent": 1})
    assert response.status_code == 401
    assert complaint_policy().limit_percent == Decimal("0.3")


def test_every_member_reads_the_defaults(make_member, api_as):
    response = api_as(make_member()).get("workspace/settings")
    assert (response.status_code, response.data) == (200, DEFAULTS)


def test_a_member_who_is_no_admin_cannot_change_them(make_member, api_as):
    response = api_as(make_member()).patch("workspace/settings", {"complaint_min_sends": 5})
    assert response.status_code == 403
    assert response.data["error"]["code"] == "forbidden"
    assert complaint_policy().min_sends == 100
    assert not AuditEntry.objects.exists()


def test_an_admin_changes_the_limit_and_the_change_is_audited(admin, api):
    response = api.patch(
        "workspace/settings", {"complaint_limit_percent": 0.25, "complaint_min_sends": 500}
    )
    assert response.status_code == 200
    changed = {"complaint_limit_percent": 0.25, "complaint_min_sends": 500}
    assert response.data == {**DEFAULTS, **changed}
    assert api.get("workspace/settings").data["complaint_limit_percent"] == 0.25
    [entry] = AuditEntry.objects.filter(action="workspace.complaint_limit_changed")
    assert entry.actor_id == admin.pk
    assert entry.detail["before"] == {"complaint_limit_percent": "0.30", "complaint_min_sends": 100}
    assert entry.detail["after"] == {"complaint_limit_percent": "0.25", "complaint_min_sends": 500}


def test_a_field_left_out_stays_as_it_was(api):
    api.patch("workspace/settings", {"complaint_min_sends": 50})
    response = api.patch("workspace/settings", {"complaint_limit_percent": 1})
    assert response.data["complaint_min_sends"] == 50
    assert response.data["complaint_limit_percent"] == 1.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"complaint_limit_percent": 0}, "complaint_limit_percent"),
        ({"complaint_limit_percent": 101}, "complaint_limit_percent"),
        ({"complaint_limit_percent": 0.333}, "complaint_limit_percent"),
        ({"complaint_limit_percent": "0.3"}, "complaint_limit_percent"),
        ({"complaint_min_sends": -1}, "complaint_min_sends"),
        ({"complaint_min_sends": 2.5}, "complaint_min_sends"),
        ({"complaint_limit": 0.3}, "complaint_limit"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_changes(api, body, field):
    response = api.patch("workspace/settings", body)
    assert response.status_code == 400
    assert response.data["error"]["field"] == field
    assert response.data["error"]["message"]
    assert api.get("workspace/settings").data == DEFAULTS


SERVER = {
    "ai_provider": "openai_compatible",
    "ai_base_url": "https://llm.example.test/v1",
    "ai_model": "qwen2.5-7b",
    "ai_api_key": "sk-live-SECRET",
}


def test_an_admin_chooses_a_server_and_the_key_is_never_returned(api):
    response = api.patch("workspace/settings", SERVER)

    assert response.status_code == 200
    expected = {**DEFAULTS, **SERVER, "ai_api_key_set": True}
    del expected["ai_api_key"]
    assert response.data == expected
    assert api.get("workspace/settings").data == expected
    assert "SECRET" not in response.content.decode()
    assert AuditEntry.objects.filter(action="workspace.ai_settings_changed").count() == 1


def test_every_member_reads_the_ai_settings_but_only_whether_a_key_is_set(api, make_member, api_as):
    api.patch("workspace/settings", SERVER)
    response = api_as(make_member()).get("workspace/settings")
    assert response.data["ai_api_key_set"] is True and "ai_api_key" not in response.data
    assert "SECRET" not in response.content.decode()


def test_an_empty_key_removes_the_saved_key(api):
    api.patch("workspace/settings", SERVER)
    assert api.patch("workspace/settings", {"ai_api_key": ""}).data["ai_api_key_set"] is False


def test_a_member_who_is_no_admin_cannot_change_the_ai_settings(make_member, api_as):
    response = api_as(make_member()).patch("workspace/settings", SERVER)
    assert response.status_code == 403
    assert api_as(make_member()).get("workspace/settings").data == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ai_provider": "gpt"}, "ai_provider"),
        ({**SERVER, "ai_base_url": "ftp://llm.example.test"}, "ai_base_url"),
        ({**SERVER, "ai_model": ""}, "ai_model"),
        ({"ai_provider": "openai_compatible"}, "ai_base_url"),
        ({"ai_max_tries": 0}, "ai_max_tries"),
        ({"ai_max_tries": "3"}, "ai_max_tries"),
        ({"ai_concurrency": 1}, "ai_concurrency"),
        ({"ai_max_phrase_chars": 500, "ai_max_paragraph_chars": 400}, "ai_max_paragraph_chars"),
        ({"ai_key": "x"}, "ai_key"),
        ({"ai_api_key_set": True}, "ai_api_key_set"),
    ],
)
def test_a_bad_ai_value_is_refused_naming_the_field_and_nothing_changes(api, body, field):
    response = api.patch("workspace/settings", {"complaint_min_sends": 7, **body})
    assert response.status_code == 400
    assert response.data["error"]["field"] == field
    assert api.get("workspace/settings").data == DEFAULTS
