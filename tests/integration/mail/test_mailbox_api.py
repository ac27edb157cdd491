"""The mailbox API, end to end: JSON in, JSON out, with the connection test against the
real SMTP and IMAP peers."""

import json

import pytest

from sequencer.mail import mailboxes
from sequencer.mail.models import Mailbox
from tests.peers.fixtures import DOVECOT_USERS

pytestmark = pytest.mark.django_db

ALICE = "alice@example.test"


def body(smtp_server, dovecot=None, **overrides):
    data = {
        "provider": "smtp_imap",
        "email": ALICE,
        "display_name": "Alice",
        "smtp": {
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "username": "alice",
            "password": "secret",
        },
        "is_default": True,
    }
    if dovecot is not None:
        data["imap"] = {
            "host": dovecot.host,
            "port": dovecot.imap_port,
            "security": "none",
            "username": ALICE,
            "password": DOVECOT_USERS[ALICE],
        }
    return {**data, **overrides}


def simple(**overrides):
    data = {
        "email": ALICE,
        "smtp": {"host": "smtp.example.test", "port": 587, "security": "starttls"},
    }
    return {**data, **overrides}


@pytest.fixture
def member(make_member):
    return make_member("mia@acme.test")


@pytest.fixture
def member_api(member, api_as):
    return api_as(member)


def test_creating_a_mailbox_answers_201_with_its_settings_but_no_secret(api, smtp_server, dovecot):
    response = api.post("mailboxes", body(smtp_server, dovecot))
    assert response.status_code == 201, response.data
    data = response.data
    assert isinstance(data["id"], int)
    assert data["provider"] == "smtp_imap"
    assert data["email"] == ALICE
    assert data["display_name"] == "Alice"
    assert data["is_default"] is True
    assert data["smtp"] == {
        "host": smtp_server.host,
        "port": smtp_server.port,
        "security": "none",
        "username": "alice",
        "auth": "password",
    }
    assert data["imap"]["port"] == dovecot.imap_port
    assert data["limits"] == {"per_hour": 12, "per_day": 200, "min_spacing_seconds": 300}
    assert data["status"] == "active"
    assert data["sent_folder"] == "Sent"
    assert data["replies_detectable"] is True
    assert data["oauth"] is None
    assert "secret" not in json.dumps(data)
    assert '"password":' not in json.dumps(data)


def test_imap_and_credentials_are_optional(api):
    response = api.post("mailboxes", simple())
    assert response.status_code == 201
    assert response.data["smtp"]["auth"] == "none"
    assert response.data["imap"] is None
    assert response.data["replies_detectable"] is False
    assert "replies" in response.data["warnings"][0]


def test_imap_without_credentials_reuses_the_smtp_ones(api):
    response = api.post(
        "mailboxes",
        simple(
            smtp={"host": "mail.example.test", "port": 465, "username": "al", "password": "pw"},
            imap={"host": "mail.example.test"},
        ),
    )
    assert response.data["smtp"]["security"] == "tls"
    assert response.data["imap"] == {
        "host": "mail.example.test",
        "port": 993,
        "security": "tls",
        "username": "al",
        "auth": "password",
    }


def test_oauth_tokens_are_accepted_instead_of_a_password_and_never_returned(api):
    response = api.post(
        "mailboxes",
        simple(
            oauth={
                "access_token": "ya29.secret-access",
                "refresh_token": "1//secret-refresh",
                "expires_at": "2026-03-06T17:30:00Z",
            }
        ),
    )
    assert response.status_code == 201
    assert response.data["smtp"]["auth"] == "oauth2"
    assert response.data["oauth"]["expires_at"].startswith("2026-03-06T17:30:00")
    assert "secret" not in json.dumps(response.data)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"smtp": {"host": "smtp.example.test", "port": 70000}}, "smtp.port"),
        ({"smtp": {"host": "smtp.example.test", "port": "abc"}}, "smtp.port"),
        ({"smtp": {"host": "smtp.example.test", "security": "ssl"}}, "smtp.security"),
        ({"smtp": {"host": "https://smtp.example.test/"}}, "smtp.host"),
        ({"smtp": {"port": 587}}, "smtp.host"),
        ({"smtp": None}, "smtp"),
        ({"imap": {"host": "imap.example.test", "security": "tls1.3"}}, "imap.security"),
        ({"provider": "yahoo"}, "provider"),
        ({"provider": "gmail"}, "oauth"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(api, overrides, field):
    response = api.post("mailboxes", simple(**overrides))
    assert response.status_code == 400
    assert response.data["error"]["field"] == field
    assert response.data["error"]["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"smtp": {"host": "smtp.example.test", "prot": 25}}, "smtp.prot"),
        ({"imap": {"host": "imap.example.test", "passwd": "x"}}, "imap.passwd"),
        ({"oauth": {"access_token": "t", "scope": "mail"}}, "oauth.scope"),
        ({"emails": ALICE}, "emails"),
    ],
)
def test_an_unknown_field_is_refused_naming_it_and_nothing_is_created(api, overrides, field):
    response = api.post("mailboxes", simple(**overrides))
    assert response.status_code == 400, response.data
    assert response.data["error"]["field"] == field
    assert "not a known field" in response.data["error"]["message"]
    assert not Mailbox.objects.exists()


def test_a_misspelt_port_next_to_an_unknown_top_level_field_is_refused(api):
    response = api.post(
        "mailboxes",
        simple(smtp={"host": "smtp.example.test", "prot": 25}, colour="blue"),
    )
    assert response.status_code == 400
    assert response.data["error"]["field"] in {"smtp.prot", "colour"}
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize(
    "change",
    [{"limits": {"per_hour": 20, "per_week": 5}}, {"smtp": {"prot": 25}}, {"colour": "blue"}],
)
def test_a_patch_with_an_unknown_field_changes_nothing(api, change):
    created = api.post("mailboxes", simple()).data
    response = api.patch(f"mailboxes/{created['id']}", {"display_name": "New", **change})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid"
    assert Mailbox.objects.get(pk=created["id"]).display_name == ""


def test_the_same_address_cannot_be_connected_twice_by_one_member(api):
    assert api.post("mailboxes", simple()).status_code == 201
    response = api.post("mailboxes", simple(email="ALICE@example.test"))
    assert response.status_code == 400
    assert response.data["error"]["code"] == "duplicate"


def test_the_first_mailbox_is_the_default_and_a_new_default_replaces_it(api):
    first = api.post("mailboxes", simple()).data
    second = api.post("mailboxes", simple(email="sales@example.test")).data
    assert first["is_default"] is True
    assert second["is_default"] is False
    api.patch(f"mailboxes/{second['id']}", {"is_default": True})
    listed = {m["email"]: m["is_default"] for m in api.get("mailboxes").data}
    assert listed == {ALICE: False, "sales@example.test": True}


def test_deleting_the_default_makes_the_next_one_default(api):
    first = api.post("mailboxes", simple()).data
    second = api.post("mailboxes", simple(email="sales@example.test")).data
    assert api.delete(f"mailboxes/{first['id']}").status_code == 204
    assert api.get(f"mailboxes/{second['id']}").data["is_default"] is True
    assert api.get(f"mailboxes/{first['id']}").status_code == 404


def test_members_list_only_their_own_mailboxes(api, member_api):
    api.post("mailboxes", simple(email="admin-box@example.test"))
    member_api.post("mailboxes", simple())
    assert [m["email"] for m in member_api.get("mailboxes").data] == [ALICE]
    assert [m["email"] for m in api.get("mailboxes").data] == ["admin-box@example.test"]


def test_admins_may_list_another_members_mailboxes_and_members_may_not(
    api, admin, member, member_api
):
    member_api.post("mailboxes", simple())
    listed = api.get(f"mailboxes?owner_id={member.pk}").data
    assert [(m["email"], m["owner_id"]) for m in listed] == [(ALICE, member.pk)]
    refused = member_api.get(f"mailboxes?owner_id={admin.pk}")
    assert refused.status_code == 403
    assert member_api.get(f"mailboxes?owner_id={member.pk}").status_code == 200


def test_another_members_mailbox_is_not_found(member_api, make_member, api_as):
    created = member_api.post("mailboxes", simple()).data
    other = api_as(make_member("otto@acme.test"))
    for response in (
        other.get(f"mailboxes/{created['id']}"),
        other.patch(f"mailboxes/{created['id']}", {"display_name": "Mine now"}),
        other.delete(f"mailboxes/{created['id']}"),
        other.post(f"mailboxes/{created['id']}/test"),
        other.get(f"mailboxes/{created['id']}/signatures"),
    ):
        assert response.status_code == 404
        assert response.data["error"]["code"] == "not_found"
    assert Mailbox.objects.filter(pk=created["id"]).exists()


def test_patch_changes_settings_and_keeps_the_password_unless_given(api):
    created = api.post(
        "mailboxes", simple(smtp={"host": "smtp.example.test", "username": "al", "password": "pw"})
    ).data
    response = api.patch(
        f"mailboxes/{created['id']}",
        {"display_name": "Alice A.", "smtp": {"username": "alice"}},
    )
    assert response.status_code == 200
    assert response.data["display_name"] == "Alice A."
    assert response.data["smtp"]["username"] == "alice"
    assert response.data["smtp"]["auth"] == "password"
    assert Mailbox.objects.get(pk=created["id"]).smtp_password == "pw"
    cleared = api.patch(f"mailboxes/{created['id']}", {"smtp": {"password": None}})
    assert cleared.data["smtp"]["auth"] == "none"


class TestASavedSecretOnlyGoesWhereItWasGiven:
    """Security finding 6: an admin (or anyone who may edit a mailbox) must not be able
    to point it at their own listener and read the saved password or token from the
    connection test."""

    @pytest.fixture
    def members_mailbox(self, member_api):
        smtp = {"host": "smtp.example.test", "port": 587, "username": "mia", "password": "pw"}
        imap = {"host": "imap.example.test", "username": "mia", "password": "imap-pw"}
        return member_api.post("mailboxes", simple(smtp=smtp, imap=imap)).data

    @pytest.mark.parametrize(
        "change",
        [{"host": "listener.evil.test"}, {"port": 2525}, {"security": "none"}],
        ids=["host", "port", "security"],
    )
    @pytest.mark.parametrize("kind", ["smtp", "imap"])
    def test_changing_where_a_server_is_needs_its_password_again(
        self, api, members_mailbox, kind, change
    ):
        response = api.patch(f"mailboxes/{members_mailbox['id']}", {kind: change})
        assert response.status_code == 400, response.data
        assert response.data["error"]["field"] == f"{kind}.password"
        assert "password" in response.data["error"]["message"]
        saved = Mailbox.objects.get(pk=members_mailbox["id"])
        assert getattr(saved, f"{kind}_host") == members_mailbox[kind]["host"]
        assert getattr(saved, f"{kind}_port") == members_mailbox[kind]["port"]

    def test_with_the_password_given_again_the_server_changes(self, api, members_mailbox):
        response = api.patch(
            f"mailboxes/{members_mailbox['id']}",
            {"smtp": {"host": "smtp2.example.test", "password": "new-pw"}},
        )
        assert response.status_code == 200
        assert response.data["smtp"]["host"] == "smtp2.example.test"
        assert Mailbox.objects.get(pk=members_mailbox["id"]).smtp_password == "new-pw"

    def test_adding_imap_does_not_copy_the_smtp_password_to_it(self, api, member_api):
        smtp = {"host": "smtp.example.test", "username": "mia", "password": "pw"}
        created = member_api.post("mailboxes", simple(smtp=smtp)).data
        response = api.patch(f"mailboxes/{created['id']}", {"imap": {"host": "evil.test"}})
        assert response.status_code == 400
        assert response.data["error"]["field"] == "imap.password"
        assert Mailbox.objects.get(pk=created["id"]).imap_host == ""

    def test_an_oauth_mailbox_needs_new_tokens_to_change_its_server(self, api):
        created = api.post("mailboxes", simple(oauth={"access_token": "ya29.secret"})).data
        moved = {"smtp": {"host": "listener.evil.test"}}
        response = api.patch(f"mailboxes/{created['id']}", moved)
        assert response.status_code == 400
        assert response.data["error"]["field"] == "oauth"
        again = api.patch(
            f"mailboxes/{created['id']}", {**moved, "oauth": {"access_token": "ya29.new"}}
        )
        assert again.status_code == 200


def test_patch_adds_and_removes_imap(api):
    created = api.post("mailboxes", simple()).data
    added = api.patch(
        f"mailboxes/{created['id']}", {"imap": {"host": "imap.example.test", "port": 143}}
    )
    assert added.data["imap"]["security"] == "starttls"
    removed = api.patch(f"mailboxes/{created['id']}", {"imap": None})
    assert removed.data["imap"] is None


def test_patch_validation_names_the_nested_field(api):
    created = api.post("mailboxes", simple()).data
    response = api.patch(f"mailboxes/{created['id']}", {"smtp": {"port": 0}})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "smtp.port"


def test_a_member_cannot_change_limits(member_api):
    created = member_api.post("mailboxes", simple()).data
    response = member_api.patch(f"mailboxes/{created['id']}", {"limits": {"per_hour": 100}})
    assert response.status_code == 403
    assert "admin" in response.data["error"]["message"]
    assert Mailbox.objects.get(pk=created["id"]).per_hour == 12


def test_an_admin_can_change_a_members_limits(api, member_api):
    created = member_api.post("mailboxes", simple()).data
    response = api.patch(
        f"mailboxes/{created['id']}",
        {"limits": {"per_hour": 20, "per_day": 150, "min_spacing_seconds": 60}},
    )
    assert response.status_code == 200
    assert response.data["limits"] == {"per_hour": 20, "per_day": 150, "min_spacing_seconds": 60}
    assert member_api.get(f"mailboxes/{created['id']}").data["limits"]["per_day"] == 150


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"per_hour": 0}, "limits.per_hour"),
        ({"per_day": -1}, "limits.per_day"),
        ({"min_spacing_seconds": 100_000}, "limits.min_spacing_seconds"),
        ({"per_hour": 300}, "limits.per_hour"),  # more than per_day (200)
    ],
)
def test_limits_out_of_range_are_refused(api, limits, field):
    created = api.post("mailboxes", simple()).data
    response = api.patch(f"mailboxes/{created['id']}", {"limits": limits})
    assert response.status_code == 400
    assert response.data["error"]["field"] == field


def test_an_owner_pauses_and_resumes_a_mailbox(api):
    created = api.post("mailboxes", simple()).data
    paused = api.patch(f"mailboxes/{created['id']}", {"status": "paused"}).data
    assert (paused["status"], paused["status_reason"]) == ("paused", "Paused by its owner.")
    assert api.patch(f"mailboxes/{created['id']}", {"status": "active"}).data["status"] == "active"
    refused = api.patch(f"mailboxes/{created['id']}", {"status": "disconnected"})
    assert refused.data["error"]["field"] == "status"


class TestConnectionTest:
    def test_success_reports_both_connections_ok(self, api, smtp_server, dovecot):
        created = api.post("mailboxes", body(smtp_server, dovecot)).data
        response = api.post(f"mailboxes/{created['id']}/test")
        assert response.status_code == 200
        assert response.data["smtp"]["ok"] is True
        assert response.data["smtp"]["message"] == (
            f"Connected to {smtp_server.host}:{smtp_server.port} without encryption; "
            "signed in as alice."
        )
        assert response.data["imap"]["ok"] is True
        assert "'Sent'" in response.data["imap"]["message"]
        assert response.data["sent_folder"] == "Sent"

    def test_a_wrong_smtp_password_says_authentication_was_rejected(self, api, smtp_server):
        smtp = {**body(smtp_server)["smtp"], "password": "wrong"}
        created = api.post("mailboxes", body(smtp_server, smtp=smtp)).data
        check = api.post(f"mailboxes/{created['id']}/test").data["smtp"]
        assert check["ok"] is False
        assert check["message"].startswith(
            "Authentication rejected (535 5.7.8 Authentication credentials invalid)"
        )

    def test_a_refused_port_says_connection_refused_at_host_and_port(self, api, closed_port):
        smtp = {"host": "127.0.0.1", "port": closed_port, "security": "none"}
        created = api.post("mailboxes", simple(smtp=smtp)).data
        check = api.post(f"mailboxes/{created['id']}/test").data["smtp"]
        assert check["ok"] is False
        assert check["message"].startswith(f"Connection refused at 127.0.0.1:{closed_port}")

    def test_a_silent_server_says_it_timed_out(self, api, silent_port, monkeypatch):
        monkeypatch.setattr(mailboxes, "CONNECTION_TEST_TIMEOUT", 0.3)
        smtp = {"host": "127.0.0.1", "port": silent_port, "security": "none"}
        created = api.post("mailboxes", simple(smtp=smtp)).data
        check = api.post(f"mailboxes/{created['id']}/test").data["smtp"]
        assert check == {
            "ok": False,
            "message": f"Timed out after 0.3 s waiting for the SMTP server 127.0.0.1:"
            f"{silent_port}. Check the host, the port and any firewall.",
        }

    def test_a_wrong_imap_password_says_imap_login_failed(self, api, smtp_server, dovecot):
        data = body(smtp_server, dovecot)
        data["imap"]["password"] = "wrong"
        created = api.post("mailboxes", data).data
        result = api.post(f"mailboxes/{created['id']}/test").data
        assert result["smtp"]["ok"] is True
        assert result["imap"]["ok"] is False
        assert result["imap"]["message"].startswith("IMAP login failed")

    def test_without_imap_the_answer_says_replies_cannot_be_detected(self, api, smtp_server):
        created = api.post("mailboxes", body(smtp_server)).data
        result = api.post(f"mailboxes/{created['id']}/test").data
        assert result["smtp"]["ok"] is True
        assert result["imap"] == {
            "ok": None,
            "message": "No IMAP server is configured: replies, bounces and auto-replies "
            "cannot be detected, and a send whose outcome is unknown cannot be checked.",
        }

    def test_a_discovered_sent_folder_is_remembered(self, api, smtp_server, dovecot):
        data = body(smtp_server, dovecot)
        data["imap"].update(username="carol@example.test", password="carolpass")
        created = api.post("mailboxes", data).data
        assert api.post(f"mailboxes/{created['id']}/test").data["sent_folder"] == "Sent Items"
        assert api.get(f"mailboxes/{created['id']}").data["sent_folder"] == "Sent Items"


class TestSignatures:
    def test_signatures_are_created_listed_changed_and_deleted(self, api):
        mailbox = api.post("mailboxes", simple()).data
        url = f"mailboxes/{mailbox['id']}/signatures"
        first = api.post(url, {"name": "Short", "body_html": "<p>Alice</p>"})
        assert first.status_code == 201
        assert first.data["is_default"] is True  # the first one
        second = api.post(url, {"name": "Long", "body_html": "<p>Alice, CEO</p>"}).data
        assert second["is_default"] is False
        changed = api.patch(f"{url}/{second['id']}", {"is_default": True, "name": "Formal"})
        assert (changed.data["name"], changed.data["is_default"]) == ("Formal", True)
        assert {s["name"]: s["is_default"] for s in api.get(url).data} == {
            "Formal": True,
            "Short": False,
        }
        assert api.delete(f"{url}/{second['id']}").status_code == 204
        assert api.get(f"{url}/{first.data['id']}").data["is_default"] is True
        assert api.get(f"{url}/{second['id']}").status_code == 404

    def test_signature_html_is_sanitised(self, api):
        mailbox = api.post("mailboxes", simple()).data
        created = api.post(
            f"mailboxes/{mailbox['id']}/signatures",
            {
                "name": "Sig",
                "body_html": '<p style="color: red; position: fixed" onclick="steal()">Alice'
                '<script>alert(1)</script> <a href="javascript:alert(1)">x</a>'
                '<img src="cid:logo"></p>',
            },
        ).data
        html = created["body_html"]
        assert "script" not in html and "onclick" not in html and "javascript" not in html
        assert "position" not in html
        assert 'style="color: red"' in html or 'style="color:red"' in html
        assert 'src="cid:logo"' in html

    def test_a_signature_needs_a_name(self, api):
        mailbox = api.post("mailboxes", simple()).data
        response = api.post(f"mailboxes/{mailbox['id']}/signatures", {"name": " "})
        assert response.status_code == 400
        assert response.data["error"]["field"] == "name"

    def test_a_signature_of_another_mailbox_is_not_found(self, api):
        one = api.post("mailboxes", simple()).data
        two = api.post("mailboxes", simple(email="b@example.test")).data
        sig = api.post(f"mailboxes/{one['id']}/signatures", {"name": "S"}).data
        assert api.get(f"mailboxes/{two['id']}/signatures/{sig['id']}").status_code == 404
