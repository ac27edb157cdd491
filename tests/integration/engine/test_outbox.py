"""The outbox: when each queued email goes out and why it waits, by the engine's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.engine import outbox as engine_outbox
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.sequences import enrollment
from sequencer.testing import FakeClock
from tests.integration.web.test_sequence_settings_tab import mailbox_of

from .conftest import START, make_person

pytestmark = pytest.mark.django_db

WORKDAYS = {
    "window": {"start": "09:00", "end": "17:00"},
    "time_zone": "UTC",
    "business_days_only": True,
}


def _enroll(admin, sequence, box, count: int, clock) -> None:
    people = [make_person(f"P{i}", f"p{i}-{box.pk}@initech.test") for i in range(count)]
    enrollment.enroll(
        admin,
        sequence.pk,
        [enrollment.Recipient(person_id=p.pk) for p in people],
        mailbox_id=box.pk,
        clock=clock,
    )


def _queue(box, clock):
    [queue] = engine_outbox.outbox([box], clock)
    return queue


def test_an_email_outside_the_window_waits_for_it_to_open(admin, publish):
    clock = FakeClock(START)  # Monday 10:00 UTC
    sequence = publish(window={"start": "14:00", "end": "17:00"}, time_zone="UTC")
    box = mailbox_of(admin, "ada@mail.test")
    _enroll(admin, sequence, box, 1, clock)

    [item] = _queue(box, clock).emails

    assert item.goes_out_at == START.replace(hour=14)
    assert item.kind == engine_outbox.WINDOW
    assert "Outside the sending window (14:00 to 17:00, UTC)" in item.reason


def test_an_email_on_a_weekend_waits_for_monday(admin, publish):
    saturday = FakeClock(datetime(2026, 3, 7, 10, 0, tzinfo=UTC))
    sequence = publish(**WORKDAYS)
    box = mailbox_of(admin, "ada@mail.test")
    _enroll(admin, sequence, box, 1, saturday)

    [item] = _queue(box, saturday).emails

    assert item.goes_out_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert item.kind == engine_outbox.WEEKEND


def test_an_email_on_a_public_holiday_waits_for_the_next_working_day(admin, publish):
    # 4 July 2026 is a Saturday, so the US holiday is observed on Friday the 3rd.
    holiday = FakeClock(datetime(2026, 7, 3, 10, 0, tzinfo=UTC))
    sequence = publish(**WORKDAYS, holiday_country="US")
    box = mailbox_of(admin, "ada@mail.test")
    _enroll(admin, sequence, box, 1, holiday)

    [item] = _queue(box, holiday).emails

    assert item.goes_out_at == datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    assert item.kind == engine_outbox.HOLIDAY and "Public holiday in US" in item.reason


def test_emails_of_one_mailbox_are_spaced_by_its_pacing(admin, publish):
    clock = FakeClock(START)
    sequence = publish()  # all day, every day
    box = mailbox_of(admin, "ada@mail.test")
    _enroll(admin, sequence, box, 3, clock)

    first, second, third = _queue(box, clock).emails

    assert first.kind == engine_outbox.DUE and first.goes_out_at == START
    assert second.kind == engine_outbox.PACING
    assert second.goes_out_at == START + timedelta(minutes=5)
    assert third.goes_out_at == START + timedelta(minutes=10)
    assert "waits 5 minutes between two emails" in second.reason


def test_the_hourly_limit_holds_emails_back_for_an_hour(admin, publish):
    clock = FakeClock(START)
    sequence = publish()
    box = mailbox_of(admin, "ada@mail.test")
    Mailbox.objects.filter(pk=box.pk).update(per_hour=2, min_spacing_seconds=0)
    box.refresh_from_db()
    _enroll(admin, sequence, box, 3, clock)

    third = _queue(box, clock).emails[2]

    assert third.goes_out_at == START + timedelta(hours=1)
    assert "at most 2 emails an hour" in third.reason


def test_a_paused_mailbox_holds_every_email_and_says_why(admin, publish):
    clock = FakeClock(START)
    sequence = publish()
    box = mailbox_of(admin, "ada@mail.test")
    _enroll(admin, sequence, box, 2, clock)
    until = START + timedelta(hours=20)
    Mailbox.objects.filter(pk=box.pk).update(
        status=MailboxStatus.PAUSED, status_reason="Daily quota used up.", paused_until=until
    )
    box.refresh_from_db()

    queue = _queue(box, clock)

    assert queue.blocked == "Daily quota used up."
    assert queue.emails[0].reason == "Mailbox paused: Daily quota used up."
    assert [(e.kind, e.goes_out_at) for e in queue.emails] == [
        (engine_outbox.MAILBOX, until),
        (engine_outbox.MAILBOX, until),
    ]


def test_the_outbox_costs_the_same_queries_for_10_or_200_emails(admin, publish):
    clock = FakeClock(START)
    sequence = publish(**WORKDAYS)
    few = mailbox_of(admin, "few@mail.test")
    many = mailbox_of(admin, "many@mail.test", default=False)
    _enroll(admin, sequence, few, 10, clock)
    _enroll(admin, sequence, many, 200, clock)

    with CaptureQueriesContext(connection) as small:
        engine_outbox.outbox([few], clock, shown=500)
    with CaptureQueriesContext(connection) as large:
        [queue] = engine_outbox.outbox([many], clock, shown=500)

    assert len(queue.emails) == 200
    assert len(large) == len(small) == 3
