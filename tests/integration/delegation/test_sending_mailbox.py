"""``sending_mailbox``: the rule enrollment uses to decide which mailbox sends."""

from __future__ import annotations

import pytest

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.mail import mailboxes
from sequencer.sequences import delegation
from sequencer.sequences.delegation import sending_mailbox
from sequencer.workspace.models import User
from tests.integration.delegation.helpers import set_level

pytestmark = pytest.mark.django_db


@pytest.fixture
def enroller(make_member):
    return make_member("enzo@acme.test", name="Enzo Enroller")


@pytest.fixture
def tom(make_member):
    return make_member("tom@acme.test", name="Tom Teammate")


@pytest.fixture
def sequence(make_sequence):
    """Everyone may edit and enroll (the workspace default)."""
    return make_sequence()


def _refused(**kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        sending_mailbox(**kwargs)
    return caught.value


# --- One's own mailboxes ---------------------------------------------------------------


def test_one_of_your_own_mailboxes_sends_as_it_is(enroller, sequence, make_mailbox):
    make_mailbox(enroller, default=True)
    second = make_mailbox(enroller)

    assert sending_mailbox(enroller, sequence, mailbox_id=second.pk) == second


def test_someone_elses_mailbox_cannot_be_chosen_by_id(enroller, tom, sequence, make_mailbox):
    toms = make_mailbox(tom, default=True)

    error = _refused(user=enroller, sequence=sequence, mailbox_id=toms.pk)

    assert (error.field, error.code) == ("sender.mailbox_id", "sender_not_allowed")
    assert "not one of your mailboxes" in error.message


def test_sending_as_yourself_uses_your_default_mailbox(enroller, sequence, make_mailbox):
    make_mailbox(enroller)
    default = make_mailbox(enroller, default=True)

    assert sending_mailbox(enroller, sequence, member_id=enroller.pk) == default


def test_sending_as_yourself_without_a_default_mailbox_asks_you_to_connect_one(enroller, sequence):
    error = _refused(user=enroller, sequence=sequence, member_id=enroller.pk)

    assert (error.field, error.code) == ("sender.member_id", "no_mailbox")
    assert "connect a mailbox" in error.message


@pytest.mark.parametrize("sender", [{}, {"mailbox_id": 1, "member_id": 1}], ids=["neither", "both"])
def test_exactly_one_of_mailbox_and_member_must_be_given(enroller, sequence, sender):
    error = _refused(user=enroller, sequence=sequence, **sender)

    assert error.field == "sender"


# --- Teammates who turned on delegated sending ---------------------------------------------


def test_a_teammate_who_turned_it_on_sends_from_their_current_default_mailbox(
    enroller, tom, sequence, make_mailbox
):
    first = make_mailbox(tom, "tom@mail.test", default=True)
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)

    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == first

    later = make_mailbox(tom, "tom@new.test")
    mailboxes.update_mailbox(tom, later, mailboxes.MailboxChanges(is_default=True))

    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == later


def test_a_teammates_fixed_mailbox_is_used_whatever_their_default(
    enroller, tom, sequence, make_mailbox
):
    make_mailbox(tom, "tom@mail.test", default=True)
    fixed = make_mailbox(tom, "tom@sales.test")
    delegation.set_own_delegation(
        tom, sequence.pk, enabled=True, mailbox_id=fixed.pk, clock=system_clock
    )

    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == fixed


def test_a_teammate_who_did_not_turn_it_on_cannot_be_sent_as(
    enroller, tom, sequence, make_sequence, make_mailbox
):
    make_mailbox(tom, default=True)
    elsewhere = make_sequence(name="Another")
    delegation.set_own_delegation(tom, elsewhere.pk, enabled=True, clock=system_clock)

    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)

    assert (error.field, error.code) == ("sender.member_id", "sender_not_allowed")
    assert "has not turned on delegated sending" in error.message


def test_an_invitation_must_be_accepted_before_anyone_can_send_as_the_teammate(
    enroller, tom, sequence, make_mailbox
):
    default = make_mailbox(tom, default=True)
    invited = delegation.invite(enroller, sequence.pk, tom.pk, clock=system_clock)

    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)
    assert (error.field, error.code) == ("sender.member_id", "sender_not_allowed")
    assert "has not accepted" in error.message

    delegation.accept_invitation(tom, invited.row.pk, clock=system_clock)

    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == default


def test_a_delegate_who_loses_access_to_the_sequence_stops_being_usable(
    enroller, tom, sequence, make_mailbox
):
    default = make_mailbox(tom, default=True)
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)

    set_level(sequence, tom, "no_access")
    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)
    assert (error.field, error.code) == ("sender.member_id", "sender_not_allowed")
    assert "no longer has access" in error.message

    set_level(sequence, tom, "read_only")
    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == default


def test_a_deactivated_delegate_cannot_be_sent_as(enroller, tom, sequence, make_mailbox):
    make_mailbox(tom, default=True)
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)
    User.objects.filter(pk=tom.pk).update(is_active=False)

    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)

    assert error.code == "sender_not_allowed"
    assert "deactivated" in error.message


def test_sending_on_a_teammates_behalf_needs_read_and_write_access(
    enroller, tom, make_sequence, make_mailbox
):
    make_mailbox(tom, default=True)
    sequence = make_sequence(workspace_access="read_only")
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)

    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)

    assert (error.field, error.code) == ("sender.member_id", "sender_not_allowed")
    assert "read and write" in error.message


def test_a_delegate_without_a_default_mailbox_cannot_be_sent_as(
    enroller, tom, sequence, make_mailbox
):
    only = make_mailbox(tom, default=True)
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)
    mailboxes.update_mailbox(tom, only, mailboxes.MailboxChanges(is_default=False))

    error = _refused(user=enroller, sequence=sequence, member_id=tom.pk)

    assert (error.field, error.code) == ("sender.member_id", "no_mailbox")


def test_an_unknown_member_cannot_be_sent_as(enroller, sequence):
    error = _refused(user=enroller, sequence=sequence, member_id=999_999)

    assert (error.field, error.code) == ("sender.member_id", "sender_not_allowed")


# --- Mailbox status --------------------------------------------------------------------


def test_a_disconnected_mailbox_is_refused_whichever_way_it_was_chosen(
    enroller, tom, sequence, make_mailbox
):
    own = make_mailbox(enroller, default=True, status="disconnected")
    make_mailbox(tom, default=True, status="disconnected")
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)

    by_id = _refused(user=enroller, sequence=sequence, mailbox_id=own.pk)
    as_self = _refused(user=enroller, sequence=sequence, member_id=enroller.pk)
    as_teammate = _refused(user=enroller, sequence=sequence, member_id=tom.pk)

    assert (by_id.field, by_id.code) == ("sender.mailbox_id", "mailbox_disconnected")
    assert (as_self.field, as_self.code) == ("sender.member_id", "mailbox_disconnected")
    assert (as_teammate.field, as_teammate.code) == ("sender.member_id", "mailbox_disconnected")
    assert "reconnected" in as_teammate.message


def test_a_paused_mailbox_is_accepted_because_its_emails_wait(
    enroller, tom, sequence, make_mailbox
):
    own = make_mailbox(enroller, default=True, status="paused")
    toms = make_mailbox(tom, default=True, status="paused")
    delegation.set_own_delegation(tom, sequence.pk, enabled=True, clock=system_clock)

    assert sending_mailbox(enroller, sequence, mailbox_id=own.pk) == own
    assert sending_mailbox(enroller, sequence, member_id=tom.pk) == toms
