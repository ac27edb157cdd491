"""A person's owner through the API: set, shown, cleared, and only an active member."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_person_is_created_with_an_owner_and_the_owner_is_shown(api, make_member) -> None:
    rep = make_member()
    created = api.post("people", {"email_addresses": ["ada@initech.test"], "owner_id": rep.pk})
    assert created.status_code == 201, created.data
    assert created.data["owner_id"] == rep.pk
    assert api.get(f"people/{created.data['id']}").data["owner_id"] == rep.pk


def test_the_owner_changes_and_clears_with_a_patch(api, make_member) -> None:
    rep, other = make_member(), make_member()
    person = api.post("people", {"email_addresses": ["ada@initech.test"], "owner_id": rep.pk})
    path = f"people/{person.data['id']}"
    assert api.patch(path, {"owner_id": other.pk}).data["owner_id"] == other.pk
    assert api.patch(path, {"first_name": "Ada"}).data["owner_id"] == other.pk
    assert api.patch(path, {"owner_id": None}).data["owner_id"] is None


def test_an_owner_who_is_not_an_active_member_is_refused_naming_owner_id(api, make_member) -> None:
    gone = make_member()
    gone.is_active = False
    gone.save()
    for owner_id in (gone.pk, 987_654):
        answer = api.post("people", {"email_addresses": ["ada@initech.test"], "owner_id": owner_id})
        assert answer.status_code == 400
        assert answer.data["error"]["field"] == "owner_id"
