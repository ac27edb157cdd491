"""The one place that reads the wall clock.

Services take a :class:`Clock` so that tests can move time with
``sequencer.testing.FakeClock`` instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


system_clock = SystemClock()
