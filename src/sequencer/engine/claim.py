"""Claiming due emails, so that any number of workers share the work without overlap.

On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets each worker take rows no other worker
holds, without waiting. SQLite ignores the clause; there the transaction's ``BEGIN
IMMEDIATE`` takes the database's write lock first, which serialises claims. Either way a
row moves ``scheduled → claimed`` once, inside the transaction that selected it.

The query reads the partial index of *scheduled* rows by ``due_at``, so its cost depends
on how many emails are due, not on how many enrollments exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from sequencer.domain.lifecycle import EmailState
from sequencer.sequences import lifecycle
from sequencer.sequences.models import ScheduledEmail


def claim_due(now: datetime, *, limit: int, lease: timedelta, owner: str) -> list[int]:
    with transaction.atomic():
        ids = list(
            ScheduledEmail.objects.select_for_update(skip_locked=True)
            .filter(state=EmailState.SCHEDULED, due_at__lte=now)
            .order_by("due_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            lifecycle.claim(ids, now, lease, owner)
    return ids
