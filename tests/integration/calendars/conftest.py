"""A sender with a mailbox, a teammate, a published sequence, recipients, a fake clock,
and iCalendar events to put in the sender's calendar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person
from sequencer.mail.models import Mailbox
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.enrollment import Recipient, enroll
from sequencer.sequences.models import Enrollment, Sequence
from sequencer.testing import FakeClock
from sequencer.workspace.models import User

# A Monday, 10:00 UTC: every enrollment in these tests begins here unless moved.
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SENDER = "sales@acme.test"  # the sender's mailbox (the admin signs in as admin@acme.test)
TEAMMATE = "bo@acme.test"
RECIPIENT = "pat@prospect.test"

SETTINGS = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "include_signature": False,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def make_mailbox(owner: User, email: str, provider: str = "smtp_imap", **fields: Any) -> Mailbox:
    fields.setdefault("smtp_host", "127.0.0.1")
    fields.setdefault("smtp_port", 2525)
    # Marked proven, as tests.peers.fixtures.mark_address_proven does.
    fields.setdefault("address_proven_at", datetime.now(UTC))
    fields.setdefault("address_proof", "admin")
    return Mailbox.objects.create(owner=owner, provider=provider, email=email, **fields)


@pytest.fixture
def sender(admin: User) -> User:
    make_mailbox(admin, SENDER, is_default=True)
    return admin


@pytest.fixture
def teammate(make_member: Callable[..., User]) -> User:
    bo = make_member(TEAMMATE)
    make_mailbox(bo, TEAMMATE, is_default=True)
    return bo


@pytest.fixture
def publish(sender: User) -> Callable[..., Sequence]:
    def make(*, exit_on_meeting_booked: bool = True) -> Sequence:
        sequence = authoring.create_sequence(
            sender,
            name="Demo",
            settings={**SETTINGS, "exit_on_meeting_booked": exit_on_meeting_booked},
            steps=[
                StepInput(delay_days=0, subject="Hello", body_html="<p>Hi.</p>"),
                StepInput(delay_days=2, subject="", body_html="<p>Again.</p>"),
            ],
            clock=system_clock,
        )
        authoring.publish(sender, sequence.pk, clock=system_clock)
        return sequence

    return make


def make_person(email: str) -> Person:
    """The person with that address, created if there is none."""
    known = EmailAddress.objects.filter(email=email).select_related("person").first()
    if known is not None:
        return known.person
    person = Person.objects.create(first_name=email.split("@")[0].title(), last_name="Prospect")
    EmailAddress.objects.create(person=person, email=email, is_primary=True)
    return person


@pytest.fixture
def enrolled(
    sender: User, publish: Callable[..., Sequence], clock: FakeClock
) -> Callable[..., Enrollment]:
    """``enrolled(email=RECIPIENT, sequence=None, at=None)``: an enrollment of the sender's
    (a new sequence unless given) to the person at ``email``, begun at ``at`` (default:
    the clock's now)."""

    def make(
        email: str = RECIPIENT,
        *,
        sequence: Sequence | None = None,
        at: datetime | None = None,
        by: User | None = None,
    ) -> Enrollment:
        user = by or sender
        sequence = sequence or publish()
        person = make_person(email)
        mailbox = Mailbox.objects.get(owner=user, is_default=True)
        when = FakeClock(at) if at else clock
        [outcome] = enroll(
            user, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=when
        ).outcomes
        assert outcome.enrolled, outcome.message
        return Enrollment.objects.get(pk=outcome.enrollment_id)

    return make


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics(
    uid: str,
    *,
    organizer: str | None = SENDER,
    attendees: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ((RECIPIENT, "ACCEPTED"),),
    status: str | None = None,
    created: datetime | None = START + timedelta(hours=1),
    dtstamp: datetime | None = None,
    start: datetime = START + timedelta(days=8, hours=5),
    extra_components: str = "",
) -> str:
    """One VCALENDAR holding one VEVENT, as a client would store it (no METHOD)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Sequencer tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(dtstamp or created or START)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(start + timedelta(minutes=30))}",
        "SUMMARY:Intro call",
    ]
    if created is not None:
        lines.append(f"CREATED:{_stamp(created)}")
    if status:
        lines.append(f"STATUS:{status}")
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    for email, partstat in attendees:
        lines.append(f"ATTENDEE;PARTSTAT={partstat};RSVP=TRUE:mailto:{email}")
    lines.append("END:VEVENT")
    if extra_components:
        lines.append(extra_components.strip())
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
