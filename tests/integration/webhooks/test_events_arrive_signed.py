"""Each of the seven events reaches a real receiver, signed, after the real action: an
enrollment through the service, a send through the worker's tick against the SMTP peer,
and a reply, a bounce, an unsubscribe and a meeting invitation read by the mail reader's
own storage path (the one IMAP and the providers' APIs feed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from sequencer.engine.worker import inbound_handler
from sequencer.mail import inbound_store
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.webhooks.models import WebhookDelivery
from tests.integration.engine.conftest import START
from tests.integration.inbound import messages
from tests.peers.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


def enroll_one(admin: Any, sequence: Any, mailbox: Any, person: Any, clock: Any) -> Enrollment:
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def arrive(mailbox: Any, raw: bytes, clock: Any) -> None:
    inbound_store.ingest(mailbox, raw, received_at=None, clock=clock, act=inbound_handler(clock))


def sent_message_id(enrolled: Enrollment) -> str:
    return ScheduledEmail.objects.get(enrollment=enrolled, step=0).message_id


@pytest.fixture
def started(
    admin: Any, publish: Any, mailbox: Any, person: Any, clock: Any, worker: Any, hook: Any
) -> Callable[..., tuple[str, Enrollment]]:
    """An endpoint for every event, then a person enrolled and the first email sent."""

    def start(**settings: Any) -> tuple[str, Enrollment]:
        secret = hook().secret
        enrolled = enroll_one(admin, publish(**settings), mailbox, person, clock)
        assert worker.tick().handed_over == 1
        return secret, enrolled

    return start


def test_enrolling_and_sending_arrive_signed_with_what_happened(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, smtp_server: Any
) -> None:
    secret, enrolled = started()
    assert len(smtp_server.messages) == 1
    assert deliver() == 2
    assert webhook_receiver.types() == ["enrollment.created", "email.sent"]
    for received in webhook_receiver.received:
        assert webhook_receiver.verified(received, secret, clock.now())
    created, sent = (r.json for r in webhook_receiver.received)
    about = {
        "enrollment_id": enrolled.pk,
        "sequence": {"id": enrolled.sequence_id, "name": "Demo"},
        "person_id": enrolled.person_id,
        "recipient_email": "ada@initech.test",
        "mailbox_email": "alice@example.test",
    }
    assert created["data"] == {
        **about,
        "status": "active",
        "enrolled_at": START.isoformat(),
        "first_email_due_at": START.isoformat(),
    }
    assert created["timestamp"] == START.isoformat()
    email = ScheduledEmail.objects.get(enrollment=enrolled, step=0)
    assert sent["data"] == {
        **about,
        "status": "active",
        "email": {
            "id": email.pk,
            "step": 1,
            "subject": "Hello Ada",
            "message_id": email.message_id,
            "sent_at": START.isoformat(),
        },
    }
    # Each event has its own id, kept in the header receivers deduplicate on.
    ids = {r.headers["webhook-id"] for r in webhook_receiver.received}
    assert len(ids) == 2 and all(i.startswith("msg_") for i in ids)


def test_a_reply_arrives_as_recipient_replied_then_recipient_exited(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, mailbox: Any
) -> None:
    secret, enrolled = started()
    clock.advance(timedelta(minutes=5))
    arrive(mailbox, messages.reply(sent_message_id(enrolled)), clock)
    deliver()
    assert webhook_receiver.types()[2:] == ["recipient.replied", "recipient.exited"]
    replied, exited = (r.json for r in webhook_receiver.received[2:])
    assert replied["data"]["exit_reason"] == exited["data"]["exit_reason"] == "replied"
    assert exited["data"]["status"] == "exited"
    assert exited["data"]["exited_at"] == (START + timedelta(minutes=5)).isoformat()
    assert all(webhook_receiver.verified(r, secret, clock.now()) for r in webhook_receiver.received)


def test_a_bounce_report_arrives_as_email_bounced_with_the_step(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, mailbox: Any
) -> None:
    secret, enrolled = started()
    arrive(mailbox, messages.dsn(sent_message_id(enrolled)), clock)
    deliver()
    assert webhook_receiver.types()[2:] == ["email.bounced", "recipient.exited"]
    bounced = webhook_receiver.received[2]
    assert bounced.json["data"]["step"] == 1
    assert bounced.json["data"]["exit_reason"] == "bounced"
    assert webhook_receiver.verified(bounced, secret, clock.now())


def test_a_mailto_unsubscribe_arrives_as_recipient_unsubscribed(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, mailbox: Any
) -> None:
    secret, _ = started()
    arrive(mailbox, messages.mailto_unsubscribe(), clock)
    deliver()
    assert webhook_receiver.types()[2:] == ["recipient.unsubscribed", "recipient.exited"]
    assert webhook_receiver.received[2].json["data"]["exit_reason"] == "unsubscribed"
    assert webhook_receiver.verified(webhook_receiver.received[2], secret, clock.now())


def test_a_booked_meeting_arrives_as_meeting_booked(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, mailbox: Any
) -> None:
    secret, _ = started(exit_on_meeting_booked=True)
    arrive(mailbox, messages.meeting_request(), clock)
    deliver()
    assert webhook_receiver.types()[2:] == ["meeting.booked", "recipient.exited"]
    assert webhook_receiver.received[2].json["data"]["exit_reason"] == "meeting_booked"
    assert webhook_receiver.verified(webhook_receiver.received[2], secret, clock.now())


def test_a_member_removing_a_recipient_sends_recipient_exited_alone(
    started: Any, deliver: Any, webhook_receiver: WebhookReceiver, clock: Any, admin: Any
) -> None:
    _, enrolled = started()
    enrollment.remove(admin, enrolled.pk, clock=clock)
    enrollment.remove(admin, enrolled.pk, clock=clock)  # an exit that already happened
    deliver()
    assert webhook_receiver.types()[2:] == ["recipient.exited"]
    assert webhook_receiver.received[2].json["data"]["exit_reason"] == "removed"


def test_an_endpoint_gets_only_the_events_it_chose(
    admin: Any,
    publish: Any,
    mailbox: Any,
    person: Any,
    clock: Any,
    worker: Any,
    hook: Any,
    deliver: Any,
    webhook_receiver: WebhookReceiver,
) -> None:
    hook(events=["email.sent"])
    hook(events=["email.sent"], enabled=False)
    enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    assert WebhookDelivery.objects.count() == 1
    deliver()
    assert webhook_receiver.types() == ["email.sent"]


def test_without_an_endpoint_nothing_is_written_and_one_query_is_spent(
    admin: Any,
    publish: Any,
    mailbox: Any,
    person: Any,
    clock: Any,
    django_assert_num_queries: Any,
) -> None:
    from sequencer.sequences import announcements

    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    enrolled = Enrollment.objects.select_related("sequence", "mailbox").get(pk=enrolled.pk)
    email = ScheduledEmail.objects.get(enrollment=enrolled)
    with django_assert_num_queries(1):
        assert announcements.sent(enrolled, email, clock.now()) == 0
    assert not WebhookDelivery.objects.exists()


def test_a_recipient_refused_while_sending_arrives_as_email_bounced(
    admin: Any,
    publish: Any,
    mailbox: Any,
    person: Any,
    clock: Any,
    worker: Any,
    hook: Any,
    deliver: Any,
    webhook_receiver: WebhookReceiver,
    smtp_server: Any,
) -> None:
    secret = hook(events=["email.bounced", "email.sent"]).secret
    smtp_server.reply_to("ada@initech.test", "550 5.1.1 No such user", at="rcpt")
    enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    deliver()
    [bounced] = webhook_receiver.received
    assert bounced.type == "email.bounced"
    assert (bounced.json["data"]["step"], bounced.json["data"]["status"]) == (1, "exited")
    assert webhook_receiver.verified(bounced, secret, clock.now())
