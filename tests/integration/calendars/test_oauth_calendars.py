"""Google Calendar and Outlook calendars, read with the mailbox's OAuth sign-in, against
the Gmail/Graph emulator (tests/peers/emulator.py).

What the emulator serves: Google ``calendar/v3/calendars/primary/events`` (create, and
list with ``timeMin``/``timeMax``/``pageToken``; events carry ``created`` and
``attendees[].organizer``/``responseStatus``) and Graph ``/me/calendar/events`` (create)
and ``/me/events`` (list with ``$top``/``@odata.nextLink``). What it lacks, and a
FaultProxy in front of it stands in for: Google ``syncToken``/``nextSyncToken``/410 and
``organizer``; Graph ``$filter`` (it lists everything), ``createdDateTime``,
``lastModifiedDateTime``, ``organizer``, ``iCalUId``, ``isCancelled`` and attendee
``status``; neither answers 403 or 429. It also holds one shared calendar per pytest
process, so each test uses recipients of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from sequencer.calendars.models import CalendarConnection, CalendarStatus, MeetingBooking
from sequencer.calendars.sync import sync_calendars
from sequencer.clock import system_clock
from sequencer.mail import oauth
from sequencer.sequences.models import Enrollment
from sequencer.testing import FakeClock
from tests.integration.calendars.conftest import make_mailbox
from tests.peers.emulator import ALICE, ALICE_TOKEN
from tests.peers.fault_proxy import Reply

pytestmark = pytest.mark.django_db

GOOGLE_EVENTS = "/calendar/v3/calendars/primary/events"
GRAPH_EVENTS = "/v1.0/me/events"
AUTH = {"Authorization": f"Bearer {ALICE_TOKEN}"}


@pytest.fixture
def now_clock() -> FakeClock:
    """Real time, a little in the past: the emulator dates the events it creates by its
    own clock, and enrollments must begin before them."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))


def recipient() -> str:
    return f"r-{uuid.uuid4().hex[:10]}@prospect.test"


@pytest.fixture
def oauth_calendar(sender, api_emulator_settings, settings):
    """``oauth_calendar(kind, via=None)``: the sender's mailbox at the emulator (Alice's
    real tokens) and its calendar connected; ``via`` routes the calendar API through a
    FaultProxy."""

    def make(kind: str, via: str | None = None) -> CalendarConnection:
        provider = "gmail" if kind == "google" else "microsoft"
        issued = api_emulator_settings.issue_tokens(
            provider, scope=" ".join(oauth.app_for(provider).scopes)
        )
        mailbox = make_mailbox(
            sender,
            ALICE,
            provider=provider,
            oauth_tokens={
                "access_token": issued["access_token"],
                "refresh_token": issued["refresh_token"],
                "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
        )
        if via and kind == "google":
            settings.GOOGLE_CALENDAR_API_URL = via
        elif via:
            settings.GRAPH_API_URL = via
        return CalendarConnection.objects.create(
            owner=sender, kind=kind, mailbox=mailbox, created_at=system_clock.now()
        )

    return make


def google_event(emulator, *attendees: tuple[str, str], start: datetime, **fields):
    body = {
        "summary": "Intro call",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()},
        "attendees": [
            {"email": email, "responseStatus": status, "organizer": email == ALICE}
            for email, status in attendees
        ],
        **fields,
    }
    answer = httpx.post(f"{emulator.google_url}{GOOGLE_EVENTS}", headers=AUTH, json=body)
    answer.raise_for_status()
    return answer.json()


def graph_event(emulator, *emails: str, start: datetime):
    body = {
        "subject": "Intro call",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": e}, "type": "required"} for e in emails],
    }
    answer = httpx.post(
        f"{emulator.microsoft_url}/v1.0/me/calendar/events", headers=AUTH, json=body
    )
    answer.raise_for_status()
    return answer.json()


def poll(clock, minutes=6):
    clock.advance(timedelta(minutes=minutes))
    return sync_calendars(clock.now(), owner="worker-1", clock=clock)


def status_of(enrollment):
    found = Enrollment.objects.get(pk=enrollment.pk)
    return found.status, found.exit_reason


# -- Google --------------------------------------------------------------------------------


def test_a_google_meeting_with_the_recipient_exits_the_enrollment(
    api_emulator_settings, oauth_calendar, enrolled, now_clock
):
    calendar = oauth_calendar("google")
    booked, declined, untouched = recipient(), recipient(), recipient()
    enrollments = {
        email: enrolled(email, at=now_clock.now()) for email in (booked, declined, untouched)
    }
    start = now_clock.now() + timedelta(days=3)
    google_event(api_emulator_settings, (ALICE, "accepted"), (booked, "needsAction"), start=start)
    google_event(api_emulator_settings, (ALICE, "accepted"), (declined, "declined"), start=start)

    assert poll(now_clock) == 1

    assert status_of(enrollments[booked]) == ("exited", "meeting_booked")
    assert status_of(enrollments[declined]) == ("active", "")
    assert status_of(enrollments[untouched]) == ("active", "")
    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.ACTIVE
    # The emulator gives no nextSyncToken: the next poll lists the window again.
    assert calendar.sync_cursor == {}


def test_a_google_meeting_booked_before_the_enrollment_does_not_count(
    api_emulator_settings, oauth_calendar, enrolled, now_clock
):
    oauth_calendar("google")
    email = recipient()
    google_event(
        api_emulator_settings,
        (ALICE, "accepted"),
        (email, "accepted"),
        start=now_clock.now() + timedelta(days=2),
    )
    later = datetime.now(UTC) + timedelta(seconds=1)
    enrollment = enrolled(email, at=later)
    now_clock.set(later)

    poll(now_clock)

    assert status_of(enrollment) == ("active", "")


def test_google_sync_tokens_are_kept_and_a_gone_token_lists_the_window_again(
    api_emulator_settings, oauth_calendar, enrolled, now_clock, fault_proxy
):
    proxy = fault_proxy(api_emulator_settings.google_url)
    calendar = oauth_calendar("google", via=proxy.url)
    email = recipient()
    enrollment = enrolled(email, at=now_clock.now())
    proxy.script(
        Reply(200, json={"kind": "calendar#events", "items": [], "nextSyncToken": "sync-1"}),
        method="GET",
        path=GOOGLE_EVENTS,
    )
    poll(now_clock)
    calendar.refresh_from_db()
    assert calendar.sync_cursor == {"sync_token": "sync-1"}
    first = parse_qs(proxy.requests_to("GET", GOOGLE_EVENTS)[-1].query)
    assert "timeMin" in first and "timeMax" in first and "syncToken" not in first

    google_event(
        api_emulator_settings,
        (ALICE, "accepted"),
        (email, "accepted"),
        start=now_clock.now() + timedelta(days=1),
    )
    proxy.script(
        Reply(410, json={"error": {"code": 410, "message": "Sync token is no longer valid."}}),
        method="GET",
        path=GOOGLE_EVENTS,
    )
    poll(now_clock)

    second, third = (parse_qs(r.query) for r in proxy.requests_to("GET", GOOGLE_EVENTS)[-2:])
    assert second["syncToken"] == ["sync-1"] and "timeMin" not in second
    assert "timeMin" in third and "syncToken" not in third
    assert status_of(enrollment) == ("exited", "meeting_booked")


def test_google_without_calendar_permission_disconnects_with_how_to_fix_it(
    api_emulator_settings, oauth_calendar, now_clock, fault_proxy, api_as, sender
):
    proxy = fault_proxy(api_emulator_settings.google_url)
    calendar = oauth_calendar("google", via=proxy.url)
    proxy.script(
        Reply(
            403,
            json={
                "error": {
                    "code": 403,
                    "message": "Request had insufficient authentication scopes.",
                    "errors": [{"reason": "insufficientPermissions"}],
                    "status": "PERMISSION_DENIED",
                }
            },
        ),
        times=2,
    )

    answer = api_as(sender).post(f"calendars/{calendar.pk}/test")
    assert answer.data == {
        "ok": False,
        "message": f"{ALICE} was connected without permission to read its calendar: connect "
        "the mailbox again from the Mailboxes page and allow calendar access.",
        "status": "disconnected",
    }
    CalendarConnection.objects.filter(pk=calendar.pk).update(status="active")
    poll(now_clock)
    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.DISCONNECTED
    assert "allow calendar access" in calendar.status_reason

    assert api_as(sender).post(f"calendars/{calendar.pk}/test").data == {
        "ok": True,
        "message": f"Connected to the Google Calendar of {ALICE}.",
        "status": "active",
    }


def test_a_google_rate_limit_waits_for_retry_after(
    api_emulator_settings, oauth_calendar, now_clock, fault_proxy
):
    proxy = fault_proxy(api_emulator_settings.google_url)
    calendar = oauth_calendar("google", via=proxy.url)
    proxy.script(
        Reply(429, headers={"Retry-After": "900"}, json={"error": {"code": 429}}),
        path=GOOGLE_EVENTS,
    )

    poll(now_clock)

    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.FAILING
    assert calendar.next_sync_at == now_clock.now() + timedelta(seconds=900)
    assert "HTTP 429" in calendar.status_reason


# -- Microsoft -----------------------------------------------------------------------------


def test_an_outlook_meeting_first_seen_after_the_enrollment_exits_it(
    api_emulator_settings, oauth_calendar, enrolled, now_clock, fault_proxy
):
    """The emulator gives no creation time: an event is dated by when a poll first saw
    it, and one already there at the calendar's first poll is not a new booking."""
    proxy = fault_proxy(api_emulator_settings.microsoft_url)
    calendar = oauth_calendar("microsoft", via=proxy.url)
    existing, booked = recipient(), recipient()
    enrollments = {email: enrolled(email, at=now_clock.now()) for email in (existing, booked)}
    start = now_clock.now() + timedelta(days=4)
    graph_event(api_emulator_settings, existing, start=start)

    poll(now_clock)
    assert status_of(enrollments[existing]) == ("active", "")
    first = parse_qs(proxy.requests_to("GET", GRAPH_EVENTS)[0].query)
    window_start = now_clock.now() - timedelta(days=30)
    assert first["$filter"] == [window_start.strftime("lastModifiedDateTime ge %Y-%m-%dT%H:%M:%SZ")]
    calendar.refresh_from_db()
    since = datetime.fromisoformat(calendar.sync_cursor["modified_since"])
    assert since == now_clock.now() - timedelta(minutes=10)

    graph_event(api_emulator_settings, booked, start=start)
    poll(now_clock)

    assert status_of(enrollments[booked]) == ("exited", "meeting_booked")
    assert status_of(enrollments[existing]) == ("active", "")
    last = parse_qs(proxy.requests_to("GET", GRAPH_EVENTS)[-1].query)
    assert last["$filter"] == [since.strftime("lastModifiedDateTime ge %Y-%m-%dT%H:%M:%SZ")]


def test_graph_events_are_read_as_graph_describes_them(
    api_emulator_settings, oauth_calendar, enrolled, now_clock, fault_proxy
):
    """Graph's full event shape (organizer, attendee status, isCancelled, the owner's own
    response, createdDateTime), across two pages."""
    proxy = fault_proxy(api_emulator_settings.microsoft_url)
    oauth_calendar("microsoft", via=proxy.url)
    emails = {name: recipient() for name in ("theirs", "cancelled", "declined", "ours", "old")}
    enrollments = {name: enrolled(email, at=now_clock.now()) for name, email in emails.items()}
    created = (now_clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = {
        "dateTime": (now_clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }

    def event(uid, organizer, attendees, **fields):
        return {
            "id": f"AAMk{uid}",
            "iCalUId": f"040000008200E00074C5B7101A82E008{uid}",
            "subject": "Intro call",
            "start": start,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "organizer": {"emailAddress": {"address": organizer}},
            "attendees": [
                {"emailAddress": {"address": a}, "status": {"response": r}} for a, r in attendees
            ],
            "responseStatus": {"response": "organizer" if organizer == ALICE else "accepted"},
            **fields,
        }

    page_one = [
        # The recipient invited the sender, who has not answered yet.
        event(
            "1", emails["theirs"], [(ALICE, "none")], responseStatus={"response": "notResponded"}
        ),
        event("2", ALICE, [(emails["cancelled"], "accepted")], isCancelled=True),
        event("3", ALICE, [(emails["declined"], "declined")]),
    ]
    page_two = [
        # The sender declined the recipient's invitation.
        event("4", emails["ours"], [(ALICE, "declined")], responseStatus={"response": "declined"}),
        event("5", ALICE, [(emails["old"], "accepted")], createdDateTime="2020-01-01T00:00:00Z"),
    ]
    proxy.script(
        Reply(
            200,
            json={"value": page_one, "@odata.nextLink": f"{proxy.url}{GRAPH_EVENTS}?$skiptoken=2"},
        ),
        path=GRAPH_EVENTS,
    )
    proxy.script(Reply(200, json={"value": page_two}), path=GRAPH_EVENTS)

    poll(now_clock)

    assert proxy.requests_to("GET", GRAPH_EVENTS)[1].query == "$skiptoken=2"
    assert {name: status_of(e)[0] for name, e in enrollments.items()} == {
        "theirs": "exited",
        "cancelled": "active",
        "declined": "active",
        "ours": "active",
        "old": "active",
    }
    [booking] = MeetingBooking.objects.all()
    assert booking.uid == "040000008200E00074C5B7101A82E0081"
    assert booking.booked_at == datetime.fromisoformat(created)


def test_outlook_without_calendar_permission_disconnects(
    api_emulator_settings, oauth_calendar, now_clock, fault_proxy, api_as, sender
):
    proxy = fault_proxy(api_emulator_settings.microsoft_url)
    calendar = oauth_calendar("microsoft", via=proxy.url)
    denied = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    proxy.script(Reply(403, json=denied), path=GRAPH_EVENTS)

    poll(now_clock)

    calendar.refresh_from_db()
    assert calendar.status == CalendarStatus.DISCONNECTED
    assert calendar.status_reason == (
        f"{ALICE} was connected without permission to read its calendar (HTTP 403: "
        "ErrorAccessDenied: Access is denied.): connect the mailbox again from the Mailboxes "
        "page and allow calendar access (Calendars.Read)."
    )
    assert api_as(sender).post(f"calendars/{calendar.pk}/test").data == {
        "ok": True,
        "message": f"Connected to the Outlook calendar “Calendar” of {ALICE}.",
        "status": "active",
    }
