from datetime import UTC, datetime, timedelta

import pytest

from sequencer.testing import FakeClock


def test_a_fake_clock_stands_still_until_advanced():
    clock = FakeClock(datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(minutes=2))
    assert clock.now() == datetime(2026, 3, 8, 7, 1, tzinfo=UTC)


def test_a_fake_clock_refuses_to_go_backwards_or_to_be_naive():
    clock = FakeClock()
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))
