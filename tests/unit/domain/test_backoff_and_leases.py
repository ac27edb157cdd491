"""One backoff for every retry and one lease rule for every leased row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.backoff import Backoff, no_jitter
from sequencer.domain.leases import is_free, is_held, lease_end

SENDING = Backoff(first=timedelta(minutes=1), cap=timedelta(hours=1), spread=0.2)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_waits_double_from_the_first_up_to_the_cap() -> None:
    waits = [SENDING.delay(n, random=no_jitter).total_seconds() for n in range(1, 9)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_the_injected_random_draw_scatters_the_wait_within_its_spread() -> None:
    assert SENDING.delay(3, random=lambda: 0.0) == timedelta(seconds=240 * 0.8)
    assert SENDING.delay(3, random=lambda: 0.75) == timedelta(seconds=240 * 1.1)


def test_a_longer_retry_after_wins_and_a_shorter_one_does_not() -> None:
    assert SENDING.delay(1, random=no_jitter, retry_after=timedelta(minutes=5)) == timedelta(
        minutes=5
    )
    assert SENDING.delay(1, random=no_jitter, retry_after=timedelta(seconds=5)) == timedelta(
        minutes=1
    )


@given(st.integers(min_value=-5, max_value=10_000), st.floats(0.0, 1.0))
def test_every_wait_stays_within_the_spread_of_a_capped_doubling(
    failures: int, draw: float
) -> None:
    wait = SENDING.delay(failures, random=lambda: draw).total_seconds()
    assert 60 * 0.8 <= wait <= 3600 * 1.2


def test_a_draw_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="random"):
        SENDING.delay(1, random=lambda: 1.5)


def test_a_lease_binds_until_its_end_and_is_free_from_that_instant_on() -> None:
    end = lease_end(NOW, timedelta(minutes=5))

    assert is_held(end, end - timedelta(microseconds=1))
    assert is_free(end, end)
    assert is_free(None, NOW)
    with pytest.raises(ValueError):
        lease_end(NOW, timedelta(0))
