"""Replies, unsubscribe requests and the mailbox's own copies, read from a real Dovecot
INBOX that the messages reached over LMTP, as from a real MTA."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sequencer.mail.models import InboundMessage, SyncCursor
from sequencer.sequences import enrollment, suppression
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import EnrollmentEvent
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE


def test_a_reply_exits_the_recipient_as_replied_and_cancels_the_next_email(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    [second] = enrolled.emails.filter(state="scheduled")

    dovecot.deliver(ALICE, messages.reply(first.message_id))
    assert read_inbox(clock) == 1

    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "replied")
    second.refresh_from_db()
    assert second.state == "cancelled"
    [event] = EnrollmentEvent.objects.filter(enrollment=enrolled)
    assert event.kind == "replied"
    assert event.detail["matched_by"] == "message_id"
    assert event.detail["text"].startswith("Thanks Alice")
    inbound = InboundMessage.objects.get(pk=event.inbound_message_id)
    assert inbound.kind == "reply" and inbound.enrollment_id == enrolled.pk
    assert b"happy to talk" in bytes(inbound.raw)
    assert inbound.processed_at is not None

    # Nothing more goes out, whenever the next email would have been due.
    clock.advance(timedelta(days=10))
    worker.tick()
    assert len(smtp_server.messages) == 1


def test_the_worker_tick_reads_the_inbox_before_it_claims(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(ALICE, messages.reply(first.message_id))
    # The second email is due in two days; the reply is read by the tick that would
    # have claimed it, before the claim.
    clock.advance(timedelta(days=2, minutes=1))
    assert worker.tick().handed_over == 0
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    assert len(smtp_server.messages) == 1


def test_the_mailboxs_own_sent_copy_in_the_inbox_is_never_a_reply(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    # The Sent copy itself, delivered to the inbox (a BCC to self, a server rule)...
    [copy] = dovecot.messages(ALICE, "Sent")
    dovecot.deliver(ALICE, copy)
    # ...and a note Alice wrote herself in the thread.
    first = sent_email(enrolled)
    dovecot.deliver(
        ALICE,
        messages.reply(first.message_id, sender=f"Alice <{ALICE}>", text="Note to self."),
    )
    assert read_inbox(clock) == 2

    enrolled.refresh_from_db()
    assert enrolled.status == "active"
    assert sorted(InboundMessage.objects.values_list("kind", flat=True)) == [
        "own_message",
        "own_message",
    ]
    # Mail that concerns no enrollment is kept whole too: byte for byte what the INBOX
    # holds, body included.
    assert set(InboundMessage.objects.values_list("enrollment_id", flat=True)) == {None}
    delivered = sorted(dovecot.messages(ALICE, "INBOX"))
    kept = sorted(bytes(inbound.raw) for inbound in InboundMessage.objects.all())
    assert len(delivered) == 2
    assert kept == delivered
    assert sum(b"Note to self." in raw for raw in kept) == 1
    assert not EnrollmentEvent.objects.exists()
    assert enrolled.emails.filter(state="scheduled").count() == 1


def test_a_reply_without_threading_headers_matches_by_sender_and_subject(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.reply(None, subject="AW: Re:  hello ada"))
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    assert EnrollmentEvent.objects.get(enrollment=enrolled).detail["matched_by"] == (
        "sender_subject"
    )


def test_a_message_from_the_recipient_about_something_else_is_only_stored(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.reply(None, subject="Lunch on Friday?"))
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.status == "active"
    assert InboundMessage.objects.get().enrollment_id is None


def test_reading_the_same_mail_again_acts_once(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    reply = messages.reply(sent_email(enrolled).message_id)
    dovecot.deliver(ALICE, reply)
    dovecot.deliver(ALICE, reply)  # delivered twice: same Message-ID
    read_inbox(clock)
    # The cursor is forgotten: the next pass reads the whole window again.
    SyncCursor.objects.update(uidvalidity=None, last_uid=0)
    read_inbox(clock)
    assert InboundMessage.objects.count() == 1
    assert EnrollmentEvent.objects.filter(enrollment=enrolled).count() == 1


def test_a_reply_asking_to_stop_exits_and_suppresses_the_address_for_the_sender(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    sequence = publish()
    enrolled = enroll_one(admin, sequence, mailbox, person, clock)
    worker.tick()
    dovecot.deliver(
        ALICE,
        messages.reply(sent_email(enrolled).message_id, text="Please remove me from your list."),
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "replied")
    assert suppression.is_suppressed(ALICE, "ada@initech.test")
    assert EnrollmentEvent.objects.get(enrollment=enrolled).kind == "asked_to_stop"
    # Enrolling Ada again from this mailbox is refused.
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.code == "unsubscribed"


def test_a_mailto_unsubscribe_suppresses_and_exits_as_unsubscribed(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.mailto_unsubscribe())
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "unsubscribed")
    assert suppression.is_suppressed(ALICE, "ada@initech.test")
    assert EnrollmentEvent.objects.get(enrollment=enrolled).kind == "unsubscribed"
    clock.advance(timedelta(days=10))
    worker.tick()
    assert len(smtp_server.messages) == 1


def test_a_booked_meeting_exits_when_the_sequence_says_so(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(exit_on_meeting_booked=True), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.meeting_request())
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "meeting_booked")
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert event.kind == "meeting_booked" and event.detail["booked"] is True


def test_a_meeting_is_only_recorded_when_the_sequence_goes_on_after_one(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(exit_on_meeting_booked=False), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.meeting_request())
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.status == "active"
    assert EnrollmentEvent.objects.get(enrollment=enrolled).kind == "meeting"


def test_an_unreachable_imap_server_never_stops_sending(
    admin, publish, peer_mailbox, person, clock, worker, smtp_server, closed_port
):
    box = peer_mailbox(admin, imap=True)
    box.imap_port = closed_port  # nothing listens there
    box.min_spacing_seconds = 0
    box.save()
    enroll_one(admin, publish(), box, person, clock)
    assert worker.tick().handed_over == 1
    assert len(smtp_server.messages) == 1
    cursor = SyncCursor.objects.get(mailbox=box)
    assert cursor.last_error and cursor.attempted_at == clock.now()
    assert cursor.synced_at is None  # never read successfully: a re-read would reach back
