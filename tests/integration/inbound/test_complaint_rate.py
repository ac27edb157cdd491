"""A mailbox whose recipients mark too much of its mail as spam is paused, and its owner
told: spam complaints over the emails it sent in the last 30 days, above the admin-set
limit (0.3 % by default), once it sent at least the minimum number of emails (100 by
default). Every email here is really sent through the SMTP peer and every complaint is
an ARF report read from the Dovecot inbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sequencer.crm.models import EmailAddress, Person
from sequencer.engine.complaints import locked_with_rate
from sequencer.engine.worker import Worker
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.workspace.models import Notification
from sequencer.workspace.settings import set_complaint_policy
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import read_inbox

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE


def send_to_many(count, *, admin, sequence, mailbox, clock) -> list[Enrollment]:
    """Enroll ``count`` new people and send each the sequence's first email, for real."""
    people = Person.objects.bulk_create(
        Person(first_name=f"P{i}", last_name="Tester") for i in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(person=p, email=f"p{p.pk}@initech.test", is_primary=True) for p in people
    )
    outcomes = enrollment.enroll(
        admin, sequence.pk, [Recipient(p.pk) for p in people], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert all(o.enrolled for o in outcomes)
    Worker(clock=clock, name="bulk-sender", batch_size=count).tick()
    sent = ScheduledEmail.objects.filter(mailbox=mailbox, step=0, state="sent").count()
    assert sent >= count
    return list(Enrollment.objects.filter(pk__in=[o.enrollment_id for o in outcomes]))


def complain_about(enrolled: Enrollment, dovecot, clock) -> None:
    first = enrolled.emails.get(step=0, state="sent")
    dovecot.deliver(ALICE, messages.spam_complaint(first.message_id, recipient=enrolled.email))
    read_inbox(clock)


@pytest.fixture
def busy_mailbox(mailbox):
    """Alice's mailbox with room to send a few hundred emails at once."""
    mailbox.per_hour = mailbox.per_day = 1000
    mailbox.save()
    return mailbox


def test_a_complaint_rate_above_the_limit_pauses_the_mailbox_and_tells_its_owner(
    admin, publish, busy_mailbox, clock, dovecot, smtp_server
):
    # The default limit, judged from 20 emails (the default waits for 100) so that the
    # test sends a few emails for real rather than hundreds.
    set_complaint_policy(admin, min_sends=20)
    sequence = publish()
    enrolled = send_to_many(20, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    complain_about(enrolled[0], dovecot, clock)

    busy_mailbox.refresh_from_db()
    assert (busy_mailbox.status, busy_mailbox.paused_until) == ("paused", None)
    reason = (
        "Spam complaints are at 5% of emails sent in the last 30 days (1 of 20 emails), "
        "above the 0.3% limit."
    )
    assert busy_mailbox.status_reason == reason
    [notice] = Notification.objects.filter(user=admin)
    assert notice.kind == "mailbox_paused"
    assert notice.message.startswith(f"Sending from {ALICE} is paused: {reason}")
    # Its emails wait, none is lost: the second emails stay scheduled, showing why.
    sent_before = len(smtp_server.messages)
    clock.advance(timedelta(days=3))
    Worker(clock=clock, name="later", batch_size=500).tick()
    assert len(smtp_server.messages) == sent_before
    waiting = ScheduledEmail.objects.filter(mailbox=busy_mailbox, step=1, state="scheduled")
    assert waiting.count() == 19
    assert waiting.first().last_error == reason
    # A second complaint while paused updates the reason but does not notify again.
    complain_about(enrolled[1], dovecot, clock)
    busy_mailbox.refresh_from_db()
    assert "10% of emails sent" in busy_mailbox.status_reason
    assert Notification.objects.filter(user=admin).count() == 1


def test_a_complaint_rate_at_or_below_the_limit_leaves_the_mailbox_sending(
    admin, publish, busy_mailbox, clock, dovecot
):
    # 1 in 20 is 5 %: not above a limit the admin set to 5 %.
    set_complaint_policy(admin, limit_percent=Decimal("5"), min_sends=20)
    sequence = publish()
    enrolled = send_to_many(20, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    complain_about(enrolled[0], dovecot, clock)

    busy_mailbox.refresh_from_db()
    assert (busy_mailbox.status, busy_mailbox.status_reason) == ("active", "")
    assert not Notification.objects.exists()
    enrolled[0].refresh_from_db()
    assert enrolled[0].exit_reason == "complained"  # the complaint itself still counts
    # A second one makes it 10 %: now it pauses.
    complain_about(enrolled[1], dovecot, clock)
    busy_mailbox.refresh_from_db()
    assert busy_mailbox.status == "paused"
    assert "above the 5% limit" in busy_mailbox.status_reason


def test_the_limit_waits_for_the_minimum_number_of_emails_sent(
    admin, publish, busy_mailbox, clock, dovecot
):
    # 1 complaint in 10 emails is 10 %, but 10 emails say nothing yet (default: 100).
    sequence = publish()
    enrolled = send_to_many(10, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    complain_about(enrolled[0], dovecot, clock)
    busy_mailbox.refresh_from_db()
    assert busy_mailbox.status == "active"
    assert not Notification.objects.exists()

    # With the minimum lowered to 10 by an admin, the next complaint pauses.
    set_complaint_policy(admin, min_sends=10)
    complain_about(enrolled[1], dovecot, clock)
    busy_mailbox.refresh_from_db()
    assert busy_mailbox.status == "paused"
    assert busy_mailbox.status_reason.startswith("Spam complaints are at 20% of emails sent")
    assert Notification.objects.filter(user=admin, kind="mailbox_paused").count() == 1


def test_only_the_last_30_days_count(admin, publish, busy_mailbox, clock, dovecot):
    set_complaint_policy(admin, min_sends=10)
    sequence = publish()
    enrolled = send_to_many(10, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    complain_about(enrolled[0], dovecot, clock)  # 10 %: paused
    busy_mailbox.refresh_from_db()
    assert busy_mailbox.status == "paused"

    sent_at = clock.now()
    _, rate = locked_with_rate(busy_mailbox.pk, sent_at + timedelta(days=29, hours=23))
    assert (rate.complaints, rate.sent) == (1, 10)
    _, rate = locked_with_rate(busy_mailbox.pk, sent_at + timedelta(days=30, seconds=1))
    assert (rate.complaints, rate.sent) == (0, 0)


def test_an_auth_failure_report_never_counts_toward_the_rate(
    admin, publish, busy_mailbox, clock, dovecot
):
    set_complaint_policy(admin, min_sends=10)
    sequence = publish()
    enrolled = send_to_many(10, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    first = enrolled[0].emails.get(step=0, state="sent")
    dovecot.deliver(
        ALICE,
        messages.spam_complaint(
            first.message_id, recipient=enrolled[0].email, feedback_type="auth-failure"
        ),
    )
    read_inbox(clock)
    busy_mailbox.refresh_from_db()
    assert busy_mailbox.status == "active"
    _, rate = locked_with_rate(busy_mailbox.pk, clock.now())
    assert (rate.complaints, rate.sent) == (0, 10)


def test_the_rate_is_read_in_one_query_however_many_emails_were_sent(
    admin, publish, busy_mailbox, clock, django_assert_num_queries
):
    sequence = publish()
    send_to_many(3, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    with django_assert_num_queries(1):
        _, few = locked_with_rate(busy_mailbox.pk, clock.now())
    send_to_many(30, admin=admin, sequence=sequence, mailbox=busy_mailbox, clock=clock)
    with django_assert_num_queries(1):
        _, many = locked_with_rate(busy_mailbox.pk, clock.now())
    assert (few.sent, many.sent) == (3, 33)
