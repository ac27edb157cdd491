"""Claiming due emails, so that any number of workers share the work without overlap.

On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets each worker take rows no other worker
holds, without waiting. SQLite ignores the clause; there the transaction's ``BEGIN
IMMEDIATE`` takes the database's write lock first, which serialises claims. Either way a
row moves ``scheduled → claimed`` once, inside the transaction that selected it.

The query reads the partial index of *scheduled* rows by ``due_at``, so its cost depends
on how many emails are due, not on how many enrollments exist.

A worker sends several mailboxes at once but each mailbox's emails one after another
(engine/sending.py), so a batch that is all one mailbox would leave its other sending
threads idle. With ``per_mailbox``, the claim looks a little further down the due list
(:data:`LOOK_AHEAD` times the batch) and takes at most that many emails of each mailbox
first, then fills what is left of the batch in due order: a single busy mailbox still
gets a full batch, many mailboxes share it.

``exclude_mailboxes`` leaves out the mailboxes whose emails an earlier tick is still
sending (a hanging server's): each mailbox has one task in flight at most.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import transaction

from sequencer.domain.lifecycle import EmailState
from sequencer.sequences import lifecycle
from sequencer.sequences.models import ScheduledEmail

LOOK_AHEAD = 4


def claim_due(
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    owner: str,
    per_mailbox: int | None = None,
    exclude_mailboxes: Collection[int] = (),
) -> list[int]:
    """Claim up to ``limit`` due emails for ``owner``, none of ``exclude_mailboxes``;
    their ids in due order."""
    claimed = _claim(now, limit, lease, owner, per_mailbox, exclude_mailboxes)
    return [email_id for email_id, _ in claimed]


def claim_by_mailbox(
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    owner: str,
    per_mailbox: int | None = None,
    exclude_mailboxes: Collection[int] = (),
) -> dict[int, list[int]]:
    """As :func:`claim_due`, the ids grouped by mailbox (each mailbox's in due order),
    read by the claim's own query: what the sending threads take, one mailbox each."""
    queues: dict[int, list[int]] = {}
    for email_id, mailbox_id in _claim(now, limit, lease, owner, per_mailbox, exclude_mailboxes):
        queues.setdefault(mailbox_id, []).append(email_id)
    return queues


def _claim(
    now: datetime,
    limit: int,
    lease: timedelta,
    owner: str,
    per_mailbox: int | None,
    exclude_mailboxes: Collection[int],
) -> list[tuple[int, int]]:
    """The claimed emails' (id, mailbox id), in due order."""
    due = ScheduledEmail.objects.filter(state=EmailState.SCHEDULED, due_at__lte=now).order_by(
        "due_at"
    )
    if exclude_mailboxes:
        due = due.exclude(mailbox_id__in=list(exclude_mailboxes))
    window = limit if per_mailbox is None else limit * LOOK_AHEAD
    with transaction.atomic():
        candidates = list(
            due.select_for_update(skip_locked=True).values_list("id", "mailbox_id")[:window]
        )
        if per_mailbox is not None:
            chosen = set(spread_over_mailboxes(candidates, limit, per_mailbox))
            candidates = [c for c in candidates if c[0] in chosen]
        if candidates:
            lifecycle.claim([email_id for email_id, _ in candidates], now, lease, owner)
    return candidates


def spread_over_mailboxes(
    candidates: list[tuple[int, int]], limit: int, per_mailbox: int
) -> list[int]:
    """Up to ``per_mailbox`` of each mailbox first, then the rest in due order; the
    chosen ids stay in due order (the order each mailbox sends them in)."""
    taken: dict[int, int] = {}
    chosen: set[int] = set()
    for email_id, mailbox_id in candidates:
        if len(chosen) == limit:
            break
        if taken.get(mailbox_id, 0) < per_mailbox:
            taken[mailbox_id] = taken.get(mailbox_id, 0) + 1
            chosen.add(email_id)
    for email_id, _ in candidates:
        if len(chosen) == limit:
            break
        chosen.add(email_id)
    return [email_id for email_id, _ in candidates if email_id in chosen]
