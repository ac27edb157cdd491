"""Polled mailboxes are read once per interval each, spread over it, never in a bunch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.poll_spread import EPOCH, due, next_turn, phase, polls_per_tick

MINUTE = timedelta(seconds=60)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

keys = st.integers(min_value=1, max_value=10**9)
intervals = st.integers(min_value=1, max_value=86_400).map(lambda s: timedelta(seconds=s))
moments = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@given(keys, intervals)
def test_a_mailboxs_phase_lies_within_the_interval(key, interval) -> None:
    assert timedelta(0) <= phase(key, interval) < interval


@given(keys, intervals, moments)
def test_the_next_turn_is_on_the_mailboxs_own_grid_within_one_interval(key, interval, after):
    turn = next_turn(after, key, interval)
    assert after < turn <= after + interval
    assert (turn - EPOCH - phase(key, interval)) % interval == timedelta(0)


@given(keys, intervals, moments)
def test_a_mailbox_is_never_read_twice_within_half_an_interval(key, interval, read_at) -> None:
    assert not due(read_at, key, interval, read_at + interval / 2)


@given(keys, intervals, moments)
def test_a_mailbox_comes_due_within_one_and_a_half_intervals(key, interval, read_at) -> None:
    assert due(read_at, key, interval, read_at + interval * 3 / 2)


@given(keys, intervals, moments)
def test_a_mailbox_read_on_its_turn_is_due_again_exactly_one_interval_later(
    key, interval, after
) -> None:
    turn = next_turn(after, key, interval)
    assert due(turn, key, interval, turn + interval)
    assert not due(turn, key, interval, turn + interval - timedelta(microseconds=1))


def test_a_mailbox_never_read_is_due_at_once() -> None:
    assert due(None, 7, MINUTE, NOW)


@given(st.integers(min_value=1, max_value=10**6))
def test_a_thousand_mailboxes_in_a_row_spread_evenly_over_the_minute(first_id) -> None:
    # Ten-second buckets: each holds close to its sixth of the thousand.
    buckets = Counter(
        int(phase(key, MINUTE).total_seconds() // 10) for key in range(first_id, first_id + 1000)
    )
    assert sorted(buckets) == [0, 1, 2, 3, 4, 5]
    assert all(140 <= count <= 195 for count in buckets.values()), buckets


@given(
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=10, max_value=3600),
    st.integers(min_value=1, max_value=30),
)
def test_the_reads_per_tick_keep_every_mailbox_on_its_interval(mailboxes, interval, tick) -> None:
    per_tick = polls_per_tick(
        mailboxes, timedelta(seconds=interval), timedelta(seconds=tick), most=10**9
    )
    ticks_per_interval = interval / tick
    assert per_tick * ticks_per_interval >= mailboxes
    assert per_tick >= 5


def test_the_reads_per_tick_stay_within_their_bounds() -> None:
    assert polls_per_tick(10, MINUTE, timedelta(seconds=2)) == 5
    assert polls_per_tick(1000, MINUTE, timedelta(seconds=2)) == 50
    assert polls_per_tick(300, MINUTE, timedelta(seconds=2)) == 20
    assert polls_per_tick(300, timedelta(0), timedelta(seconds=2)) == 50
