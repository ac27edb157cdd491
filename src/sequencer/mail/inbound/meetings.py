"""Calendar invitations, answers and cancellations carried by email (iMIP, RFC 6047).

Google Calendar and Outlook put the iTIP message in a ``text/calendar; method=…`` body
part, and Google adds the same data as an ``invite.ics`` attachment
(``application/ics``); booking tools often send only the attachment. Each is parsed
with ``icalendar``. The method comes from the calendar's ``METHOD`` property, else from
the part's ``method`` parameter. The first ``VEVENT`` that is not a recurrence exception
describes the meeting.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.message import Message
from typing import Any

from icalendar import Calendar

from sequencer.mail.inbound import mime
from sequencer.mail.inbound.events import Attendee, MeetingInfo, MeetingMethod

#: Largest calendar part parsed, in bytes.
MAX_CALENDAR = 256_000

_CALENDAR_TYPES = ("text/calendar", "application/ics", "application/ical")

# The properties read. The rest, such as a Teams invitation's long DESCRIPTION, the
# alarms and the X- properties, is left out before parsing; so are the VTIMEZONE
# definitions while icalendar knows the TZID by name (IANA and Windows names), which
# is nearly always. Together that makes a typical invitation three times cheaper.
_KEEP = frozenset(
    {
        b"BEGIN",
        b"END",
        b"METHOD",
        b"VERSION",
        b"PRODID",
        b"UID",
        b"ORGANIZER",
        b"ATTENDEE",
        b"DTSTART",
        b"STATUS",
        b"SEQUENCE",
        b"SUMMARY",
        b"RECURRENCE-ID",
    }
)
_TIMEZONE_PROPERTIES = frozenset(
    {b"TZID", b"TZOFFSETFROM", b"TZOFFSETTO", b"TZNAME", b"RRULE", b"RDATE", b"TZURL"}
)
_FOLD = re.compile(rb"\r?\n[ \t]")
_NAME = re.compile(rb"^[A-Za-z0-9-]+")


def _slim(data: bytes, *, timezones: bool) -> bytes:
    """The content lines of ``data`` that :func:`_parse` reads, unfolded (RFC 5545
    §3.1): no alarms, and time zone definitions only when ``timezones``."""
    keep = _KEEP | _TIMEZONE_PROPERTIES if timezones else _KEEP
    skipped = (b"VALARM",) if timezones else (b"VALARM", b"VTIMEZONE")
    kept: list[bytes] = []
    skipping: bytes | None = None
    for line in _FOLD.sub(b"", data).splitlines():
        match = _NAME.match(line)
        if match is None:
            continue
        name = match.group(0).upper()
        value = line[len(name) + 1 :].strip().upper()
        if skipping is None and name == b"BEGIN" and value in skipped:
            skipping = value
        if skipping is None and name in keep:
            kept.append(line)
        if name == b"END" and value == skipping:
            skipping = None
    return b"\r\n".join(kept) + b"\r\n"


def _unresolved_zone(event: Any) -> bool:
    """Whether the event's start names a time zone that icalendar could not resolve
    without the message's own VTIMEZONE definition."""
    dtstart = event.get("DTSTART")
    value = getattr(dtstart, "dt", None)
    params = getattr(dtstart, "params", {}) or {}
    return isinstance(value, datetime) and value.tzinfo is None and "TZID" in params


def _calendar_parts(msg: mime.Parsed) -> list[Message]:
    found: list[tuple[bool, Message]] = []
    for part, ctype in msg.parts:
        if ctype.startswith("multipart/") or ctype.startswith("message/"):
            continue
        if ctype in _CALENDAR_TYPES or (
            ctype.startswith("application/") and mime.filename(part).lower().endswith(".ics")
        ):
            found.append((ctype != "text/calendar", part))
    # The body part (with its method) before the attachment.
    found.sort(key=lambda pair: pair[0])
    return [part for _, part in found]


def _address(value: Any) -> str | None:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip().strip("<>").lower()
    return text if "@" in text else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _method(value: str) -> MeetingMethod:
    upper = value.strip().upper()
    if upper == "REQUEST":
        return "REQUEST"
    if upper == "REPLY":
        return "REPLY"
    if upper == "CANCEL":
        return "CANCEL"
    return "OTHER"


def _parse(data: bytes, part_method: str) -> MeetingInfo | None:
    calendar = Calendar.from_ical(_slim(data, timezones=False))
    events = list(calendar.walk("VEVENT"))
    if not events:
        return None
    event = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
    if _unresolved_zone(event):
        calendar = Calendar.from_ical(_slim(data, timezones=True))
        events = list(calendar.walk("VEVENT"))
        event = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
    method = _method(str(calendar.get("METHOD") or part_method or ""))
    attendees = []
    for value in _as_list(event.get("ATTENDEE"))[:500]:
        address = _address(value)
        if address is None:
            continue
        params = getattr(value, "params", {}) or {}
        name = params.get("CN")
        attendees.append(
            Attendee(
                address=address,
                partstat=str(params.get("PARTSTAT") or "NEEDS-ACTION").upper(),
                name=str(name) if name else None,
            )
        )
    start: datetime | date | None = None
    dtstart = event.get("DTSTART")
    if dtstart is not None:
        value = getattr(dtstart, "dt", None)
        if isinstance(value, datetime | date):
            start = value
    status = event.get("STATUS")
    sequence = event.get("SEQUENCE")
    try:
        sequence_number = int(sequence) if sequence is not None else 0
    except (TypeError, ValueError):
        sequence_number = 0
    uid = event.get("UID")
    summary = event.get("SUMMARY")
    return MeetingInfo(
        method=method,
        uid=str(uid) if uid else None,
        organizer=_address(event.get("ORGANIZER")),
        attendees=tuple(attendees),
        start=start,
        status=str(status).upper() if status else None,
        sequence=sequence_number,
        summary=str(summary) if summary else None,
    )


def find_meeting(msg: mime.Parsed) -> MeetingInfo | None:
    """The calendar message ``msg`` carries, or ``None`` when it carries none that
    ``icalendar`` can read."""
    for part in _calendar_parts(msg)[:5]:
        data = mime.payload_bytes(part)[:MAX_CALENDAR]
        if b"BEGIN:VCALENDAR" not in data.upper():
            continue
        try:
            meeting = _parse(data, mime.param(part, "method"))
        except Exception:
            continue
        if meeting is not None:
            return meeting
    return None
