"""When a webhook delivery that failed is tried again, and when it is given up.

The waits after the 1st, 2nd, … failure are 5 seconds, 5 minutes, 30 minutes, 2 hours,
5 hours, 10 hours and 10 hours, each scattered by ±10 % so that the retries of many
deliveries to one receiver that was down do not all return in the same second. No
attempt is made later than :attr:`RetrySchedule.give_up_after` (a day) after the event:
the last wait is cut short to end there, and a failure at or after that moment is final.
A receiver that is down for a day therefore sees at most eight attempts, the last one
a day after the event. The randomness is a parameter and no clock is read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sequencer.domain.backoff import Random

__all__ = ["DEFAULT_SCHEDULE", "RetrySchedule"]


def _default_waits() -> tuple[timedelta, ...]:
    return (
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    )


@dataclass(frozen=True)
class RetrySchedule:
    waits: tuple[timedelta, ...] = field(default_factory=_default_waits)
    give_up_after: timedelta = timedelta(days=1)
    spread: float = 0.1

    def __post_init__(self) -> None:
        if not self.waits or any(w <= timedelta(0) for w in self.waits):
            raise ValueError("a retry schedule needs positive waits")
        if self.give_up_after <= timedelta(0):
            raise ValueError("a retry schedule gives up after a positive time")
        if not 0.0 <= self.spread < 1.0:
            raise ValueError("the spread is a fraction in [0, 1)")

    @property
    def max_attempts(self) -> int:
        return len(self.waits) + 1

    def deadline(self, event_at: datetime) -> datetime:
        """No attempt of an event's delivery is made after this."""
        return event_at + self.give_up_after

    def next_attempt(
        self, failures: int, failed_at: datetime, event_at: datetime, *, random: Random
    ) -> datetime | None:
        """When to try again after ``failures`` failed attempts, the last at
        ``failed_at``; ``None`` when the delivery has failed for good."""
        if failures < 1:
            raise ValueError("next_attempt is asked after a failure")
        deadline = self.deadline(event_at)
        if failures > len(self.waits) or failed_at >= deadline:
            return None
        draw = random()
        if not 0.0 <= draw <= 1.0:
            raise ValueError(f"random() must return a float in [0, 1); got {draw!r}")
        factor = 1.0 + self.spread * (2.0 * draw - 1.0)
        wait = timedelta(seconds=self.waits[failures - 1].total_seconds() * factor)
        return min(failed_at + wait, deadline)


DEFAULT_SCHEDULE = RetrySchedule()
