"""Mailbox pacing: how soon a mailbox may send again.

A mailbox that sends from a person's own account must look like a person: a few emails
an hour, a few hundred a day, never two within seconds. The limits are rolling (any 60
minutes, any 24 hours), as mailbox providers count them, not calendar hours or days.
An email over a limit is deferred to the first instant the limits allow, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sequencer.domain.errors import InvalidInput

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class MailboxLimits:
    per_hour: int = 12
    per_day: int = 200
    min_spacing_seconds: int = 300

    def __post_init__(self) -> None:
        for name, low, high in (
            ("per_hour", 1, 10_000),
            ("per_day", 1, 100_000),
            ("min_spacing_seconds", 0, 86_400),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(
                    f"{name} must be a whole number from {low} to {high}.",
                    field=f"limits.{name}",
                    code="out_of_range",
                )
        if self.per_hour > self.per_day:
            raise InvalidInput(
                "per_hour cannot be more than per_day; lower per_hour or raise per_day.",
                field="limits.per_hour",
                code="out_of_range",
            )

    @property
    def min_spacing(self) -> timedelta:
        return timedelta(seconds=self.min_spacing_seconds)


def earliest_send(
    at: datetime, recent_sends: Sequence[datetime], limits: MailboxLimits
) -> datetime:
    """The earliest instant ≥ ``at`` at which one more email keeps every limit.

    ``recent_sends`` are the mailbox's sends (and sends in flight) of the last 24 hours,
    in any order. With sends s₁ ≤ … ≤ sₙ, one more at t keeps "at most H in any hour"
    exactly when fewer than H of them lie in (t - 1 h, t], that is when
    t ≥ s₍ₙ₋H₊₁₎ + 1 h; likewise for the day. Every limit is a lower bound on t, so the
    answer is the largest of those bounds and ``at``.
    """
    sends = sorted(recent_sends)
    earliest = at
    if sends:
        earliest = max(earliest, sends[-1] + limits.min_spacing)
    for cap, span in ((limits.per_hour, HOUR), (limits.per_day, DAY)):
        if len(sends) >= cap:
            earliest = max(earliest, sends[len(sends) - cap] + span)
    return earliest
