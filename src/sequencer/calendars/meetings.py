"""The "Meeting booked" exit: which calendar events end which enrollments.

An event ends an open enrollment of a sender (whose sequence version has
``exit_on_meeting_booked`` on) when all of these hold:

* it is not cancelled (``STATUS:CANCELLED``, Google ``cancelled``, Graph ``isCancelled``);
* one of the sender's addresses (their sign-in address and every mailbox they own) is
  its organizer or an attendee who has not declined (``PARTSTAT=DECLINED``);
* the recipient's address is its organizer or an attendee who has not declined;
* it is a *new* booking: created at or after the enrollment began. The creation time is
  the event's own (iCalendar ``CREATED``, Google ``created``, Graph
  ``createdDateTime``). Without one, it is the earlier of the event's last-revision
  stamp (``DTSTAMP``/``LAST-MODIFIED``, which a creation precedes) and the first time
  Sequencer saw its UID (polls are minutes apart, so that is close to when it was
  booked). An event already there at a calendar's *first* poll is dated by its stamp
  alone (seeing it then says nothing about when it was made), and without a stamp it
  is not taken for a new booking.

So a meeting the recipient booked with *another* workspace member does not end the
sender's sequence: the sender is not in it (or declined it), whatever calendar it
shows up in.

Each (enrollment, UID) applies once (:class:`~sequencer.calendars.models.MeetingBooking`
is unique on it): the same meeting seen by the next poll, in a second calendar of the
member, or as several components of one recurring event, exits the enrollment and
writes its timeline event once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from sequencer.calendars.models import CalendarConnection, MeetingBooking, SeenEvent, uid_digest
from sequencer.calendars.providers.base import CalendarEvent
from sequencer.clock import Clock
from sequencer.domain.events import EventKind
from sequencer.mail.models import Mailbox
from sequencer.sequences.enrollment import exit_enrollment
from sequencer.sequences.models import OPEN_STATUSES, Enrollment, EnrollmentEvent
from sequencer.workspace.models import User

log = logging.getLogger(__name__)


def present(event: CalendarEvent) -> set[str]:
    """The addresses taking part: the organizer and every attendee who has not declined.
    An organizer who is also listed as a declining attendee is not taking part."""
    declined = {a.email for a in event.attendees if a.declined}
    found = {a.email for a in event.attendees if not a.declined}
    if event.organizer and event.organizer not in declined:
        found.add(event.organizer)
    return found


def is_booking_between(event: CalendarEvent, sender: Iterable[str], recipient: str) -> bool:
    """Whether ``event`` is a live meeting between one of the ``sender`` addresses and
    ``recipient`` (the rule without its time condition)."""
    if event.cancelled:
        return False
    recipient = recipient.strip().lower()
    senders = {s.strip().lower() for s in sender}
    if recipient in senders:
        return False
    taking_part = present(event)
    return recipient in taking_part and bool(taking_part & senders)


def booked_at(
    event: CalendarEvent, first_seen: datetime | None, in_baseline: bool
) -> datetime | None:
    """When the meeting was booked, as well as it can be told; None when unknown."""
    if event.created is not None:
        return event.created
    if in_baseline or first_seen is None:
        return event.stamp
    return min(event.stamp, first_seen) if event.stamp is not None else first_seen


def is_new_booking(when: datetime | None, enrolled_at: datetime) -> bool:
    return when is not None and when >= enrolled_at


def sender_addresses(user: User) -> set[str]:
    found = {user.email.lower()}
    found.update(
        e.lower() for e in Mailbox.objects.filter(owner=user).values_list("email", flat=True)
    )
    return found


@dataclass
class Applied:
    events: int = 0  # distinct UIDs looked at
    exited: int = 0  # enrollments ended


def _first_seen(
    owner: User, events: list[CalendarEvent], now: datetime, baseline: bool
) -> dict[str, tuple[datetime, bool]]:
    """{uid: (first seen, in baseline)} for the events without a creation time of their
    own, recording the ones never seen before."""
    undated = {e.uid: uid_digest(e.uid) for e in events if e.created is None}
    if not undated:
        return {}
    known = {
        row.uid_hash: row
        for row in SeenEvent.objects.filter(owner=owner, uid_hash__in=list(undated.values()))
    }
    missing = [
        SeenEvent(
            owner=owner,
            uid=uid,
            uid_hash=digest,
            first_seen_at=now,
            in_baseline=baseline,
        )
        for uid, digest in undated.items()
        if digest not in known
    ]
    if missing:
        # Another worker polling another calendar of the same member may record the same
        # UID meanwhile; its row is as good as ours.
        SeenEvent.objects.bulk_create(missing, ignore_conflicts=True)
        known.update(
            (row.uid_hash, row)
            for row in SeenEvent.objects.filter(
                owner=owner, uid_hash__in=[m.uid_hash for m in missing]
            )
        )
    return {
        uid: (known[digest].first_seen_at, known[digest].in_baseline)
        for uid, digest in undated.items()
        if digest in known
    }


def apply_events(
    connection: CalendarConnection,
    events: Iterable[CalendarEvent],
    *,
    baseline: bool = False,
    clock: Clock,
) -> Applied:
    """Exit every open enrollment of the connection's owner that one of ``events`` books
    a meeting for; ``baseline``: this is the calendar's first poll."""
    owner = connection.owner
    now = clock.now()
    batch = [e for e in events if e.uid]
    result = Applied(events=len({e.uid for e in batch}))
    seen = _first_seen(owner, batch, now, baseline)
    open_enrollments: dict[str, list[Enrollment]] = {}
    for enrollment in Enrollment.objects.filter(
        sender=owner,
        status__in=OPEN_STATUSES,
        version__settings__exit_on_meeting_booked=True,
    ).only("id", "email", "enrolled_at", "status"):
        open_enrollments.setdefault(enrollment.email.strip().lower(), []).append(enrollment)
    if not open_enrollments:
        return result
    senders = sender_addresses(owner)
    done: set[tuple[int, str]] = set()
    for event in batch:
        if event.cancelled:
            continue
        first_seen, in_baseline = seen.get(event.uid, (None, False))
        when = booked_at(event, first_seen, in_baseline)
        for recipient in present(event) & open_enrollments.keys():
            if not is_booking_between(event, senders, recipient):
                continue
            for enrollment in open_enrollments[recipient]:
                key = (enrollment.pk, event.uid)
                if key in done or not is_new_booking(when, enrollment.enrolled_at):
                    continue
                done.add(key)
                if _exit(enrollment, event, when, connection, clock):
                    result.exited += 1
    return result


def _exit(
    enrollment: Enrollment,
    event: CalendarEvent,
    when: datetime | None,
    connection: CalendarConnection,
    clock: Clock,
) -> bool:
    """End one enrollment for one event, once; False if it was already over."""
    now = clock.now()
    try:
        with transaction.atomic():
            still_open = (
                Enrollment.objects.select_for_update(of=("self",))
                .filter(pk=enrollment.pk, status__in=OPEN_STATUSES)
                .exists()
            )
            if not still_open:
                return False
            MeetingBooking.objects.create(
                enrollment=enrollment,
                connection=connection,
                uid=event.uid,
                uid_hash=uid_digest(event.uid),
                summary=event.summary[:500],
                starts_at=event.start,
                booked_at=when,
                detected_at=now,
            )
            exit_enrollment(enrollment.pk, EventKind.MEETING_BOOKED, clock=clock)
            EnrollmentEvent.objects.create(
                enrollment=enrollment,
                kind=EventKind.MEETING_BOOKED,
                occurred_at=now,
                detail={
                    "source": "calendar",
                    "calendar_id": connection.pk,
                    "calendar_kind": connection.kind,
                    "uid": event.uid,
                    "summary": event.summary[:500],
                    "organizer": event.organizer,
                    "starts_at": event.start.isoformat() if event.start else None,
                    "booked_at": when.isoformat() if when else None,
                },
            )
    except IntegrityError:
        # This UID already ended this enrollment (another worker, at the same moment).
        return False
    log.info(
        "enrollment %s exited: meeting %r booked (calendar %s)",
        enrollment.pk,
        event.uid,
        connection.pk,
    )
    return True
