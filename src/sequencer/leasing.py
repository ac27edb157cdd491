"""Leases on database rows, for every table that has ``lease_owner`` and ``lease_until``
(scheduled emails, mailbox sync cursors, calendar connections).

The rule itself is :mod:`sequencer.domain.leases` (expired iff ``lease_until <= now``);
this module turns it into query filters and the conditional UPDATEs that take, renew and
release a lease. Each is one UPDATE whose WHERE clause re-checks the lease, which
PostgreSQL and SQLite both apply atomically: of two workers racing for a free row,
exactly one sees it updated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from sequencer.domain.leases import lease_end

__all__ = ["expired", "free", "free_or_mine", "held", "release", "released", "renew", "take"]


def free(now: datetime) -> Q:
    """Rows nobody holds at ``now``: never leased, released, or expired."""
    return Q(lease_until__isnull=True) | Q(lease_until__lte=now)


def expired(now: datetime) -> Q:
    """Rows whose lease was taken and has run out at ``now``."""
    return Q(lease_until__lte=now)


def held(now: datetime) -> Q:
    """Rows someone holds at ``now``."""
    return Q(lease_until__gt=now)


def free_or_mine(owner: str, now: datetime) -> Q:
    return free(now) | Q(lease_owner=owner)


def released() -> dict[str, Any]:
    """The column values of a row nobody holds."""
    return {"lease_owner": "", "lease_until": None}


def take(rows: QuerySet[Any], owner: str, now: datetime, ttl: timedelta, **fields: Any) -> int:
    """Lease ``rows`` that are free (or already ``owner``'s) to ``owner``; how many."""
    return rows.filter(free_or_mine(owner, now)).update(
        lease_owner=owner, lease_until=lease_end(now, ttl), **fields
    )


def renew(rows: QuerySet[Any], owner: str, now: datetime, ttl: timedelta) -> int:
    """Extend the leases ``owner`` still holds on ``rows``; how many."""
    return rows.filter(lease_owner=owner).update(lease_until=lease_end(now, ttl))


def release(rows: QuerySet[Any], owner: str, **fields: Any) -> int:
    """Give up ``owner``'s leases on ``rows``, writing ``fields`` in the same UPDATE."""
    return rows.filter(lease_owner=owner).update(**released(), **fields)
