"""The API operations added so that every web page has one: the outbox, the enrollment
dry run, a person's enrollments and lists, and testing a mailbox before connecting it.
Each is tried at every access level that applies."""

from __future__ import annotations

from typing import Any

import pytest

from sequencer.clock import system_clock
from sequencer.mail.models import Mailbox
from sequencer.sequences import access, enrollment
from sequencer.sequences.models import Enrollment
from sequencer.workspace import services
from sequencer.workspace.models import Role, TokenScope
from tests.conftest import ApiClient
from tests.integration.web.test_sequence_settings_tab import mailbox_of
from tests.peers.fixtures import ALICE

from .conftest import make_person

pytestmark = pytest.mark.django_db

LEVELS = ["no_access", "read_only", "read_write", "full_access", "admin"]


@pytest.fixture
def member_at(make_member):
    """A member whose level on ``sequence`` is ``level`` (or a workspace admin)."""

    def make(sequence: Any, level: str) -> Any:
        if level == "admin":
            return make_member(role=Role.ADMIN)
        member = make_member()
        listing = access.access_list(sequence)
        members = [(i, lv.slug) for i, lv in listing.members]
        if level != "no_access":
            members.append((member.pk, level))
        access.set_access(sequence, workspace_access="no_access", members=members, teams=[])
        return member

    return make


def _read_only(user: Any) -> ApiClient:
    _, raw = services.create_token(user, "report", TokenScope.READ_ONLY)
    return ApiClient(raw)


# -- the outbox --------------------------------------------------------------------------


def test_the_outbox_lists_each_waiting_email_with_when_and_why(api, admin, publish):
    sequence = publish()
    box = mailbox_of(admin, "ada@mail.test")
    ada = make_person("Ada", "ada@initech.test")
    enrollment.enroll(
        admin, sequence.pk, [enrollment.Recipient(ada.pk)], mailbox_id=box.pk, clock=system_clock
    )

    answer = api.get("outbox")

    assert answer.status_code == 200, answer.data
    [queue] = answer.data
    assert (queue["mailbox_id"], queue["mailbox_email"], queue["queued"]) == (
        box.pk,
        "ada@mail.test",
        1,
    )
    [email] = queue["emails"]
    assert (email["to"], email["person_id"], email["step"]) == ("ada@initech.test", ada.pk, 0)
    assert email["kind"] and email["reason"] and email["goes_out_at"].endswith("Z")


def test_a_member_sees_only_their_own_mailboxes_and_an_admin_sees_all(admin, make_member, api_as):
    mia = make_member()
    mailbox_of(admin, "admin@mail.test")
    own = mailbox_of(mia, "mia@mail.test")

    as_member = api_as(mia).get("outbox")
    as_admin = api_as(admin).get("outbox")
    someone_elses = api_as(mia).get(f"outbox?mailbox_id={own.pk + 100}")
    admins_box = Mailbox.objects.get(email="admin@mail.test")
    hidden = api_as(mia).get(f"outbox?mailbox_id={admins_box.pk}")

    assert [q["mailbox_email"] for q in as_member.data] == ["mia@mail.test"]
    assert {q["mailbox_email"] for q in as_admin.data} == {"admin@mail.test", "mia@mail.test"}
    assert someone_elses.status_code == 404 and hidden.status_code == 404


def test_the_outbox_is_readable_with_a_read_only_token_and_not_without_a_token(
    admin, anonymous_api
):
    mailbox_of(admin, "admin@mail.test")

    assert _read_only(admin).get("outbox").status_code == 200
    assert anonymous_api.get("outbox").status_code == 401


# -- the enrollment dry run --------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_the_dry_run_answers_each_access_level_as_enrolling_does(
    admin, publish, member_at, api_as, level
):
    sequence = publish()
    member = member_at(sequence, level)
    box = mailbox_of(member, f"{level}@mail.test")
    ada = make_person("Ada", "ada@initech.test")
    body = {"sender": {"mailbox_id": box.pk}, "recipients": [{"person_id": ada.pk}]}

    answer = api_as(member).post(f"sequences/{sequence.pk}/enrollments/check", body)

    expected = {"no_access": 404, "read_only": 403}.get(level, 200)
    assert answer.status_code == expected, answer.data
    if expected == 200:
        assert answer.data["results"] == [
            {
                "person_id": ada.pk,
                "status": "would_enroll",
                "email": "ada@initech.test",
                "reason": None,
            }
        ]
    assert not Enrollment.objects.exists()


def test_the_dry_run_says_who_would_be_refused_and_why_in_request_order(api, admin, publish):
    sequence = publish()
    box = mailbox_of(admin, "admin@mail.test")
    ada = make_person("Ada", "ada@initech.test")
    bob = make_person("Bob", "bob@initech.test")
    enrollment.enroll(
        admin, sequence.pk, [enrollment.Recipient(bob.pk)], mailbox_id=box.pk, clock=system_clock
    )

    answer = _read_only(admin).post(
        f"sequences/{sequence.pk}/enrollments/check",
        {
            "sender": {"mailbox_id": box.pk},
            "recipients": [{"person_id": bob.pk}, {"person_id": ada.pk}],
        },
    )

    assert answer.status_code == 200, answer.data
    refused, fine = answer.data["results"]
    assert refused["person_id"] == bob.pk and refused["status"] == "refused"
    assert refused["reason"]["code"] == "already_enrolled"
    assert fine["status"] == "would_enroll"
    assert Enrollment.objects.count() == 1


# -- a person's enrollments and lists ----------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_a_persons_enrollments_show_only_the_sequences_the_caller_sees(
    admin, publish, member_at, api_as, level
):
    sequence = publish()
    member = member_at(sequence, level)
    box = mailbox_of(admin, "admin@mail.test")
    ada = make_person("Ada", "ada@initech.test")
    enrollment.enroll(
        admin, sequence.pk, [enrollment.Recipient(ada.pk)], mailbox_id=box.pk, clock=system_clock
    )

    answer = api_as(member).get(f"people/{ada.pk}/enrollments")

    assert answer.status_code == 200
    expected = 0 if level == "no_access" else 1
    assert answer.data["count"] == expected and len(answer.data["items"]) == expected
    if expected:
        assert answer.data["items"][0]["sequence_id"] == sequence.pk


def test_the_enrollments_of_a_person_who_does_not_exist_are_a_404(api):
    assert api.get("people/999999/enrollments").status_code == 404


def test_the_lists_a_person_is_in(api):
    ada = api.post("people", {"email_addresses": ["ada@example.com"]}).data
    bob = api.post("people", {"email_addresses": ["bob@example.com"]}).data
    vip = api.post("lists", {"name": "VIP"}).data
    api.post("lists", {"name": "Other"})
    api.post(f"lists/{vip['id']}/entries", {"person_id": ada["id"]})
    api.post(f"lists/{vip['id']}/entries", {"person_id": bob["id"]})

    answer = api.get(f"lists?person_id={ada['id']}")

    assert [(li["name"], li["entry_count"]) for li in answer.data["items"]] == [("VIP", 2)]
    assert answer.data["count"] == 1


# -- testing a mailbox before connecting it ----------------------------------------------


def _new_mailbox(host: str, port: int) -> dict[str, Any]:
    return {
        "provider": "smtp_imap",
        "email": ALICE,
        "smtp": {
            "host": host,
            "port": port,
            "security": "none",
            "username": "alice",
            "password": "secret",
        },
    }


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_a_mailbox_is_tested_before_connecting_and_nothing_is_saved(
    admin, make_member, api_as, smtp_server, role
):
    someone = admin if role == Role.ADMIN else make_member()

    answer = api_as(someone).post(
        "mailboxes/test", _new_mailbox(smtp_server.host, smtp_server.port)
    )

    assert answer.status_code == 200, answer.data
    assert answer.data["smtp"]["ok"] is True
    assert not Mailbox.objects.exists()


def test_a_failing_test_before_connecting_says_why(api, closed_port):
    answer = api.post("mailboxes/test", _new_mailbox("127.0.0.1", closed_port))

    assert answer.status_code == 200
    assert answer.data["smtp"]["ok"] is False and answer.data["smtp"]["message"]


def test_testing_a_new_mailbox_needs_a_read_and_write_token(admin, anonymous_api, closed_port):
    body = _new_mailbox("127.0.0.1", closed_port)

    refused = _read_only(admin).post("mailboxes/test", body)

    assert refused.status_code == 403 and refused.data["error"]["code"] == "read_only_token"
    assert anonymous_api.post("mailboxes/test", body).status_code == 401


def test_a_bad_new_mailbox_is_refused_naming_the_field(api):
    answer = api.post("mailboxes/test", {"provider": "smtp_imap", "email": "nope"})

    assert answer.status_code == 400 and answer.data["error"]["field"]
