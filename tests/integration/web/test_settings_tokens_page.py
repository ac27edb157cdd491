"""API tokens in Settings: each member creates, lists and revokes their own."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.workspace import services
from sequencer.workspace.models import ApiToken, Role

pytestmark = pytest.mark.django_db


def test_a_new_token_is_shown_once_and_then_works_with_the_api(admin, browser_of):
    client = browser_of(admin)

    answer = client.post("/settings/tokens/", {"name": "Nightly sync"})
    created = answer.content.decode()
    token = ApiToken.objects.get(user=admin, name="Nightly sync")
    secret = created.split('id="new-token" value="')[1].split('"')[0]
    later = client.get("/settings/tokens/").content.decode()

    assert secret.startswith(token.prefix) and "it will not be shown again" in created
    assert "no-store" in answer["Cache-Control"]
    assert services.user_for_token(secret, clock=system_clock) == admin
    assert "Nightly sync" in later and secret not in later and "Your new token" not in later


def test_a_token_without_a_name_is_refused_next_to_the_name_field(admin, browser_of):
    answer = browser_of(admin).post("/settings/tokens/", {"name": "  "})

    page = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="id_name-error"' in page and "Give the token a name" in page
    assert not ApiToken.objects.filter(user=admin).exists()


def test_the_list_shows_created_and_last_used_and_never_another_members_tokens(
    admin, make_member, browser_of
):
    mia = make_member(name="Mia")
    _, raw = services.create_token(admin, "Used one")
    services.user_for_token(raw, clock=system_clock)
    services.create_token(admin, "Unused one")
    services.create_token(mia, "Mia's script")

    page = browser_of(admin).get("/settings/tokens/").content.decode()

    assert "Used one" in page and "Unused one" in page and "Never" in page
    assert "Mia&#x27;s script" not in page


def test_revoking_a_token_stops_it_working(admin, browser_of):
    token, raw = services.create_token(admin, "Old script")

    answer = browser_of(admin).post(f"/settings/tokens/{token.pk}/revoke/", follow=True)

    assert "Revoked “Old script”" in answer.content.decode()
    assert services.user_for_token(raw, clock=system_clock) is None


def test_nobody_revokes_another_members_token(admin, make_member, browser_of):
    token, raw = services.create_token(make_member(), "Theirs")

    answer = browser_of(admin).post(f"/settings/tokens/{token.pk}/revoke/")

    assert answer.status_code == 404
    assert services.user_for_token(raw, clock=system_clock) is not None


@pytest.mark.parametrize("path", ["/settings/tokens/", "/settings/tokens/1/revoke/"])
def test_signed_out_visitors_are_sent_to_sign_in(admin, path):
    answer = Client().post(path) if "revoke" in path else Client().get(path)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_members_and_admins_manage_their_own_tokens(admin, make_member, browser_of, role):
    someone = make_member(role=role)
    client = browser_of(someone)

    listed = client.get("/settings/tokens/")
    client.post("/settings/tokens/", {"name": "Mine"})
    token = ApiToken.objects.get(user=someone)
    revoked = client.post(f"/settings/tokens/{token.pk}/revoke/")

    assert listed.status_code == 200 and revoked.status_code == 302
    assert not ApiToken.objects.filter(user=someone).exists()


def test_only_admins_see_the_admin_sections_in_the_settings_menu(admin, make_member, browser_of):
    as_member = browser_of(make_member()).get("/settings/tokens/").content.decode()
    as_admin = browser_of(admin).get("/settings/tokens/").content.decode()

    assert "Members and teams" not in as_member and "Suppressions" not in as_member
    assert "Members and teams" in as_admin and 'href="/settings/suppressions/"' in as_admin


def test_the_page_costs_the_same_queries_with_10_or_200_tokens(admin, browser_of):
    client = browser_of(admin)
    counts = []
    for total in (10, 200):
        ApiToken.objects.filter(user=admin).delete()
        for i in range(total):
            services.create_token(admin, f"Token {i}")
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/settings/tokens/").content.decode()
        assert page.count(">Revoke token</button>") == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_access_choice_is_labelled_and_defaults_to_read_and_write(admin, browser_of):
    page = browser_of(admin).get("/settings/tokens/").content.decode()

    assert "<legend>Access</legend>" in page
    assert '<label for="scope-read_write">Read and write</label>' in page
    assert '<label for="scope-read_only">Read only</label>' in page
    assert 'id="scope-read_write" name="scope" value="read_write" checked' in page
    assert 'value="read_only" checked' not in page


def test_a_read_only_token_made_on_the_page_is_listed_as_read_only_and_only_reads(
    admin, browser_of
):
    client = browser_of(admin)
    services.create_token(admin, "Sync")

    answer = client.post("/settings/tokens/", {"name": "Dashboard", "scope": "read_only"})
    secret = answer.content.decode().split('id="new-token" value="')[1].split('"')[0]
    rows = client.get("/settings/tokens/").content.decode().split("<tr>")

    assert ApiToken.objects.get(name="Dashboard").scope == "read_only"
    dashboard = next(r for r in rows if "Dashboard" in r)
    sync = next(r for r in rows if ">Sync<" in r)
    assert "Read only" in dashboard and "Read and write" in sync
    refused = Client().post(
        "/api/v1/people",
        data='{"email_addresses": ["ada@example.com"]}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert refused.status_code == 403


def test_a_token_made_without_choosing_reads_and_writes(admin, browser_of):
    browser_of(admin).post("/settings/tokens/", {"name": "Old form"})

    assert ApiToken.objects.get(name="Old form").scope == "read_write"


def test_a_made_up_access_is_refused_next_to_the_choice(admin, browser_of):
    answer = browser_of(admin).post("/settings/tokens/", {"name": "X", "scope": "everything"})

    assert answer.status_code == 400
    assert 'id="scope-error"' in answer.content.decode()
    assert not ApiToken.objects.filter(name="X").exists()
