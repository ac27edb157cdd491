"""The one rule for every lease in the system (emails, mailbox cursors, calendars).

A worker that takes a row writes ``lease_until = now + ttl``. The lease is *held* while
``now < lease_until`` and *expired* from the instant ``lease_until`` itself on, so that
two workers comparing the same ``now`` can never both see it held and free. A row
without ``lease_until`` is free. No clock is read here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["is_free", "is_held", "lease_end"]


def is_held(lease_until: datetime | None, now: datetime) -> bool:
    """Whether a lease ending at ``lease_until`` still binds at ``now``."""
    return lease_until is not None and now < lease_until


def is_free(lease_until: datetime | None, now: datetime) -> bool:
    """Whether anyone may take the row at ``now`` (never leased, released or expired)."""
    return not is_held(lease_until, now)


def lease_end(now: datetime, ttl: timedelta) -> datetime:
    """When a lease taken or renewed at ``now`` for ``ttl`` runs out."""
    if ttl <= timedelta(0):
        raise ValueError("a lease must last a positive time")
    return now + ttl
