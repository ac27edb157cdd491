"""Delegated sending through the API: turning it on, inviting, accepting, listing."""

from __future__ import annotations

import pytest

from sequencer.mail import mailboxes
from sequencer.sequences.models import DelegatedSender
from tests.integration.delegation.helpers import put, set_level

pytestmark = pytest.mark.django_db


@pytest.fixture
def mia(make_member):
    return make_member("mia@acme.test", name="Mia Member")


@pytest.fixture
def tom(make_member):
    return make_member("tom@acme.test", name="Tom Teammate")


@pytest.fixture
def mia_api(mia, api_as):
    return api_as(mia)


@pytest.fixture
def tom_api(tom, api_as):
    return api_as(tom)


@pytest.fixture
def sequence(make_sequence):
    """Visible to the whole workspace with read and write access."""
    return make_sequence()


def _me(sequence):
    return f"sequences/{sequence.pk}/delegation/me"


def _invite(client, sequence, member):
    return client.post(f"sequences/{sequence.pk}/delegation/invitations", {"member_id": member.pk})


# --- Turning it on for oneself ---------------------------------------------------------


def test_a_member_turns_on_delegated_sending_from_their_default_mailbox(
    mia, mia_api, sequence, make_mailbox
):
    default = make_mailbox(mia, "mia@mail.test", default=True)

    response = put(mia_api, _me(sequence), {"enabled": True, "mailbox_id": None})

    assert response.status_code == 200, response.data
    assert response.data == {
        "member_id": mia.pk,
        "name": "Mia Member",
        "email": "mia@acme.test",
        "mailbox_id": None,
        "mailbox_email": default.email,
        "status": "active",
        "invited_by": None,
        "has_access": True,
    }
    row = DelegatedSender.objects.get(sequence=sequence, member=mia)
    assert row.accepted_at is not None
    assert row.mailbox is None
    assert row.invited_by is None


def test_a_member_can_fix_the_mailbox_a_sequence_sends_from(mia, mia_api, sequence, make_mailbox):
    make_mailbox(mia, "mia@mail.test", default=True)
    sales = make_mailbox(mia, "mia@sales.test")

    response = put(mia_api, _me(sequence), {"enabled": True, "mailbox_id": sales.pk})

    assert response.status_code == 200, response.data
    assert response.data["mailbox_id"] == sales.pk
    assert response.data["mailbox_email"] == "mia@sales.test"
    assert DelegatedSender.objects.get(sequence=sequence, member=mia).mailbox == sales


def test_the_fixed_mailbox_can_be_changed_back_to_the_default_later(
    mia, mia_api, sequence, make_mailbox
):
    make_mailbox(mia, "mia@mail.test", default=True)
    sales = make_mailbox(mia, "mia@sales.test")
    put(mia_api, _me(sequence), {"enabled": True, "mailbox_id": sales.pk})

    response = put(mia_api, _me(sequence), {"enabled": True, "mailbox_id": None})

    assert response.status_code == 200, response.data
    assert response.data["mailbox_id"] is None
    assert response.data["mailbox_email"] == "mia@mail.test"
    assert DelegatedSender.objects.filter(sequence=sequence, member=mia).count() == 1


def test_a_fixed_mailbox_must_be_one_of_the_members_own(mia, tom, mia_api, sequence, make_mailbox):
    make_mailbox(mia, default=True)
    toms = make_mailbox(tom, default=True)

    response = put(mia_api, _me(sequence), {"enabled": True, "mailbox_id": toms.pk})

    assert response.status_code == 400
    assert response.data["error"]["field"] == "mailbox_id"
    assert "not one of your mailboxes" in response.data["error"]["message"]
    assert not DelegatedSender.objects.filter(sequence=sequence).exists()


def test_a_member_without_any_mailbox_is_asked_to_connect_one_first(mia_api, sequence):
    response = put(mia_api, _me(sequence), {"enabled": True})

    assert response.status_code == 400
    assert response.data["error"]["code"] == "no_mailbox"
    assert response.data["error"]["field"] == "mailbox_id"
    assert "connect a mailbox" in response.data["error"]["message"]


def test_read_only_access_is_enough_to_turn_it_on_for_oneself(
    mia, mia_api, make_sequence, make_mailbox
):
    make_mailbox(mia, default=True)
    sequence = make_sequence(workspace_access="no_access", grants={mia: "read_only"})

    response = put(mia_api, _me(sequence), {"enabled": True})

    assert response.status_code == 200, response.data
    assert response.data["status"] == "active"


def test_turning_it_off_removes_the_member_from_the_list(mia, mia_api, sequence, make_mailbox):
    make_mailbox(mia, default=True)
    put(mia_api, _me(sequence), {"enabled": True})

    response = put(mia_api, _me(sequence), {"enabled": False})

    assert response.status_code == 204
    assert not DelegatedSender.objects.filter(sequence=sequence, member=mia).exists()
    assert mia_api.get(f"sequences/{sequence.pk}/delegation").data == []


def test_the_request_body_is_checked_strictly(mia_api, sequence):
    not_a_boolean = put(mia_api, _me(sequence), {"enabled": "yes"})
    misspelt = put(mia_api, _me(sequence), {"enabled": True, "mailbox": 3})

    assert not_a_boolean.status_code == 400
    assert not_a_boolean.data["error"]["field"] == "enabled"
    assert misspelt.status_code == 400
    assert misspelt.data["error"]["field"] == "mailbox"


# --- Inviting a teammate ---------------------------------------------------------------


def test_a_member_who_can_edit_the_sequence_invites_a_teammate(
    mia, tom, mia_api, tom_api, sequence
):
    response = _invite(mia_api, sequence, tom)

    assert response.status_code == 201, response.data
    assert response.data["member_id"] == tom.pk
    assert response.data["status"] == "invited"
    assert response.data["invited_by"] == mia.pk
    row = DelegatedSender.objects.get(sequence=sequence, member=tom)
    assert row.accepted_at is None
    assert row.invited_by == mia

    waiting = tom_api.get("delegation/invitations")
    assert waiting.status_code == 200
    assert [(i["id"], i["sequence_id"], i["invited_by"]) for i in waiting.data] == [
        (row.pk, sequence.pk, mia.pk)
    ]
    assert waiting.data[0]["sequence_name"] == "Demo follow-up"
    assert waiting.data[0]["invited_by_name"] == "Mia Member"
    assert mia_api.get("delegation/invitations").data == []


def test_a_read_only_member_cannot_invite(mia, tom, mia_api, make_sequence):
    sequence = make_sequence(workspace_access="read_only")

    response = _invite(mia_api, sequence, tom)

    assert response.status_code == 403
    assert response.data["error"]["code"] == "forbidden"
    assert not DelegatedSender.objects.exists()


def test_a_member_without_access_to_the_sequence_cannot_be_invited(
    mia, tom, mia_api, make_sequence
):
    sequence = make_sequence(workspace_access="no_access", grants={mia: "read_write"})

    response = _invite(mia_api, sequence, tom)

    assert response.status_code == 400
    assert response.data["error"]["field"] == "member_id"
    assert response.data["error"]["code"] == "no_access"
    assert "give them access first" in response.data["error"]["message"]
    assert not DelegatedSender.objects.exists()


def test_inviting_yourself_an_unknown_member_or_someone_twice_is_refused(
    mia, tom, mia_api, sequence
):
    assert _invite(mia_api, sequence, tom).status_code == 201

    yourself = _invite(mia_api, sequence, mia)
    twice = _invite(mia_api, sequence, tom)
    unknown = mia_api.post(
        f"sequences/{sequence.pk}/delegation/invitations", {"member_id": 999_999}
    )

    assert (yourself.status_code, yourself.data["error"]["code"]) == (400, "is_you")
    assert (twice.status_code, twice.data["error"]["code"]) == (400, "duplicate")
    assert (unknown.status_code, unknown.data["error"]["code"]) == (400, "not_found")
    assert {r.data["error"]["field"] for r in (yourself, twice, unknown)} == {"member_id"}


def test_the_invited_member_accepts_and_becomes_an_active_delegate(
    mia, tom, mia_api, tom_api, sequence, make_mailbox
):
    make_mailbox(tom, "tom@mail.test", default=True)
    sales = make_mailbox(tom, "tom@sales.test")
    _invite(mia_api, sequence, tom)
    invitation = tom_api.get("delegation/invitations").data[0]

    response = tom_api.post(
        f"delegation/invitations/{invitation['id']}/accept", {"mailbox_id": sales.pk}
    )

    assert response.status_code == 200, response.data
    assert response.data["status"] == "active"
    assert response.data["mailbox_email"] == "tom@sales.test"
    assert response.data["invited_by"] == mia.pk
    row = DelegatedSender.objects.get(sequence=sequence, member=tom)
    assert row.accepted_at is not None
    assert tom_api.get("delegation/invitations").data == []


def test_accepting_without_choosing_a_mailbox_sends_from_the_default_one(
    mia_api, tom, tom_api, sequence, make_mailbox
):
    make_mailbox(tom, "tom@mail.test", default=True)
    _invite(mia_api, sequence, tom)
    invitation = tom_api.get("delegation/invitations").data[0]

    response = tom_api.post(f"delegation/invitations/{invitation['id']}/accept", {})

    assert response.status_code == 200, response.data
    assert response.data["mailbox_id"] is None
    assert response.data["mailbox_email"] == "tom@mail.test"


def test_turning_it_on_oneself_also_accepts_a_pending_invitation(
    mia, mia_api, tom, tom_api, sequence, make_mailbox
):
    make_mailbox(tom, default=True)
    _invite(mia_api, sequence, tom)

    response = tom_api.post(_me(sequence), {"enabled": True, "mailbox_id": None})

    assert response.status_code == 200, response.data
    assert response.data["status"] == "active"
    assert response.data["invited_by"] == mia.pk
    assert DelegatedSender.objects.get(sequence=sequence, member=tom).accepted_at is not None


def test_only_the_invited_member_can_accept_or_decline(
    admin, api, mia_api, tom, sequence, make_mailbox
):
    make_mailbox(admin, default=True)
    _invite(mia_api, sequence, tom)
    row = DelegatedSender.objects.get(sequence=sequence, member=tom)

    by_inviter = mia_api.post(f"delegation/invitations/{row.pk}/accept")
    by_admin = api.post(f"delegation/invitations/{row.pk}/accept")
    declined_by_admin = api.post(f"delegation/invitations/{row.pk}/decline")

    assert [r.status_code for r in (by_inviter, by_admin, declined_by_admin)] == [404, 404, 404]
    row.refresh_from_db()
    assert row.accepted_at is None


def test_a_declined_invitation_is_gone_and_cannot_be_accepted(
    mia_api, tom, tom_api, sequence, make_mailbox
):
    make_mailbox(tom, default=True)
    _invite(mia_api, sequence, tom)
    row = DelegatedSender.objects.get(sequence=sequence, member=tom)

    declined = tom_api.post(f"delegation/invitations/{row.pk}/decline")
    accepted = tom_api.post(f"delegation/invitations/{row.pk}/accept")

    assert declined.status_code == 204
    assert accepted.status_code == 404
    assert not DelegatedSender.objects.filter(sequence=sequence, member=tom).exists()


def test_an_invitee_who_lost_access_no_longer_sees_or_can_accept_the_invitation(
    mia, tom, mia_api, tom_api, make_sequence, make_mailbox
):
    make_mailbox(tom, default=True)
    sequence = make_sequence(
        workspace_access="no_access", grants={mia: "read_write", tom: "read_only"}
    )
    _invite(mia_api, sequence, tom)
    row = DelegatedSender.objects.get(sequence=sequence, member=tom)
    set_level(sequence, tom, "no_access")

    assert tom_api.get("delegation/invitations").data == []
    assert tom_api.post(f"delegation/invitations/{row.pk}/accept").status_code == 404
    row.refresh_from_db()
    assert row.accepted_at is None


# --- Listing ---------------------------------------------------------------------------


def test_the_list_shows_each_delegate_and_the_mailbox_that_would_send_now(
    admin, mia, tom, mia_api, tom_api, make_member, api_as, make_sequence, make_mailbox
):
    reader = make_member("rita@acme.test", name="Rita Reader")
    sequence = make_sequence(workspace_access="read_only", grants={mia: "read_write"})
    mias_default = make_mailbox(mia, "mia@mail.test", default=True)
    make_mailbox(tom, "tom@mail.test", default=True)
    toms_sales = make_mailbox(tom, "tom@sales.test")
    put(mia_api, _me(sequence), {"enabled": True})
    put(tom_api, _me(sequence), {"enabled": True, "mailbox_id": toms_sales.pk})
    _invite(mia_api, sequence, reader)

    response = api_as(reader).get(f"sequences/{sequence.pk}/delegation")

    assert response.status_code == 200
    assert [
        (d["email"], d["mailbox_id"], d["mailbox_email"], d["status"], d["invited_by"])
        for d in response.data
    ] == [
        ("mia@acme.test", None, "mia@mail.test", "active", None),
        ("tom@acme.test", toms_sales.pk, "tom@sales.test", "active", None),
        ("rita@acme.test", None, None, "invited", mia.pk),
    ]

    # A delegate sending from "my default" follows the default as it changes.
    newer = make_mailbox(mia, "mia@new.test")
    mailboxes.update_mailbox(mia, newer, mailboxes.MailboxChanges(is_default=True))
    assert mias_default.pk != newer.pk
    listed = {d["email"]: d for d in api_as(reader).get(f"sequences/{sequence.pk}/delegation").data}
    assert listed["mia@acme.test"]["mailbox_email"] == "mia@new.test"


def test_the_list_tells_which_delegates_lost_access(mia, mia_api, api, make_sequence, make_mailbox):
    make_mailbox(mia, default=True)
    sequence = make_sequence(workspace_access="no_access", grants={mia: "read_only"})
    put(mia_api, _me(sequence), {"enabled": True})
    set_level(sequence, mia, "no_access")

    listed = api.get(f"sequences/{sequence.pk}/delegation").data

    assert [(d["member_id"], d["status"], d["has_access"]) for d in listed] == [
        (mia.pk, "active", False)
    ]


# --- Sequences the caller cannot see -------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, s, m: c.get(f"sequences/{s}/delegation"),
        lambda c, s, m: put(c, f"sequences/{s}/delegation/me", {"enabled": True}),
        lambda c, s, m: put(c, f"sequences/{s}/delegation/me", {"enabled": False}),
        lambda c, s, m: c.post(f"sequences/{s}/delegation/me", {"enabled": True}),
        lambda c, s, m: c.post(f"sequences/{s}/delegation/invitations", {"member_id": m}),
    ],
    ids=["list", "enable", "disable", "enable with POST", "invite"],
)
def test_a_sequence_the_caller_cannot_see_answers_404(
    call, mia, mia_api, admin, make_sequence, make_mailbox
):
    make_mailbox(mia, default=True)
    hidden = make_sequence(workspace_access="no_access")

    for sequence_id in (hidden.pk, 999_999):
        response = call(mia_api, sequence_id, admin.pk)
        assert response.status_code == 404, response.data
        assert response.data["error"]["code"] == "not_found"
    assert not DelegatedSender.objects.exists()


def test_an_invitation_notifies_the_invitee_and_nobody_else(mia, tom, mia_api, tom_api, sequence):
    assert tom_api.get("notifications").data == []

    _invite(mia_api, sequence, tom)

    [notice] = tom_api.get("notifications?unread=true").data
    assert notice["kind"] == "delegation_invited"
    assert "Mia Member invited you" in notice["message"]
    assert "“Demo follow-up”" in notice["message"]
    assert notice["read_at"] is None
    assert mia_api.get("notifications").data == []


def test_a_refused_invitation_notifies_nobody(mia, tom, mia_api, tom_api, make_sequence):
    sequence = make_sequence(workspace_access="read_only")
    assert _invite(mia_api, sequence, tom).status_code == 403
    assert tom_api.get("notifications").data == []
