"""The calendars API: connect, list, test, remove; each member sees only their own."""

from __future__ import annotations

import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection as db_connection

from sequencer.calendars.models import CalendarConnection, CalendarStatus
from tests.integration.calendars.conftest import make_mailbox
from tests.peers.fixtures import RADICALE_USERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_api(sender, api_as):
    return api_as(sender)


def caldav_body(radicale, **overrides):
    return {
        "kind": "caldav",
        "url": radicale.url,
        "username": "alice",
        "password": RADICALE_USERS["alice"],
        **overrides,
    }


def test_a_caldav_calendar_is_connected_without_ever_showing_its_password(
    radicale, alice_api, sender
):
    created = alice_api.post("calendars", caldav_body(radicale))

    assert created.status_code == 201, created.data
    body = created.data
    assert body["kind"] == "caldav"
    assert body["url"] == radicale.url
    assert body["username"] == "alice"
    assert body["mailbox_id"] is None
    assert body["account"] == f"alice at {radicale.url}"
    assert body["status"] == "active"
    assert body["last_synced_at"] is None
    assert "password" not in body
    assert RADICALE_USERS["alice"] not in created.content.decode()
    listed = alice_api.get("calendars")
    assert [c["id"] for c in listed.data] == [body["id"]]
    assert RADICALE_USERS["alice"] not in listed.content.decode()
    # Encrypted at rest: the column holds ciphertext only.
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT password FROM calendars_calendarconnection WHERE id = %s", [body["id"]]
        )
        [raw] = cursor.fetchone()
    assert RADICALE_USERS["alice"] not in raw
    assert CalendarConnection.objects.get(pk=body["id"]).password == RADICALE_USERS["alice"]


def test_another_members_calendar_is_not_found(radicale, alice_api, api_as, make_member):
    mine = alice_api.post("calendars", caldav_body(radicale)).data["id"]
    other = api_as(make_member("eve@acme.test"))

    assert other.get("calendars").data == []
    for method, path in [
        ("GET", f"calendars/{mine}"),
        ("DELETE", f"calendars/{mine}"),
        ("POST", f"calendars/{mine}/test"),
    ]:
        answer = other.request(method, path, {} if method == "POST" else None)
        assert answer.status_code == 404, (method, path)
        assert answer.data["error"]["code"] == "not_found"
    assert CalendarConnection.objects.filter(pk=mine).exists()


def test_a_calendar_is_removed(radicale, alice_api):
    mine = alice_api.post("calendars", caldav_body(radicale)).data["id"]
    assert alice_api.delete(f"calendars/{mine}").status_code == 204
    assert alice_api.get("calendars").data == []
    assert alice_api.delete(f"calendars/{mine}").status_code == 404


CALDAV = {"kind": "caldav", "url": "https://cal.example.test/", "username": "a", "password": "b"}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"kind": "exchange"}, "kind", "invalid_choice"),
        ({**CALDAV, "url": None}, "url", "required"),
        ({**CALDAV, "url": "cal.example.com"}, "url", "invalid_url"),
        ({**CALDAV, "url": "ftp://cal.example.com/"}, "url", "invalid_url"),
        ({**CALDAV, "password": None}, "password", "required"),
        ({**CALDAV, "username": " "}, "username", "required"),
        ({**CALDAV, "mailbox_id": 1}, "mailbox_id", "unknown_field"),
        ({"kind": "google"}, "mailbox_id", "required"),
        ({"kind": "google", "mailbox_id": 1, "password": "x"}, "password", "unknown_field"),
        ({**CALDAV, "colour": "red"}, "colour", "invalid"),
    ],
)
def test_invalid_input_names_the_field(alice_api, body, field, code):
    answer = alice_api.post("calendars", body)
    assert answer.status_code == 400, answer.data
    assert answer.data["error"]["field"] == field
    assert answer.data["error"]["code"] == code


def test_the_same_account_cannot_be_connected_twice(radicale, alice_api):
    assert alice_api.post("calendars", caldav_body(radicale)).status_code == 201
    again = alice_api.post("calendars", caldav_body(radicale))
    assert again.status_code == 400
    assert again.data["error"]["code"] == "already_connected"


def test_a_google_or_microsoft_calendar_reuses_one_of_the_members_own_oauth_mailboxes(
    alice_api, sender, make_member
):
    tokens = {"access_token": "t", "refresh_token": "r", "expires_at": None}
    gmail = make_mailbox(sender, "alice@gmail.test", provider="gmail", oauth_tokens=tokens)
    outlook = make_mailbox(sender, "alice@outlook.test", provider="microsoft", oauth_tokens=tokens)
    unsigned = make_mailbox(sender, "old@gmail.test", provider="gmail")
    smtp = sender.mailboxes.get(email="sales@acme.test")
    theirs = make_mailbox(make_member("eve@acme.test"), "eve@gmail.test", provider="gmail")

    google = alice_api.post("calendars", {"kind": "google", "mailbox_id": gmail.pk})
    assert google.status_code == 201, google.data
    assert google.data["mailbox_id"] == gmail.pk
    assert google.data["account"] == "alice@gmail.test"
    assert google.data["url"] is None and google.data["username"] is None
    microsoft = alice_api.post("calendars", {"kind": "microsoft", "mailbox_id": outlook.pk})
    assert microsoft.status_code == 201, microsoft.data

    for body, code in [
        ({"kind": "google", "mailbox_id": gmail.pk}, "already_connected"),
        ({"kind": "google", "mailbox_id": theirs.pk}, "not_found"),
        ({"kind": "google", "mailbox_id": 999_999}, "not_found"),
        ({"kind": "google", "mailbox_id": outlook.pk}, "wrong_provider"),
        ({"kind": "microsoft", "mailbox_id": smtp.pk}, "wrong_provider"),
        ({"kind": "google", "mailbox_id": unsigned.pk}, "not_signed_in"),
    ]:
        answer = alice_api.post("calendars", body)
        assert answer.status_code == 400, body
        assert (answer.data["error"]["field"], answer.data["error"]["code"]) == (
            "mailbox_id",
            code,
        ), body


# -- the connection test -----------------------------------------------------------------


def test_the_connection_test_reports_the_calendars_found(radicale, alice_api):
    radicale.make_calendar("alice", "work")
    mine = alice_api.post("calendars", caldav_body(radicale)).data["id"]

    answer = alice_api.post(f"calendars/{mine}/test")

    assert answer.status_code == 200
    assert answer.data["ok"] is True
    assert answer.data["message"].startswith(
        f"Connected to {radicale.url} as alice: found 2 calendars ("
    )
    assert answer.data["status"] == "active"


def test_a_wrong_password_is_named_and_a_later_success_reconnects(radicale, alice_api):
    mine = alice_api.post("calendars", caldav_body(radicale, password="wrong")).data["id"]

    answer = alice_api.post(f"calendars/{mine}/test")

    assert answer.data == {
        "ok": False,
        "message": f"The CalDAV server at {radicale.url} refused the username 'alice' or its "
        "password (HTTP 401): check both, or create an app password if the account uses "
        "two-factor sign-in.",
        "status": "disconnected",
    }
    shown = alice_api.get(f"calendars/{mine}").data
    assert shown["status"] == "disconnected"
    assert "HTTP 401" in shown["status_reason"]

    connection = CalendarConnection.objects.get(pk=mine)
    connection.password = RADICALE_USERS["alice"]
    connection.save()
    assert alice_api.post(f"calendars/{mine}/test").data["ok"] is True
    shown = alice_api.get(f"calendars/{mine}").data
    assert (shown["status"], shown["status_reason"]) == ("active", "")


def test_a_refused_port_is_named(alice_api, closed_port):
    url = f"http://127.0.0.1:{closed_port}/dav/"
    mine = alice_api.post(
        "calendars", {"kind": "caldav", "url": url, "username": "a", "password": "b"}
    ).data["id"]

    answer = alice_api.post(f"calendars/{mine}/test")

    assert answer.data["ok"] is False
    assert answer.data["message"] == (
        f"Could not connect to 127.0.0.1:{closed_port}: the connection was refused. Check "
        "the URL's host and port, and that the CalDAV server is running."
    )
    assert answer.data["status"] == CalendarStatus.FAILING


def test_a_url_that_is_not_a_caldav_server_is_named(alice_api):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        mine = alice_api.post(
            "calendars", {"kind": "caldav", "url": url, "username": "a", "password": "b"}
        ).data["id"]
        answer = alice_api.post(f"calendars/{mine}/test")
    finally:
        server.shutdown()
        server.server_close()

    assert answer.data["ok"] is False
    assert answer.data["message"] == (
        f"The server at {url} does not answer as a CalDAV server (HTTP 501): check the URL."
    )


def test_another_users_calendar_url_is_named_as_forbidden(radicale, alice_api):
    body = caldav_body(radicale, url=radicale.calendar_url("bob"))
    mine = alice_api.post("calendars", body).data["id"]

    answer = alice_api.post(f"calendars/{mine}/test")

    assert answer.data["ok"] is False
    assert "refused access (HTTP 403)" in answer.data["message"]
