"""When each polled mailbox is read: once per interval, at a moment of its own.

Gmail and Microsoft 365 mailboxes are read by polling (history and delta calls; push
needs a public endpoint). "Every ``interval`` after the last read" lets the reads of a
thousand mailboxes bunch up: all read after a restart come due again in the same tick,
every interval, and the ticks in between have nothing to do. Here each mailbox has a
fixed *phase* within the interval, from its id (Fibonacci hashing: consecutive ids land
far apart, so any range of ids covers the interval evenly), and its turns are
``EPOCH + phase + k * interval``. A mailbox is due at its first turn at least half an
interval after its last read: never read twice within half an interval, and, once read
on time, exactly once per interval, spread evenly over it with the others.

**Quotas.** Gmail's API counts quota units per user (250 per second per user; a
``history.list`` costs 2, a ``messages.get`` 5) and per project (1,200,000 per minute by
default): one history call per mailbox per minute is 2 units per user per minute, and
for 1,000 mailboxes 2,000 units of the project's minute plus 5 per new message. Microsoft
Graph throttles per app and mailbox (10,000 requests per 10 minutes, at most 4 at once):
one delta call per minute is 10 of those 10,000. Neither quota is near; what bounds the
polling is the worker's own time, since a tick reads mailboxes one after another before
it sends. So the ticks read as many mailboxes as keep every one on its interval
(:func:`polls_per_tick`), and no more, so sending is not starved; more workers share the
mailboxes through their leases.

Pure: no clock is read, times are parameters.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "due", "next_turn", "phase", "polls_per_tick"]

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
# 2**64 / golden ratio, odd: multiplying by it scatters consecutive ids over 64 bits.
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def phase(key: int, interval: timedelta) -> timedelta:
    """The offset of ``key``'s turns within each interval, in ``[0, interval)``."""
    span = _micros(interval)
    if span <= 0:
        return timedelta(0)
    scattered = (key * _GOLDEN) & _MASK
    return timedelta(microseconds=(scattered * span) >> 64)


def next_turn(after: datetime, key: int, interval: timedelta) -> datetime:
    """The first of ``key``'s turns strictly after ``after``."""
    span = _micros(interval)
    if span <= 0:
        return after
    start = EPOCH + phase(key, interval)
    periods = (_micros(after - start) // span) + 1
    return start + timedelta(microseconds=periods * span)


def due(attempted_at: datetime | None, key: int, interval: timedelta, now: datetime) -> bool:
    """Whether mailbox ``key``, last read at ``attempted_at``, is to be read at ``now``."""
    if attempted_at is None or interval <= timedelta(0):
        return True
    return next_turn(attempted_at + interval / 2, key, interval) <= now


def polls_per_tick(
    mailboxes: int,
    interval: timedelta,
    tick: timedelta,
    *,
    least: int = 5,
    most: int = 50,
    headroom: float = 2.0,
) -> int:
    """How many mailboxes a tick reads at most so that ``mailboxes`` are each read once
    per ``interval`` when a tick comes every ``tick``: the share of one tick, with
    ``headroom`` for late ticks, between ``least`` and ``most``."""
    if interval <= timedelta(0):
        return most
    share = mailboxes * (tick / interval) * headroom
    return max(least, min(most, math.ceil(share)))
