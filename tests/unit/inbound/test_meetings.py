"""When a calendar message means a meeting was booked."""

from __future__ import annotations

import pytest

from sequencer.mail.inbound import Attendee, MeetingInfo, classify

from .support import MAILBOX, RECEIVED

SENDER = "alice@northwind.test"
PROSPECT = "tom@initech.test"


def meeting(method, organizer, *attendees, status="CONFIRMED"):
    return MeetingInfo(
        method=method,
        uid="u1",
        organizer=organizer,
        attendees=tuple(Attendee(a, p) for a, p in attendees),
        status=status,
    )


def test_an_invitation_from_the_prospect_to_the_sender_counts():
    invite = meeting("REQUEST", PROSPECT, (SENDER, "NEEDS-ACTION"), (PROSPECT, "ACCEPTED"))
    assert invite.counts_as_booked(SENDER, PROSPECT)


def test_a_booking_tool_invitation_with_the_sender_as_organiser_counts():
    invite = meeting("REQUEST", SENDER, (PROSPECT, "NEEDS-ACTION"))
    assert invite.counts_as_booked(SENDER, PROSPECT)


def test_addresses_are_compared_without_regard_to_case():
    invite = meeting("REQUEST", "Tom@Initech.TEST", ("Alice@Northwind.test", "NEEDS-ACTION"))
    assert invite.counts_as_booked(SENDER, PROSPECT)


def test_an_invitation_between_other_people_does_not_count():
    invite = meeting("REQUEST", "carol@initech.test", (SENDER, "NEEDS-ACTION"))
    assert not invite.counts_as_booked(SENDER, PROSPECT)


def test_the_prospects_acceptance_counts():
    reply = meeting("REPLY", SENDER, (PROSPECT, "ACCEPTED"))
    assert reply.counts_as_booked(SENDER, PROSPECT)


@pytest.mark.parametrize("partstat", ["DECLINED", "TENTATIVE", "NEEDS-ACTION"])
def test_a_reply_that_does_not_accept_does_not_count(partstat):
    reply = meeting("REPLY", SENDER, (PROSPECT, partstat))
    assert not reply.counts_as_booked(SENDER, PROSPECT)


def test_someone_elses_acceptance_does_not_count():
    reply = meeting("REPLY", SENDER, ("carol@initech.test", "ACCEPTED"))
    assert not reply.counts_as_booked(SENDER, PROSPECT)


def test_a_cancellation_never_counts():
    cancel = meeting(
        "CANCEL", PROSPECT, (SENDER, "NEEDS-ACTION"), (PROSPECT, "ACCEPTED"), status="CANCELLED"
    )
    assert not cancel.counts_as_booked(SENDER, PROSPECT)


def test_a_request_for_a_cancelled_event_does_not_count():
    invite = meeting("REQUEST", PROSPECT, (SENDER, "NEEDS-ACTION"), status="CANCELLED")
    assert not invite.counts_as_booked(SENDER, PROSPECT)


def test_a_request_the_prospect_has_declined_does_not_count():
    invite = meeting("REQUEST", SENDER, (PROSPECT, "DECLINED"))
    assert not invite.counts_as_booked(SENDER, PROSPECT)


def test_a_meeting_with_oneself_does_not_count():
    invite = meeting("REQUEST", SENDER, (SENDER, "ACCEPTED"))
    assert not invite.counts_as_booked(SENDER, SENDER)


def _invite(calendar: str, *, content_type: str = "text/calendar; method=REQUEST") -> bytes:
    return (
        "From: Tom <tom@initech.test>\nTo: alice@northwind.test\nSubject: Invitation\n"
        f"MIME-Version: 1.0\nContent-Type: {content_type}\n\n{calendar}"
    ).encode()


def test_a_time_zone_icalendar_cannot_name_is_read_from_the_invitations_definition():
    calendar = (
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VTIMEZONE\r\nTZID:Office Time\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\n"
        "TZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:tz1\r\n"
        "DTSTART;TZID=Office Time:20251215T100000\r\n"
        "ORGANIZER:mailto:tom@initech.test\r\nATTENDEE:mailto:alice@northwind.test\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    event = classify(_invite(calendar), mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "meeting"
    assert event.meeting is not None
    assert event.meeting.start is not None
    assert event.meeting.start.utcoffset().total_seconds() == 3 * 3600


def test_a_calendar_part_that_cannot_be_parsed_leaves_the_message_a_reply():
    event = classify(
        _invite("BEGIN:VCALENDAR\r\nthis is not a calendar\r\n"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.kind == "reply"
    assert event.meeting is None


def test_a_published_calendar_without_a_method_is_not_a_meeting_message():
    calendar = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:p1\r\nDTSTART:20251215T100000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    event = classify(
        _invite(calendar, content_type="text/calendar"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.kind == "reply"
    assert event.meeting is not None and event.meeting.method == "OTHER"


def test_an_invitation_the_mailbox_sent_itself_is_its_own_message_with_the_meeting_read():
    calendar = (
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:o1\r\n"
        "DTSTART:20251215T100000Z\r\nORGANIZER:mailto:alice@northwind.test\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:tom@initech.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    raw = _invite(calendar).replace(b"From: Tom <tom@initech.test>", b"From: alice@northwind.test")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "own_message"
    assert event.meeting is not None
    assert event.meeting.counts_as_booked(SENDER, PROSPECT)
