"""Shared set-up for the Enroll dialog and Recipients tab tests: people, mailboxes, a
published sequence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person
from sequencer.domain.events import EventKind
from sequencer.mail.models import InboundMessage, Mailbox
from sequencer.sequences import authoring, enrollment, lifecycle
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Enrollment, EnrollmentEvent, ScheduledEmail, Sequence
from sequencer.testing import FakeClock
from sequencer.workspace.models import User

ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
}


def mailbox_of(owner: User, email: str, *, default: bool = True) -> Mailbox:
    return Mailbox.objects.create(
        owner=owner,
        provider="smtp_imap",
        email=email,
        is_default=default,
        smtp_host="smtp.mail.test",
        smtp_port=587,
        address_proven_at=datetime.now(UTC),
        address_proof="admin",
    )


def person(first: str, *emails: str, last: str = "Tester") -> Person:
    someone = Person.objects.create(first_name=first, last_name=last)
    for i, email in enumerate(emails):
        EmailAddress.objects.create(person=someone, email=email, is_primary=i == 0, position=i)
    return someone


def many_people(count: int, prefix: str) -> list[Person]:
    people = Person.objects.bulk_create(
        [Person(first_name=f"{prefix}{i}", last_name="Many") for i in range(count)]
    )
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(person=p, email=f"{prefix.lower()}{i}@many.test", is_primary=True)
            for i, p in enumerate(people)
        ]
    )
    return people


def published(owner: User, name: str = "Q3 outreach", **kwargs: object) -> Sequence:
    sequence = authoring.create_sequence(
        owner,
        name=name,
        settings=ALL_DAY,
        steps=[
            StepInput(0, "Hello {{ person.first_name }}", "<p>Hi {{ person.first_name }}!</p>"),
            StepInput(2, "", "<p>Following up, {{ person.first_name }}.</p>"),
        ],
        clock=system_clock,
        **kwargs,  # type: ignore[arg-type]
    )
    authoring.publish(owner, sequence.pk, clock=system_clock)
    sequence.refresh_from_db()
    return sequence


def enroll(sequence: Sequence, by: User, mailbox: Mailbox, *people: Person) -> list[Enrollment]:
    done = enrollment.enroll(
        by,
        sequence.pk,
        [enrollment.Recipient(p.pk) for p in people],
        mailbox_id=mailbox.pk,
        clock=system_clock,
    )
    ids = [o.enrollment_id for o in done.outcomes]
    assert all(ids), done.outcomes
    return list(Enrollment.objects.filter(pk__in=ids).order_by("pk"))


def send_first_email(enrolled: Enrollment, at: datetime) -> ScheduledEmail:
    """Email 1 goes out (through the lifecycle, as the worker does) and email 2 is due."""
    email = ScheduledEmail.objects.get(enrollment=enrolled, step=0)
    lifecycle.claim([email.pk], at, timedelta(minutes=5), "test")
    email.refresh_from_db()
    subject = f"Hello {enrolled.person.first_name}"  # as the worker renders it
    assert lifecycle.begin_sending(email, "test", FakeClock(at), timedelta(minutes=5), subject)
    lifecycle.record_sent(email, at)
    email.refresh_from_db()
    return email


def reply_from(enrolled: Enrollment, mailbox: Mailbox, at: datetime, text: str) -> InboundMessage:
    """A reply arrived and ended the enrollment, with its event on the timeline."""
    raw = (
        f"From: {enrolled.email}\r\nSubject: RE: Hello\r\nMessage-ID: <r{enrolled.pk}@x.test>"
        f"\r\n\r\n{text}\r\n"
    ).encode()
    message = InboundMessage.objects.create(
        mailbox=mailbox,
        message_id=f"<r{enrolled.pk}@x.test>",
        from_address=enrolled.email,
        subject="RE: Hello",
        raw=raw,
        received_at=at,
        kind="reply",
        enrollment=enrolled,
    )
    lifecycle.exit_enrollment(enrolled.pk, EventKind.REPLIED, clock=FakeClock(at))
    EnrollmentEvent.objects.create(
        enrollment=enrolled,
        kind=EventKind.REPLIED,
        occurred_at=at,
        detail={"from": enrolled.email, "subject": "RE: Hello", "text": text, "exited": True},
        inbound_message=message,
    )
    return message


def out_of_office(enrolled: Enrollment, at: datetime, back: str) -> None:
    EnrollmentEvent.objects.create(
        enrollment=enrolled,
        kind=EventKind.OUT_OF_OFFICE,
        occurred_at=at,
        detail={"from": enrolled.email, "subject": "Away", "return_date": back, "paused": False},
    )
