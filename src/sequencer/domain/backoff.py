"""How long to wait before trying again after failures in a row: one rule for sending,
reading mailboxes and polling calendars.

The wait doubles from ``first`` for each failure after the first, up to ``cap``. A
``spread`` of 0.2 scatters each wait uniformly within ±20 % so that a mailbox's retries
do not all return at the same second; the randomness is a parameter (any function
returning a float in ``[0, 1)``, such as ``random.random``), so tests pass a fixed one
and assert exact times. A server's ``Retry-After`` wins when it is longer. No clock is
read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["Backoff", "Random", "no_jitter"]

Random = Callable[[], float]

# Doubling past 2**40 times the first wait exceeds any cap in use; stopping there keeps
# the arithmetic finite for any count of failures.
_MAX_DOUBLINGS = 40


def no_jitter() -> float:
    """A fixed draw in the middle of ``[0, 1)``: every wait is exactly its base."""
    return 0.5


@dataclass(frozen=True)
class Backoff:
    first: timedelta
    cap: timedelta
    spread: float = 0.0

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.cap < self.first:
            raise ValueError("a backoff needs 0 < first <= cap")
        if not 0.0 <= self.spread < 1.0:
            raise ValueError("a backoff's spread is a fraction in [0, 1)")

    def base(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row, before any jitter."""
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        seconds = min(self.first.total_seconds() * 2.0**doublings, self.cap.total_seconds())
        return timedelta(seconds=seconds)

    def delay(
        self,
        failures: int,
        *,
        random: Random,
        retry_after: timedelta | None = None,
    ) -> timedelta:
        """The wait after ``failures`` failures: the base scattered by ``spread`` using one
        draw of ``random``, and never shorter than ``retry_after``."""
        draw = random()
        if not 0.0 <= draw <= 1.0:
            raise ValueError(f"random() must return a float in [0, 1); got {draw!r}")
        factor = 1.0 + self.spread * (2.0 * draw - 1.0)
        wait = timedelta(seconds=self.base(failures).total_seconds() * factor)
        if retry_after is not None and retry_after > wait:
            return retry_after
        return wait
