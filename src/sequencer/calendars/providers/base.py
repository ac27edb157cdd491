"""What every calendar source hands the meeting rule, and how it says what went wrong.

Each source (CalDAV, Google Calendar, Microsoft Graph) turns its own event format into
:class:`CalendarEvent`, whose vocabulary is iCalendar's (RFC 5545): ``STATUS`` is
``CONFIRMED``/``TENTATIVE``/``CANCELLED`` and each attendee has a ``PARTSTAT``
(``ACCEPTED``, ``DECLINED``, ``TENTATIVE``, ``NEEDS-ACTION``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal, Protocol

Problem = Literal["auth", "permission", "not_found", "connection", "server"]

# Problems a person has to fix; the others may pass on their own.
NEEDS_PERSON: frozenset[str] = frozenset({"auth", "permission", "not_found"})


class CalendarFailure(Exception):
    """Reading the calendar failed; ``message`` says what, for a person."""

    def __init__(self, message: str, *, problem: Problem, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.problem = problem
        self.retry_after = retry_after

    @property
    def needs_person(self) -> bool:
        return self.problem in NEEDS_PERSON


@dataclass(frozen=True)
class Participant:
    email: str  # lower case, without "mailto:"
    partstat: str = "NEEDS-ACTION"

    @property
    def declined(self) -> bool:
        return self.partstat == "DECLINED"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    organizer: str | None
    attendees: tuple[Participant, ...] = ()
    status: str = "CONFIRMED"
    start: datetime | None = None
    # When the event was created (iCalendar CREATED, Google ``created``, Graph
    # ``createdDateTime``): the moment the meeting was booked.
    created: datetime | None = None
    # A later bound when there is no creation time: iCalendar DTSTAMP, which in a stored
    # object is the time of its last revision.
    stamp: datetime | None = None
    summary: str = ""
    recurring: bool = False

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"


@dataclass(frozen=True)
class Window:
    """The events looked at: those starting from ``start`` until ``end``."""

    start: datetime
    end: datetime

    def holds(self, event: CalendarEvent) -> bool:
        # A recurring event's first start may be long past while it still has meetings
        # ahead; an event without a start cannot be placed. Both are kept.
        if event.start is None or event.recurring:
            return True
        return self.start <= event.start <= self.end


@dataclass
class Fetched:
    events: list[CalendarEvent]
    cursor: dict[str, Any] = field(default_factory=dict)


class CalendarSource(Protocol):
    def fetch(self, cursor: Mapping[str, Any], window: Window) -> Fetched:
        """Events changed since ``cursor`` (all of the window when it is empty or stale),
        and the cursor to resume from next time."""
        ...

    def check(self) -> str:
        """What was found, for a person; :class:`CalendarFailure` if it cannot be read."""
        ...


def address(value: Any) -> str:
    """A calendar user address as a plain lower-case email (``mailto:`` removed)."""
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.strip().lower()


def as_utc(value: Any) -> datetime | None:
    """A datetime in UTC from a ``datetime``, a ``date`` (midnight UTC) or ISO 8601 text;
    a time without zone ("floating") is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:
                value = date.fromisoformat(text)
            except ValueError:
                return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return None
