"""Turning local wall-clock readings into instants, the one way the schedule does it.

Every wall time the schedule produces (a window edge, "the same time three days later")
is resolved by the same rule so that the answer is predictable across DST:
``datetime.combine(date, time, tzinfo=zone)`` with ``fold=0``, then converted to UTC.
With :mod:`zoneinfo` that means a wall time inside a spring-forward gap moves *forward*
by the size of the gap (02:30 in New York on 2026-03-08 becomes 03:30 EDT) and an
ambiguous wall time in a fall-back overlap takes its *first* occurrence.

All instants leave this module in UTC. Two aware datetimes that share one ``ZoneInfo``
compare by wall clock (ignoring ``fold``), which is wrong inside a fall-back hour, so
the schedule never compares local datetimes with each other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def resolve_wall_time(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant for the wall time ``clock`` on local ``day`` in ``zone``.

    ``fold`` is forced to 0 because a ``time`` taken from an aware datetime carries the
    fold of its source; inheriting it would pick the *second* occurrence of an ambiguous
    time whenever the source happened to be in a repeated hour.
    """
    naive_clock = clock.replace(tzinfo=None, fold=0)
    return datetime.combine(day, naive_clock, tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date an aware ``instant`` falls on in ``zone``."""
    return instant.astimezone(zone).date()
