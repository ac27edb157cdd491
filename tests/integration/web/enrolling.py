"""Shared set-up for the Enroll dialog and Recipients tab tests: people, mailboxes, a
published sequence."""

from __future__ import annotations

from datetime import UTC, datetime

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person
from sequencer.mail.models import Mailbox
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence
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
