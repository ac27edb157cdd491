"""The "Meeting booked" exit, end to end against a real CalDAV server (Radicale).

Events are written into the sender's Radicale calendar with plain HTTP PUTs, as a
calendar client would; the worker's poll (``sync_calendars``) reads them with the
``caldav`` library and ends the enrollments the rule says.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection

from sequencer.calendars import sync
from sequencer.calendars.models import (
    CalendarConnection,
    CalendarStatus,
    MeetingBooking,
    SeenEvent,
)
from sequencer.calendars.providers.base import Fetched
from sequencer.calendars.sync import sync_calendars
from sequencer.sequences.models import EmailState, Enrollment, EnrollmentEvent
from tests.integration.calendars.conftest import RECIPIENT, SENDER, START, TEAMMATE, ics
from tests.peers.fixtures import RADICALE_USERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(radicale, sender, clock):
    """The sender's Radicale account, connected (Alice's calendar is the sender's)."""
    return CalendarConnection.objects.create(
        owner=sender,
        kind="caldav",
        url=radicale.url,
        username="alice",
        password=RADICALE_USERS["alice"],
        next_sync_at=clock.now(),
        created_at=clock.now(),
    )


def poll(clock, owner="worker-1"):
    """One worker tick's calendar poll, an hour after the enrollments began."""
    clock.set(max(clock.now(), START + timedelta(hours=2)))
    return sync_calendars(clock.now(), owner=owner, clock=clock)


def again(calendar, clock, minutes=6):
    """The next poll of ``calendar``, once it is due again."""
    clock.advance(timedelta(minutes=minutes))
    calendar.refresh_from_db()
    return sync_calendars(clock.now(), owner="worker-1", clock=clock)


def reload(enrollment):
    return Enrollment.objects.get(pk=enrollment.pk)


def test_a_meeting_the_sender_organises_with_the_recipient_exits_the_enrollment(
    radicale, calendar, enrolled, clock
):
    enrollment = enrolled()
    radicale.put_event(
        "alice",
        ics("intro-1@acme.test", attendees=[(RECIPIENT, "NEEDS-ACTION")]),
        name="intro-1",
    )

    assert poll(clock) == 1

    enrollment = reload(enrollment)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "meeting_booked")
    assert enrollment.finished_at == clock.now()
    assert set(enrollment.emails.values_list("state", flat=True)) == {EmailState.CANCELLED}
    [booking] = MeetingBooking.objects.filter(enrollment=enrollment)
    assert booking.uid == "intro-1@acme.test"
    assert booking.connection_id == calendar.pk
    assert booking.booked_at == START + timedelta(hours=1)
    [event] = EnrollmentEvent.objects.filter(enrollment=enrollment)
    assert event.kind == "meeting_booked"
    assert event.detail["uid"] == "intro-1@acme.test"
    assert event.detail["calendar_kind"] == "caldav"
    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.ACTIVE
    assert calendar.last_synced_at == clock.now()
    assert calendar.next_sync_at == clock.now() + sync.SYNC_INTERVAL
    assert calendar.lease_owner == "" and calendar.lease_until is None
    [position] = calendar.sync_cursor["calendars"].values()
    assert position["sync_token"].startswith("http://radicale.org/ns/sync/")


def test_a_meeting_the_recipient_organises_with_the_sender_invited_counts_too(
    radicale, calendar, enrolled, clock
):
    enrollment = enrolled()
    radicale.put_event(
        "alice",
        ics("theirs@prospect.test", organizer=RECIPIENT, attendees=[(SENDER, "TENTATIVE")]),
        name="theirs",
    )
    poll(clock)
    assert reload(enrollment).exit_reason == "meeting_booked"


@pytest.mark.parametrize(
    ("why", "event"),
    [
        ("cancelled", ics("x@acme.test", status="CANCELLED")),
        ("the recipient declined", ics("x@acme.test", attendees=[(RECIPIENT, "DECLINED")])),
        (
            "booked with another member, not the sender",
            ics("x@acme.test", organizer=TEAMMATE, attendees=[(RECIPIENT, "ACCEPTED")]),
        ),
        (
            "the sender declined a teammate's meeting",
            ics(
                "x@acme.test",
                organizer=TEAMMATE,
                attendees=[(RECIPIENT, "ACCEPTED"), (SENDER, "DECLINED")],
            ),
        ),
        ("created before the enrollment", ics("x@acme.test", created=START - timedelta(days=3))),
        (
            "no creation time, last changed before the enrollment",
            ics("x@acme.test", created=None, dtstamp=START - timedelta(minutes=1)),
        ),
        ("the recipient is not in it", ics("x@acme.test", attendees=[("else@x.test", "ACCEPTED")])),
        ("outside the window", ics("x@acme.test", start=START + timedelta(days=400))),
    ],
)
def test_these_events_do_not_exit_the_enrollment(
    radicale, calendar, enrolled, clock, teammate, why, event
):
    enrollment = enrolled()
    radicale.put_event("alice", event, name="x")

    assert poll(clock) == 1

    enrollment = reload(enrollment)
    assert enrollment.status == "active", why
    assert not MeetingBooking.objects.exists()
    assert not EnrollmentEvent.objects.filter(kind="meeting_booked").exists()


def test_a_meeting_with_a_teammate_and_the_sender_still_counts(
    radicale, calendar, enrolled, clock, teammate
):
    enrollment = enrolled()
    radicale.put_event(
        "alice",
        ics(
            "team@acme.test",
            organizer=TEAMMATE,
            attendees=[(RECIPIENT, "ACCEPTED"), (SENDER, "ACCEPTED")],
        ),
        name="team",
    )
    poll(clock)
    assert reload(enrollment).exit_reason == "meeting_booked"


def test_a_sequence_without_the_meeting_exit_keeps_its_recipient(
    radicale, calendar, enrolled, publish, clock
):
    kept = enrolled(sequence=publish(exit_on_meeting_booked=False))
    radicale.put_event("alice", ics("intro@acme.test"), name="intro")

    poll(clock)

    assert reload(kept).status == "active"
    assert not MeetingBooking.objects.exists()


def test_only_the_recipient_in_the_meeting_exits_and_every_sequence_of_theirs_does(
    radicale, calendar, enrolled, publish, clock
):
    first = enrolled()
    # The same address in a second sequence of the sender's (another person row).
    second = enrolled(sequence=publish())
    bystander = enrolled("someone@else.test")
    radicale.put_event("alice", ics("intro@acme.test"), name="intro")

    poll(clock)

    assert reload(first).exit_reason == "meeting_booked"
    assert reload(second).exit_reason == "meeting_booked"
    assert reload(bystander).status == "active"


def test_an_event_added_after_the_first_poll_is_found_through_the_sync_token(
    radicale, calendar, enrolled, clock
):
    enrollment = enrolled()
    radicale.put_event("alice", ics("other@acme.test", attendees=[]), name="other")
    poll(clock)
    calendar.refresh_from_db()
    token = next(iter(calendar.sync_cursor["calendars"].values()))["sync_token"]
    assert reload(enrollment).status == "active"

    radicale.put_event("alice", ics("intro@acme.test"), name="intro")
    assert again(calendar, clock) == 1

    assert reload(enrollment).exit_reason == "meeting_booked"
    calendar.refresh_from_db()
    assert next(iter(calendar.sync_cursor["calendars"].values()))["sync_token"] != token


def test_a_sync_token_the_server_no_longer_knows_falls_back_to_the_window(
    radicale, calendar, enrolled, clock
):
    enrollment = enrolled()
    calendar.sync_cursor = {
        "calendars": {radicale.calendar_url("alice"): {"sync_token": "http://radicale.org/x"}}
    }
    calendar.last_synced_at = START
    calendar.save()
    radicale.put_event("alice", ics("intro@acme.test"), name="intro")

    poll(clock)

    assert reload(enrollment).exit_reason == "meeting_booked"
    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.ACTIVE


def test_a_uid_seen_twice_applies_once(radicale, calendar, enrolled, clock):
    """The same meeting in two calendars of the sender, and twice in one object (a
    recurring event with one changed occurrence), read by two polls: one booking, one
    timeline event. A re-enrollment afterwards is not ended by the old meeting."""
    enrollment = enrolled()
    radicale.make_calendar("alice", "second")
    changed_occurrence = "\r\n".join(
        [
            "BEGIN:VEVENT",
            "UID:weekly@acme.test",
            "RECURRENCE-ID:20260317T150000Z",
            "DTSTAMP:20260302T110000Z",
            "DTSTART:20260317T160000Z",
            "DTEND:20260317T163000Z",
            f"ORGANIZER:mailto:{SENDER}",
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{RECIPIENT}",
            "END:VEVENT",
        ]
    )
    weekly = ics(
        "weekly@acme.test", start=START + timedelta(days=8, hours=5), extra_components=""
    ).replace("SUMMARY:Intro call", "SUMMARY:Weekly\r\nRRULE:FREQ=WEEKLY;COUNT=4")
    weekly = weekly.replace("END:VCALENDAR", changed_occurrence + "\r\nEND:VCALENDAR")
    radicale.put_event("alice", weekly, name="weekly")
    radicale.put_event("alice", weekly, name="weekly", calendar="second")

    poll(clock)
    calendar.refresh_from_db()
    calendar.sync_cursor = {}  # the next poll lists everything again
    calendar.save()
    again(calendar, clock)

    enrollment = reload(enrollment)
    assert enrollment.exit_reason == "meeting_booked"
    assert MeetingBooking.objects.filter(enrollment=enrollment).count() == 1
    assert EnrollmentEvent.objects.filter(enrollment=enrollment, kind="meeting_booked").count() == 1

    # Enrolled again later: the meeting booked before that is not a new booking.
    from sequencer.sequences.enrollment import Recipient, enroll
    from sequencer.testing import FakeClock

    [outcome] = enroll(
        enrollment.sender,
        enrollment.sequence_id,
        [Recipient(enrollment.person_id)],
        mailbox_id=enrollment.mailbox_id,
        clock=FakeClock(clock.now()),
    ).outcomes
    calendar.refresh_from_db()
    calendar.sync_cursor = {}
    calendar.save()
    again(calendar, clock)
    assert Enrollment.objects.get(pk=outcome.enrollment_id).status == "active"
    assert MeetingBooking.objects.count() == 1


def test_an_event_without_a_creation_time_is_dated_by_the_stamp_the_server_gave_it(
    radicale, calendar, enrolled, clock
):
    """Radicale writes DTSTAMP (the time it stored the object) when the client left it
    out; with no CREATED that is when the meeting was booked."""
    enrollment = enrolled()
    bare = "\r\n".join(
        line
        for line in ics("bare@acme.test", created=None).split("\r\n")
        if not line.startswith("DTSTAMP")
    )
    url = radicale.put_event("alice", bare, name="bare")
    [stored] = [
        line for line in radicale.get(url, "alice").splitlines() if line.startswith("DTSTAMP")
    ]
    stamped = datetime.strptime(stored.split(":", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    poll(clock)

    [booking] = MeetingBooking.objects.filter(enrollment=enrollment)
    assert booking.booked_at == stamped
    assert SeenEvent.objects.get(uid="bare@acme.test").in_baseline


def test_the_other_members_calendar_never_ends_the_senders_enrollment(
    radicale, enrolled, clock, teammate
):
    """A teammate's own calendar shows their meeting with the recipient: the sender's
    enrollment goes on (the teammate has no enrollment with that recipient)."""
    CalendarConnection.objects.create(
        owner=teammate,
        kind="caldav",
        url=radicale.url,
        username="bob",
        password=RADICALE_USERS["bob"],
        created_at=clock.now(),
    )
    enrollment = enrolled()
    radicale.put_event(
        "bob",
        ics("bo@acme.test", organizer=TEAMMATE, attendees=[(RECIPIENT, "ACCEPTED")]),
        name="bo",
    )
    assert poll(clock) == 1
    assert reload(enrollment).status == "active"


def test_a_wrong_password_disconnects_the_calendar_with_the_reason(
    radicale, calendar, enrolled, clock
):
    calendar.password = "wrong"
    calendar.save()

    assert poll(clock) == 1

    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.DISCONNECTED
    assert "refused the username 'alice' or its password (HTTP 401)" in calendar.status_reason
    assert calendar.lease_owner == ""
    # Not polled again until a person fixes it.
    clock.advance(timedelta(hours=3))
    assert sync_calendars(clock.now(), owner="worker-1", clock=clock) == 0


def test_an_unreachable_server_is_retried_later_with_a_growing_delay(calendar, clock, closed_port):
    calendar.url = f"http://127.0.0.1:{closed_port}/"
    calendar.save()

    poll(clock)
    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.FAILING
    assert "connection was refused" in calendar.status_reason
    assert calendar.next_sync_at == clock.now() + timedelta(minutes=5)

    again(calendar, clock, minutes=5)
    calendar.refresh_from_db()
    assert calendar.failure_count == 2
    assert calendar.next_sync_at == clock.now() + timedelta(minutes=10)


# -- the lease ----------------------------------------------------------------------------


def test_a_calendar_leased_by_one_worker_is_not_polled_by_another(calendar, clock):
    now = START + timedelta(hours=2)
    assert sync.claim(calendar.pk, owner="worker-1", now=now)
    assert not sync.claim(calendar.pk, owner="worker-2", now=now)
    assert sync_calendars(now, owner="worker-2", clock=clock) == 0
    calendar.refresh_from_db()
    assert calendar.lease_owner == "worker-1"
    assert calendar.last_synced_at is None

    # Worker 1 died: once its lease has run out, worker 2 takes the calendar over.
    later = now + sync.LEASE + timedelta(seconds=1)
    clock.set(later)
    assert sync_calendars(later, owner="worker-2", clock=clock) == 1
    calendar.refresh_from_db()
    assert calendar.last_synced_at == later
    assert calendar.lease_owner == ""


def test_a_worker_whose_lease_expired_mid_poll_does_not_store_its_result(calendar, clock):
    class Slow:
        def fetch(self, cursor, window):
            # Meanwhile the lease ran out and another worker took the calendar.
            CalendarConnection.objects.filter(pk=calendar.pk).update(lease_owner="worker-2")
            return Fetched([], {"stale": True})

        def check(self):
            return "ok"

    poll_time = START + timedelta(hours=2)
    assert sync.claim(calendar.pk, owner="worker-1", now=poll_time)
    sync.sync_one(calendar.pk, owner="worker-1", clock=clock, sources=lambda c, k: Slow())
    calendar.refresh_from_db()
    assert calendar.sync_cursor == {}
    assert calendar.lease_owner == "worker-2"


@pytest.mark.django_db(transaction=True)
def test_two_workers_polling_at_the_same_moment_never_both_read_a_calendar(radicale, sender, clock):
    calendar = CalendarConnection.objects.create(
        owner=sender,
        kind="caldav",
        url=radicale.url,
        username="alice",
        password=RADICALE_USERS["alice"],
        created_at=clock.now(),
    )
    reading = threading.Event()
    release = threading.Event()
    reads: list[str] = []
    real = sync.source_for

    def blocking(connection, source_clock):
        source = real(connection, source_clock)

        class Blocking:
            def fetch(self, cursor, window):
                reads.append(threading.current_thread().name)
                reading.set()
                assert release.wait(10)
                return source.fetch(cursor, window)

            def check(self):
                return source.check()

        return Blocking()

    now = START + timedelta(hours=2)
    clock.set(now)
    results: dict[str, int] = {}

    def worker(name):
        try:
            results[name] = sync_calendars(now, owner=name, clock=clock, sources=blocking)
        finally:
            db_connection.close()

    first = threading.Thread(target=worker, args=("worker-1",), name="worker-1")
    first.start()
    assert reading.wait(10)
    # Worker 1 is reading the calendar now; worker 2's tick comes.
    second = threading.Thread(target=worker, args=("worker-2",), name="worker-2")
    second.start()
    second.join(10)
    release.set()
    first.join(10)

    assert results == {"worker-1": 1, "worker-2": 0}
    assert reads == ["worker-1"]
    calendar.refresh_from_db()
    assert calendar.last_synced_at == now
    assert calendar.lease_owner == ""


def test_one_tick_stops_taking_calendars_when_its_time_is_up(radicale, sender, teammate, clock):
    for owner, user in ((sender, "alice"), (teammate, "bob")):
        CalendarConnection.objects.create(
            owner=owner,
            kind="caldav",
            url=radicale.url,
            username=user,
            password=RADICALE_USERS[user],
            created_at=clock.now(),
        )
    now = START + timedelta(hours=2)
    clock.set(now)

    assert sync_calendars(now, owner="worker-1", clock=clock, budget_seconds=0) == 1
    assert sync_calendars(now, owner="worker-1", clock=clock, budget_seconds=0) == 1
    assert sync_calendars(now, owner="worker-1", clock=clock) == 0
    assert not CalendarConnection.objects.filter(last_synced_at__isnull=True).exists()


def test_a_calendar_that_breaks_unexpectedly_does_not_stop_the_others(
    radicale, calendar, teammate, clock
):
    other = CalendarConnection.objects.create(
        owner=teammate,
        kind="caldav",
        url=radicale.url,
        username="bob",
        password=RADICALE_USERS["bob"],
        created_at=clock.now(),
    )

    def sources(connection, source_clock):
        if connection.pk == calendar.pk:
            raise RuntimeError("boom")
        return sync.source_for(connection, source_clock)

    now = START + timedelta(hours=2)
    clock.set(now)
    assert sync_calendars(now, owner="worker-1", clock=clock, sources=sources) == 2

    calendar.refresh_from_db()
    other.refresh_from_db()
    assert (calendar.status, calendar.status_reason) == (
        CalendarStatus.FAILING,
        "The poll failed unexpectedly: boom",
    )
    assert calendar.lease_owner == ""
    assert (other.status, other.last_synced_at) == (CalendarStatus.ACTIVE, now)
