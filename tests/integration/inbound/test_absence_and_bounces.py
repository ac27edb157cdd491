"""Out-of-office replies pause until the stated return day and resume by themselves;
delivery reports end the recipient (permanent) or are only recorded (temporary).
Complaints (feedback reports) are in test_complaints.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sequencer.crm.models import EmailAddress
from sequencer.sequences import enrollment, suppression
from sequencer.sequences.models import EnrollmentEvent, ScheduledEmail, SequenceVersion
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE
BACK_ON_10_MARCH = "I am out of the office and will be back on 10 March 2026."


def test_an_out_of_office_with_a_return_date_pauses_until_then_and_resumes_by_itself(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(
        ALICE, messages.out_of_office(sent_email(enrolled).message_id, text=BACK_ON_10_MARCH)
    )
    read_inbox(clock)

    enrolled.refresh_from_db()
    assert enrolled.status == "paused"
    assert enrolled.resume_at == datetime(2026, 3, 10, tzinfo=UTC)
    assert enrolled.emails.get(step=1).state == "cancelled"
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["return_date"]) == ("paused_out_of_office", "2026-03-10")

    # The second email was due on 4 March: nothing goes out while Ada is away.
    clock.set(datetime(2026, 3, 9, 23, 59, tzinfo=UTC))
    worker.tick()
    assert len(smtp_server.messages) == 1
    enrolled.refresh_from_db()
    assert enrolled.status == "paused"

    # On the return day the worker resumes Ada and sends the second email.
    clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=UTC))
    assert worker.tick().handed_over == 1
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.resume_at) == ("active", None)
    assert len(smtp_server.messages) == 2
    assert enrolled.emails.get(step=1, state="sent").sent_at == clock.now()
    assert [e.kind for e in EnrollmentEvent.objects.filter(enrollment=enrolled)] == [
        "paused_out_of_office",
        "resumed",
    ]


def test_a_reply_during_the_absence_still_exits(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled).message_id
    dovecot.deliver(ALICE, messages.out_of_office(first, text=BACK_ON_10_MARCH))
    read_inbox(clock)
    dovecot.deliver(ALICE, messages.reply(first))
    read_inbox(clock)
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    worker.tick()
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "replied")
    assert len(smtp_server.messages) == 1


def test_a_person_resuming_early_wins_over_the_return_date(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(
        ALICE, messages.out_of_office(sent_email(enrolled).message_id, text=BACK_ON_10_MARCH)
    )
    read_inbox(clock)
    clock.advance(timedelta(hours=1))
    enrollment.resume(admin, enrolled.pk, clock=clock)
    clock.advance(timedelta(hours=1))
    enrollment.pause(admin, enrolled.pk, clock=clock)  # paused again, by hand
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    worker.tick()
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.resume_at) == ("paused", None)


def test_an_out_of_office_without_a_date_changes_nothing(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(
        ALICE,
        messages.out_of_office(sent_email(enrolled).message_id, text="I am away for a while."),
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.resume_at) == ("active", None)
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["paused"]) == ("out_of_office", False)


def test_pausing_on_out_of_office_can_be_turned_off(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    version = SequenceVersion.objects.get(pk=enrolled.version_id)
    # The setting is read from the version (missing means on); update() bypasses the
    # immutability guard, as a version published with the setting off would be.
    SequenceVersion.objects.filter(pk=version.pk).update(
        settings={**version.settings, "pause_on_out_of_office": False}
    )
    worker.tick()
    dovecot.deliver(
        ALICE, messages.out_of_office(sent_email(enrolled).message_id, text=BACK_ON_10_MARCH)
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.status == "active"
    assert EnrollmentEvent.objects.get(enrollment=enrolled).kind == "out_of_office"


def test_a_permanent_bounce_exits_as_bounced_and_suppresses_the_address(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(ALICE, messages.dsn(first.message_id), sender="")
    read_inbox(clock)

    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "bounced")
    first.refresh_from_db()
    assert first.state == "bounced" and "5.1.1" in first.last_error
    assert enrolled.emails.get(step=1).state == "cancelled"
    assert suppression.is_suppressed(ALICE, "ada@initech.test")
    address = EmailAddress.objects.get(email="ada@initech.test")
    assert address.undeliverable_since is not None and "5.1.1" in address.undeliverable_reason
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["status"], event.detail["permanent"]) == (
        "bounced",
        "5.1.1",
        True,
    )
    clock.advance(timedelta(days=10))
    worker.tick()
    assert len(smtp_server.messages) == 1


def test_a_permanent_bounce_ends_the_recipients_other_sequences_at_that_address(
    admin,
    publish,
    mailbox,
    person,
    clock,
    worker,
    smtp_server,
    dovecot,
    django_capture_on_commit_callbacks,
):
    bounced = enroll_one(admin, publish(), mailbox, person, clock)
    other = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    assert len(smtp_server.messages) == 2
    dovecot.deliver(ALICE, messages.dsn(sent_email(bounced).message_id), sender="")

    # The other sequence ends once the bounce is committed.
    with django_capture_on_commit_callbacks(execute=True):
        read_inbox(clock)

    for enrolled in (bounced, other):
        enrolled.refresh_from_db()
        assert (enrolled.status, enrolled.exit_reason) == ("exited", "bounced")
    assert other.emails.get(step=1).state == "cancelled"
    clock.advance(timedelta(days=10))
    worker.tick()
    assert len(smtp_server.messages) == 2


def test_a_temporary_bounce_is_only_recorded(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(
        ALICE,
        messages.dsn(
            first.message_id,
            status="4.4.1",
            action="delayed",
            diagnostic="smtp; 451 4.4.1 Try again later",
        ),
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    first.refresh_from_db()
    assert (enrolled.status, first.state) == ("active", "sent")
    assert not suppression.is_suppressed(ALICE, "ada@initech.test")
    assert EmailAddress.objects.get(email="ada@initech.test").undeliverable_since is None
    assert EnrollmentEvent.objects.get(enrollment=enrolled).kind == "bounce_delayed"
    assert ScheduledEmail.objects.filter(enrollment=enrolled, state="scheduled").count() == 1
