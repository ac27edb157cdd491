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
    in any order. With sends s1 ≤ … ≤ sn, one more at t keeps "at most H in any hour"
    exactly when fewer than H of them lie in (t - 1 h, t], that is when t ≥ s(n-H+1) + 1 h,
    the H-th newest send plus an hour; likewise for the day.
    """
    newest_first = sorted(recent_sends, reverse=True)

    def nth_newest(n: int) -> datetime | None:
        return newest_first[n - 1] if len(newest_first) >= n else None

    return earliest_send_given(
        at,
        newest=nth_newest(1),
        hour_cap_send=nth_newest(limits.per_hour),
        day_cap_send=nth_newest(limits.per_day),
        limits=limits,
    )


def earliest_send_given(
    at: datetime,
    *,
    newest: datetime | None,
    hour_cap_send: datetime | None,
    day_cap_send: datetime | None,
    limits: MailboxLimits,
) -> datetime:
    """:func:`earliest_send` from the only three sends it depends on: the newest (for the
    spacing), the ``per_hour``-th newest and the ``per_day``-th newest (for the caps),
    each ``None`` when there are not that many. The engine reads just these three from
    the database instead of the whole day's sends. Every limit is a lower bound on the
    answer, so the answer is the largest of them and ``at``.
    """
    earliest = at
    if newest is not None:
        earliest = max(earliest, newest + limits.min_spacing)
    if hour_cap_send is not None:
        earliest = max(earliest, hour_cap_send + HOUR)
    if day_cap_send is not None:
        earliest = max(earliest, day_cap_send + DAY)
    return earliest


def sends_allowed(
    at: datetime,
    *,
    newest: datetime | None,
    in_last_hour: int,
    in_last_day: int,
    limits: MailboxLimits,
) -> int:
    """How many emails may go at ``at`` at once, given the newest send and how many lie in
    the hour and the day before ``at`` (``(at - 1 h, at]`` and ``(at - 24 h, at]``).

    The same rule as :func:`earliest_send`, counted instead of searched: with a spacing,
    one email at most and only once it has passed; without, as many as both caps leave.
    A batch of emails decided at once takes this many and waits with the rest.
    """
    left = max(0, min(limits.per_hour - in_last_hour, limits.per_day - in_last_day))
    if limits.min_spacing_seconds == 0:
        return left
    spaced = newest is None or newest + limits.min_spacing <= at
    return min(left, 1) if spaced else 0
