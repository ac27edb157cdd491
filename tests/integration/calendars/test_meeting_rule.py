"""The meeting rule and the event readers, without a server (no database either)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sequencer.calendars.meetings import booked_at, is_booking_between, is_new_booking, present
from sequencer.calendars.providers.base import (
    CalendarEvent,
    Participant,
    Window,
    address,
    as_utc,
)
from sequencer.calendars.providers.caldav import events_from_ical
from sequencer.calendars.providers.google import event_from_google
from sequencer.calendars.providers.microsoft import event_from_graph
from sequencer.calendars.sync import backoff

SENDER = {"sales@acme.test", "ada@acme.test"}
PAT = "pat@prospect.test"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def event(organizer="sales@acme.test", *attendees, status="CONFIRMED", **fields):
    return CalendarEvent(
        uid="u1",
        organizer=organizer,
        attendees=tuple(Participant(e, p) for e, p in attendees),
        status=status,
        **fields,
    )


@pytest.mark.parametrize(
    ("the_event", "counts"),
    [
        (event("sales@acme.test", (PAT, "NEEDS-ACTION")), True),
        (event(PAT, ("ada@acme.test", "ACCEPTED")), True),  # any of the sender's addresses
        (event(PAT, ("sales@acme.test", "DECLINED")), False),
        (event("sales@acme.test", (PAT, "DECLINED")), False),
        (event("sales@acme.test", (PAT, "ACCEPTED"), status="CANCELLED"), False),
        (event("bo@acme.test", (PAT, "ACCEPTED")), False),  # another member's meeting
        (event("bo@acme.test", (PAT, "ACCEPTED"), ("sales@acme.test", "TENTATIVE")), True),
        (event("sales@acme.test", ("else@x.test", "ACCEPTED")), False),
        # The organizer listed as a declining attendee is not taking part.
        (event("sales@acme.test", ("sales@acme.test", "DECLINED"), (PAT, "ACCEPTED")), False),
        (event(None, (PAT, "ACCEPTED")), False),
    ],
)
def test_the_rule(the_event, counts):
    assert is_booking_between(the_event, SENDER, PAT) is counts


def test_the_recipient_being_one_of_the_senders_addresses_never_counts():
    assert not is_booking_between(
        event("sales@acme.test", (PAT, "ACCEPTED")), SENDER, "ada@acme.test"
    )


def test_who_takes_part():
    assert present(event("a@x.test", ("b@x.test", "ACCEPTED"), ("c@x.test", "DECLINED"))) == {
        "a@x.test",
        "b@x.test",
    }


def test_when_a_meeting_was_booked():
    created, stamp, seen = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)
    assert booked_at(event(created=created, stamp=stamp), seen, False) == created
    assert booked_at(event(stamp=stamp), seen, False) == stamp
    assert booked_at(event(stamp=seen + timedelta(days=9)), seen, False) == seen
    assert booked_at(event(), seen, False) == seen
    # Seen first by the calendar's first poll: only the event's own stamp says anything.
    assert booked_at(event(stamp=stamp), seen, True) == stamp
    assert booked_at(event(), seen, True) is None
    assert is_new_booking(T0, T0) and not is_new_booking(T0 - timedelta(seconds=1), T0)
    assert not is_new_booking(None, T0)


def test_the_window_keeps_recurring_and_undated_events():
    window = Window(T0, T0 + timedelta(days=10))
    assert window.holds(event(start=T0 + timedelta(days=1)))
    assert not window.holds(event(start=T0 - timedelta(days=1)))
    assert window.holds(event(start=T0 - timedelta(days=100), recurring=True))
    assert window.holds(event(start=None))


def test_addresses_and_times():
    assert address("MAILTO:Pat@Prospect.TEST ") == "pat@prospect.test"
    assert as_utc("2026-03-02T11:00:00+01:00") == T0
    assert as_utc("2026-03-02T10:00:00Z") == T0
    assert as_utc("2026-03-02T10:00:00.0000000") == T0  # Graph, in UTC by request
    assert as_utc(date(2026, 3, 2)) == T0.replace(hour=0)
    assert as_utc("2026-03-02") == T0.replace(hour=0)
    assert as_utc("nonsense") is None and as_utc(None) is None


ICAL = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:abc@example.test
DTSTAMP:20260302T120000Z
LAST-MODIFIED:20260302T110000Z
CREATED:20260302T100000Z
DTSTART;TZID=Europe/Berlin:20260310T160000
DTEND;TZID=Europe/Berlin:20260310T163000
SUMMARY:Intro
STATUS:TENTATIVE
ORGANIZER;CN=Sales:MAILTO:Sales@Acme.test
ATTENDEE;CN=Pat;PARTSTAT=declined:mailto:pat@prospect.test
ATTENDEE:mailto:ada@acme.test
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:allday@example.test
DTSTAMP:20260302T120000Z
DTSTART;VALUE=DATE:20260311
SUMMARY:Offsite
END:VEVENT
BEGIN:VTODO
UID:todo@example.test
DTSTAMP:20260302T120000Z
END:VTODO
END:VCALENDAR
"""


def test_icalendar_events_are_read_as_stored():
    first, allday = events_from_ical(ICAL)
    assert first == CalendarEvent(
        uid="abc@example.test",
        organizer="sales@acme.test",
        attendees=(
            Participant("pat@prospect.test", "DECLINED"),
            Participant("ada@acme.test", "NEEDS-ACTION"),
        ),
        status="TENTATIVE",
        start=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
        created=T0,
        stamp=T0 + timedelta(hours=1),
        summary="Intro",
        recurring=True,
    )
    assert allday.start == datetime(2026, 3, 11, tzinfo=UTC)
    assert allday.organizer is None and allday.attendees == ()
    assert events_from_ical("not a calendar") == []


def test_google_events_are_read_as_the_api_gives_them():
    found = event_from_google(
        {
            "id": "x1",
            "iCalUID": "x1@google.com",
            "status": "cancelled",
            "created": "2026-03-02T10:00:00.000Z",
            "updated": "2026-03-02T12:00:00.000Z",
            "start": {"dateTime": "2026-03-10T16:00:00+01:00"},
            "organizer": {"email": "Pat@prospect.test"},
            "attendees": [
                {"email": "pat@prospect.test", "responseStatus": "accepted", "organizer": True},
                {"email": "sales@acme.test", "responseStatus": "tentative", "self": True},
                {"resource": True, "responseStatus": "accepted"},
            ],
            "recurrence": ["RRULE:FREQ=DAILY"],
        },
        "sales@acme.test",
    )
    assert found == CalendarEvent(
        uid="x1@google.com",
        organizer="pat@prospect.test",
        attendees=(
            Participant("pat@prospect.test", "ACCEPTED"),
            Participant("sales@acme.test", "TENTATIVE"),
        ),
        status="CANCELLED",
        start=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
        created=T0,
        stamp=T0 + timedelta(hours=2),
        summary="",
        recurring=True,
    )
    # No organizer at all: the calendar owner's own event.
    bare = event_from_google({"id": "x2", "start": {"date": "2026-03-11"}}, "sales@acme.test")
    assert bare is not None and bare.organizer == "sales@acme.test"
    assert event_from_google({}, "sales@acme.test") is None


def test_graph_events_are_read_as_the_api_gives_them():
    found = event_from_graph(
        {
            "id": "AAMk1",
            "iCalUId": "0400001",
            "isCancelled": False,
            "type": "seriesMaster",
            "createdDateTime": "2026-03-02T10:00:00Z",
            "lastModifiedDateTime": "2026-03-02T10:30:00Z",
            "start": {"dateTime": "2026-03-10T15:00:00.0000000", "timeZone": "UTC"},
            "organizer": {"emailAddress": {"address": "pat@prospect.test"}},
            "attendees": [
                {
                    "emailAddress": {"address": "sales@acme.test"},
                    "status": {"response": "tentativelyAccepted"},
                }
            ],
            "responseStatus": {"response": "declined"},
        },
        "sales@acme.test",
    )
    assert found is not None
    assert found.uid == "0400001" and found.recurring
    assert found.attendees == (Participant("sales@acme.test", "DECLINED"),)
    assert found.start == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert not is_booking_between(found, SENDER, PAT)


def test_failed_polls_wait_longer_each_time_up_to_an_hour():
    assert [backoff(n).total_seconds() / 60 for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
