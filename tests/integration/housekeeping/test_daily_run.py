"""The worker does housekeeping once a day, and of several workers only one does it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from sequencer import leasing
from sequencer.calendars.models import SeenEvent
from sequencer.domain.retention import Retention
from sequencer.engine.worker import Worker
from sequencer.housekeeping.daily import LEASE, run_if_due
from sequencer.housekeeping.models import HousekeepingRun
from sequencer.testing import FakeClock

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ONLY_EVENTS = Retention(0, 1, 0, 0)
uids = count()


def _old_events(owner, n: int, now: datetime) -> None:
    for _ in range(n):
        i = next(uids)
        SeenEvent.objects.create(
            owner=owner, uid=f"u{i}", uid_hash=f"{i:064d}", first_seen_at=now - timedelta(days=400)
        )


@pytest.fixture
def only_events(settings) -> None:
    settings.SEQUENCER_KEEP_RAW_INBOUND_DAYS = "0"
    settings.SEQUENCER_KEEP_SEEN_CALENDAR_EVENTS_DAYS = "1"
    settings.SEQUENCER_KEEP_FINISHED_DELIVERIES_DAYS = "0"
    settings.SEQUENCER_KEEP_UNUSED_ATTACHMENTS_DAYS = "0"


def test_a_workers_tick_does_housekeeping_once_a_day(admin, only_events):
    clock = FakeClock(START)
    worker = Worker(clock=clock, name="worker-a")
    _old_events(admin, 2, clock.now())

    worker.tick()
    gone_first = SeenEvent.objects.count() == 0
    _old_events(admin, 1, clock.now())
    clock.advance(timedelta(hours=23, minutes=59))
    worker.tick()
    kept_same_day = SeenEvent.objects.count()
    clock.advance(timedelta(minutes=1))
    worker.tick()

    assert gone_first and kept_same_day == 1
    assert SeenEvent.objects.count() == 0
    run = HousekeepingRun.objects.get()
    assert run.started_at == run.finished_at == START + timedelta(days=1)
    assert run.last_report["seen_calendar_events"] == 1
    assert run.lease_owner == "" and run.lease_until is None


def test_of_two_workers_ticking_the_same_day_only_the_first_does_it(admin):
    _old_events(admin, 2, START)

    first = run_if_due(START, owner="worker-a", retention=ONLY_EVENTS)
    _old_events(admin, 1, START)
    second = run_if_due(START + timedelta(minutes=5), owner="worker-b", retention=ONLY_EVENTS)

    assert first is not None and first.removed["seen_calendar_events"] == 2
    assert second is None and SeenEvent.objects.count() == 1


def test_a_worker_waits_while_another_holds_the_run_and_takes_over_when_its_lease_ends(admin):
    _old_events(admin, 3, START)
    HousekeepingRun.objects.create(name="daily", started_at=START)  # worker A is at it
    leasing.take(HousekeepingRun.objects.all(), "worker-a", START, LEASE)

    while_held = run_if_due(START + timedelta(minutes=1), owner="worker-b", retention=ONLY_EVENTS)
    left_while_held = SeenEvent.objects.count()
    after_lease = run_if_due(START + LEASE, owner="worker-b", retention=ONLY_EVENTS)

    assert while_held is None and left_while_held == 3
    assert after_lease is not None and after_lease.removed["seen_calendar_events"] == 3
    run = HousekeepingRun.objects.get()
    # The run A started is the one B finished: the next is due a day after A started it.
    assert run.started_at == START and run.finished_at == START + LEASE


def test_a_backlog_larger_than_a_tick_is_finished_over_the_next_ticks(admin):
    _old_events(admin, 5, START)
    ticks = count(step=10)

    def tick(at: datetime):
        return run_if_due(
            at,
            owner="worker-a",
            retention=ONLY_EVENTS,
            batch=2,
            budget_seconds=1,
            monotonic=lambda: next(ticks),
        )

    reports = [tick(START), tick(START + timedelta(seconds=2)), tick(START + timedelta(seconds=4))]
    after = tick(START + timedelta(seconds=6))

    assert [r.removed["seen_calendar_events"] for r in reports if r] == [2, 2, 1]
    assert [r.complete for r in reports if r] == [False, False, True]
    assert after is None
    run = HousekeepingRun.objects.get()
    assert run.started_at == START and run.finished_at == START + timedelta(seconds=4)


def test_a_failing_run_does_not_stop_the_tick(admin, settings):
    settings.SEQUENCER_KEEP_RAW_INBOUND_DAYS = "ninety"
    assert run_if_due(START, owner="worker-a") is None
    assert HousekeepingRun.objects.get().lease_owner == ""


def test_the_next_days_run_goes_on_from_the_last_row_it_thinned(admin):
    _old_events(admin, 3, START)
    newest = SeenEvent.objects.order_by("pk").last()
    run_if_due(START, owner="worker-a", retention=ONLY_EVENTS, batch=2)
    mark_after_first = HousekeepingRun.objects.get().marks["seen_calendar_events"]
    # A new event, seen now: it is not old enough the next day, and stops the walk there.
    SeenEvent.objects.create(owner=admin, uid="fresh", uid_hash="f" * 64, first_seen_at=START)
    _old_events(admin, 1, START)  # written after it, yet old: waits for the fresh one's turn
    next_day = run_if_due(START + timedelta(days=1), owner="worker-a", retention=ONLY_EVENTS)

    assert mark_after_first == newest.pk
    assert next_day is not None and next_day.removed["seen_calendar_events"] == 0
    assert HousekeepingRun.objects.get().marks["seen_calendar_events"] == newest.pk
    assert SeenEvent.objects.count() == 2
