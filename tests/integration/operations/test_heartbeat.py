"""A running worker says it is alive; a stopped or silent one is not counted."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from sequencer.engine.worker import Worker
from sequencer.operations.heartbeat import BEAT_EVERY, FRESH_FOR, Heart, alive, last_beat
from sequencer.operations.models import WorkerHeartbeat
from sequencer.testing.clock import FakeClock

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_worker_beats_at_most_once_per_interval_and_counts_as_alive_while_fresh() -> None:
    heart = Heart("host:1:abc")
    heart.beat(START)
    heart.beat(START + BEAT_EVERY / 2)
    [row] = WorkerHeartbeat.objects.all()
    assert row.beat_at == START
    assert row.started_at == START
    heart.beat(START + BEAT_EVERY)
    assert WorkerHeartbeat.objects.get().beat_at == START + BEAT_EVERY
    assert [w.name for w in alive(START + BEAT_EVERY + FRESH_FOR - timedelta(seconds=1))] == [
        "host:1:abc"
    ]
    assert alive(START + BEAT_EVERY + FRESH_FOR) == []
    assert last_beat(START + timedelta(days=1)) == START + BEAT_EVERY


def test_a_worker_that_stopped_cleanly_is_not_alive_and_old_rows_are_forgotten() -> None:
    old = Heart("gone:1:old")
    old.beat(START - timedelta(days=8))
    heart = Heart("host:2:def")
    heart.beat(START)
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == ["host:2:def"]
    heart.stop(START + timedelta(seconds=5))
    assert alive(START + timedelta(seconds=6)) == []


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_beats_while_it_runs_and_records_its_stop() -> None:
    clock = FakeClock(START)
    worker = Worker(clock=clock, name="loop:1:xyz")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"idle_seconds": 0.05})
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not alive(clock.now()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w.name for w in alive(clock.now())] == ["loop:1:xyz"]
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert alive(clock.now()) == []
    assert WorkerHeartbeat.objects.get().stopped_at == START
