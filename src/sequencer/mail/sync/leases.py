"""One reader per mailbox: a lease in the database that any worker may take when free.

The lease lives on the mailbox's :class:`~sequencer.mail.models.SyncCursor` row. Taking
it is one conditional UPDATE (``... WHERE lease is free OR expired OR already mine``),
which PostgreSQL and SQLite both apply atomically: of two workers racing for a free
lease exactly one sees its row updated. A worker that dies simply stops renewing, and
the lease is anyone's from ``lease_until`` on (the one rule of
:mod:`sequencer.domain.leases`, applied by :mod:`sequencer.leasing`).

A holder checks that it still holds the lease whenever it moves the cursor
(:func:`save_cursor`); a holder that lost it (it stalled past its lease and another
worker took over) stops at that point, and what it read twice is harmless, since
inbound messages are stored once per mailbox and Message-ID.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from sequencer import leasing
from sequencer.clock import Clock
from sequencer.mail.models import SyncCursor

#: The folder whose cursor carries a mailbox's lease (every provider reads its inbox).
PRIMARY_FOLDER = "INBOX"
DEFAULT_TTL = timedelta(minutes=2)


class LeaseLost(Exception):
    """Another worker holds the mailbox's lease now: stop reading it."""


def cursor_for(mailbox_id: int, folder: str = PRIMARY_FOLDER) -> SyncCursor:
    """The cursor of one folder, created on first use."""
    found = SyncCursor.objects.filter(mailbox_id=mailbox_id, folder=folder).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SyncCursor.objects.create(mailbox_id=mailbox_id, folder=folder)
    except IntegrityError:  # another worker created it first
        return SyncCursor.objects.get(mailbox_id=mailbox_id, folder=folder)


def acquire(
    mailbox_id: int,
    owner: str,
    now: datetime,
    *,
    ttl: timedelta = DEFAULT_TTL,
    folder: str = PRIMARY_FOLDER,
) -> SyncCursor | None:
    """Take (or extend) the lease on one folder of a mailbox; the cursor if this worker
    holds it now, ``None`` if another one does."""
    cursor = cursor_for(mailbox_id, folder)
    if not leasing.take(SyncCursor.objects.filter(pk=cursor.pk), owner, now, ttl):
        return None
    cursor.refresh_from_db()
    return cursor


def renew(cursor_id: int, owner: str, now: datetime, *, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Extend a lease this worker holds; False if it is no longer this worker's."""
    return bool(leasing.renew(SyncCursor.objects.filter(pk=cursor_id), owner, now, ttl))


def release(cursor_id: int, owner: str) -> None:
    """Give the lease up (if it is still this worker's)."""
    leasing.release(SyncCursor.objects.filter(pk=cursor_id), owner)


def is_free(mailbox_id: int, now: datetime, *, folder: str = PRIMARY_FOLDER) -> bool:
    """Whether nobody holds the lease (a hint: :func:`acquire` decides)."""
    return not (
        SyncCursor.objects.filter(mailbox_id=mailbox_id, folder=folder)
        .filter(leasing.held(now))
        .exists()
    )


def save_cursor(cursor_id: int, owner: str, **fields: Any) -> None:
    """Move the cursor, if this worker still holds the lease; :class:`LeaseLost` if not."""
    if not SyncCursor.objects.filter(pk=cursor_id, lease_owner=owner).update(**fields):
        raise LeaseLost(f"sync cursor {cursor_id} is no longer leased by {owner}")


class Keeper:
    """Renews a held lease during a long pass: call it between messages; it renews when a
    third of the lease's time has gone by, and raises :class:`LeaseLost` if it is gone."""

    def __init__(self, cursor_id: int, owner: str, clock: Clock, ttl: timedelta = DEFAULT_TTL):
        self.cursor_id = cursor_id
        self.owner = owner
        self.clock = clock
        self.ttl = ttl
        self._renewed = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self._renewed < self.ttl.total_seconds() / 3:
            return
        if not renew(self.cursor_id, self.owner, self.clock.now(), ttl=self.ttl):
            raise LeaseLost(f"sync cursor {self.cursor_id} is no longer leased by {self.owner}")
        self._renewed = time.monotonic()
