"""The webhook retry schedule: waits that grow, a day at most, then failed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.backoff import no_jitter
from sequencer.domain.webhook_retry import DEFAULT_SCHEDULE, RetrySchedule

EVENT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)

draws = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _walk(draw_values: list[float], answer_seconds: float) -> list[datetime]:
    """Every attempt's time for a receiver that is always down and takes
    ``answer_seconds`` to fail each attempt."""
    values = iter(draw_values)
    attempts = [EVENT]
    failures = 0
    while True:
        failures += 1
        failed_at = attempts[-1] + timedelta(seconds=answer_seconds)
        following = DEFAULT_SCHEDULE.next_attempt(
            failures, failed_at, EVENT, random=lambda: next(values, 0.5)
        )
        if following is None:
            return attempts
        attempts.append(following)


def test_a_receiver_that_is_always_down_is_tried_eight_times_over_a_day() -> None:
    attempts = _walk([0.5] * 10, 0)
    offsets = [a - EVENT for a in attempts]
    assert offsets == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(minutes=5, seconds=5),
        timedelta(minutes=35, seconds=5),
        timedelta(hours=2, minutes=35, seconds=5),
        timedelta(hours=7, minutes=35, seconds=5),
        timedelta(hours=17, minutes=35, seconds=5),
        DAY,  # the last wait is cut short to end a day after the event
    ]


@given(st.lists(draws, min_size=10, max_size=10), st.floats(min_value=0, max_value=30))
def test_attempts_move_forward_stay_within_a_day_and_end(
    values: list[float], answer_seconds: float
) -> None:
    attempts = _walk(values, answer_seconds)
    assert 1 < len(attempts) <= DEFAULT_SCHEDULE.max_attempts
    assert all(b > a for a, b in itertools.pairwise(attempts))
    assert all(a <= EVENT + DAY for a in attempts)


@given(st.integers(min_value=1, max_value=7), draws)
def test_each_wait_is_its_base_within_ten_percent_unless_cut_at_the_deadline(
    failures: int, draw: float
) -> None:
    failed_at = EVENT + timedelta(seconds=1)
    following = DEFAULT_SCHEDULE.next_attempt(failures, failed_at, EVENT, random=lambda: draw)
    assert following is not None
    base = DEFAULT_SCHEDULE.waits[failures - 1]
    wait = following - failed_at
    deadline = EVENT + DAY
    assert wait <= base * 1.1 + timedelta(microseconds=1)
    assert wait >= min(base * 0.9, deadline - failed_at) - timedelta(microseconds=1)


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=0, max_value=10**6))
def test_nothing_is_tried_after_the_deadline(failures: int, seconds_late: int) -> None:
    failed_at = EVENT + DAY + timedelta(seconds=seconds_late)
    assert DEFAULT_SCHEDULE.next_attempt(failures, failed_at, EVENT, random=no_jitter) is None


def test_a_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetrySchedule(waits=())
    with pytest.raises(ValueError):
        RetrySchedule(spread=1.5)
    with pytest.raises(ValueError):
        DEFAULT_SCHEDULE.next_attempt(0, EVENT, EVENT, random=no_jitter)
