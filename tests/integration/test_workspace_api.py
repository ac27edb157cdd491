import pytest

from sequencer.clock import system_clock
from sequencer.workspace import services
from sequencer.workspace.models import User

pytestmark = pytest.mark.django_db


def test_a_request_without_a_token_is_refused_with_a_json_error_naming_the_header(anonymous_api):
    response = anonymous_api.get("me")
    assert response.status_code == 401
    assert response.data["error"]["field"] == "Authorization"
    assert "Bearer" in response.data["error"]["message"]


def test_a_made_up_token_is_refused(admin):
    from tests.conftest import ApiClient

    response = ApiClient("sqr_not-a-real-token").get("me")
    assert response.status_code == 401
    assert response.data["error"]["code"] == "unauthenticated"


def test_a_token_acts_as_its_member(api, admin):
    response = api.get("me")
    assert response.status_code == 200
    assert response.data["email"] == admin.email
    assert response.data["role"] == "admin"


def test_a_revoked_token_stops_working(admin, api_as):
    client = api_as(admin)
    token_id = client.get("tokens").data[0]["id"]
    assert client.delete(f"tokens/{token_id}").status_code == 204
    assert client.get("me").status_code == 401


def test_tokens_are_stored_only_as_digests(admin):
    token, raw = services.create_token(admin, "x")
    token.refresh_from_db()
    assert raw not in token.digest and not raw.endswith(token.digest)
    assert services.user_for_token(raw, clock=system_clock) == admin


def test_an_admin_adds_members_and_a_member_cannot(api, make_member, api_as):
    created = api.post(
        "members", {"email": "Bob@Acme.test", "password": "a-long-passphrase", "name": "Bob"}
    )
    assert created.status_code == 201
    assert created.data["email"] == "bob@acme.test"
    assert created.data["role"] == "member"

    bob = User.objects.get(email="bob@acme.test")
    refused = api_as(bob).post(
        "members", {"email": "eve@acme.test", "password": "a-long-passphrase"}
    )
    assert refused.status_code == 403


def test_a_duplicate_member_address_names_the_field(api, admin):
    response = api.post("members", {"email": admin.email, "password": "a-long-passphrase"})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "email"


def test_a_weak_password_is_refused_with_the_reason(api):
    response = api.post("members", {"email": "c@acme.test", "password": "short"})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "password"
    assert "short" in response.data["error"]["message"]


def test_the_last_admin_cannot_be_demoted(api, admin):
    response = api.patch(f"members/{admin.pk}", {"role": "member"})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "last_admin"


def test_teams_group_members(api, make_member):
    a, b = make_member(), make_member()
    team = api.post("teams", {"name": "Sales", "member_ids": [a.pk, b.pk]})
    assert team.status_code == 201
    assert team.data["member_ids"] == sorted([a.pk, b.pk])
    changed = api.patch(f"teams/{team.data['id']}", {"member_ids": [a.pk]})
    assert changed.data["member_ids"] == [a.pk]


def test_a_team_with_an_unknown_member_names_the_entry(api, make_member):
    a = make_member()
    response = api.post("teams", {"name": "Sales", "member_ids": [a.pk, 999_999]})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "member_ids.1"


def test_the_openapi_spec_is_served(anonymous_api):
    response = anonymous_api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/schedule-preview" in response.data["paths"]
