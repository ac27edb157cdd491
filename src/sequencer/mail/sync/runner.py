"""Keeping every connected mailbox read: from the worker's tick, and in an IDLE loop.

:func:`sync_tick` is what :class:`~sequencer.engine.worker.Worker` calls on every tick,
before it claims due emails (so a reply that has arrived stops the next email before it
is claimed). It reads the mailboxes whose turn has come (:func:`sync_mailboxes`): each
once per ``interval`` at a moment of its own, so that a thousand mailboxes are read a
few per tick rather than all in one, each under its lease so that however many workers tick,
one reads a given mailbox at a time. Nothing it does can stop the tick: failures are
logged and stored on the mailbox's cursor. Each stored message is handed to the ``act``
handler the caller gives (the engine composes it: the mail package stores and
classifies, the sequences package acts on enrollments).

:func:`start_idle_loop` starts the long-running part, for ``sequencer worker``: an
:class:`~sequencer.mail.sync.idle_loop.IdleLoop` keeps an IMAP IDLE connection for every
IMAP mailbox whose lease is free (thousands in one thread), so replies are acted on
seconds after they arrive. A mailbox watched by the loop is skipped by the ticks'
polling, since the loop holds its lease; if its worker dies, the lease expires and
polling or another worker's loop takes over. Gmail and Microsoft 365 mailboxes are read by the
ticks' polling (history and delta calls are cheap; push needs a public endpoint).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from sequencer import leasing
from sequencer.clock import Clock
from sequencer.domain import poll_spread
from sequencer.domain.inbound import InboundHandler
from sequencer.mail.models import Mailbox, Provider, SyncCursor
from sequencer.mail.sync import leases
from sequencer.mail.sync.gmail import GmailSync
from sequencer.mail.sync.graph import GraphSync
from sequencer.mail.sync.idle_loop import IdleLoop
from sequencer.mail.sync.imap import sync_folder
from sequencer.operations.log_format import took

log = logging.getLogger(__name__)

# How often each mailbox is read by the ticks (the IMAP watch loop reads as mail arrives).
DEFAULT_INTERVAL = timedelta(seconds=60)
# Mailboxes read per tick: as many as keep each on its interval when a tick comes about
# this often (a worker with nothing due waits 2 s between ticks), and for how long at most:
# the tick also has emails to send. See sequencer.domain.poll_spread for the quotas.
TICK_ESTIMATE = timedelta(seconds=3)
TICK_BUDGET_SECONDS = 20.0
IDLE_SUFFIX = ":idle"


def syncable_mailboxes() -> QuerySet[Mailbox]:
    """Mailboxes whose inbox can be read: Gmail, Microsoft 365, or any with IMAP."""
    return Mailbox.objects.filter(
        Q(provider__in=(Provider.GMAIL, Provider.MICROSOFT))
        | (Q(provider=Provider.SMTP_IMAP) & ~Q(imap_host=""))
    )


def sync_mailbox(
    mailbox: Mailbox, *, owner: str, cursor_id: int, clock: Clock, act: InboundHandler
) -> int:
    """One pass over ``mailbox`` with the reader its provider needs (lease held)."""
    if mailbox.provider == Provider.GMAIL:
        return GmailSync(mailbox, owner=owner, cursor_id=cursor_id, clock=clock, act=act).sync()
    if mailbox.provider == Provider.MICROSOFT:
        return GraphSync(mailbox, owner=owner, cursor_id=cursor_id, clock=clock, act=act).sync()
    return sync_folder(mailbox, owner=owner, cursor_id=cursor_id, clock=clock, act=act)


def _ensure_cursors() -> None:
    missing = list(
        syncable_mailboxes()
        .exclude(sync_cursors__folder=leases.PRIMARY_FOLDER)
        .values_list("pk", flat=True)
    )
    for mailbox_id in missing:
        leases.cursor_for(mailbox_id)


def sync_mailboxes(
    now: datetime,
    *,
    owner: str,
    clock: Clock,
    act: InboundHandler,
    interval: timedelta = DEFAULT_INTERVAL,
    limit: int | None = None,
    budget_seconds: float = TICK_BUDGET_SECONDS,
) -> int:
    """Read the mailboxes whose turn has come (:mod:`sequencer.domain.poll_spread`) and
    whose lease is free, up to ``limit`` (by default as many as keep every mailbox on its
    interval); how many were read. A mailbox's failure is logged and kept on its cursor,
    and the others go on."""
    _ensure_cursors()
    polled = SyncCursor.objects.filter(
        folder=leases.PRIMARY_FOLDER, mailbox__in=syncable_mailboxes()
    ).filter(leasing.free(now))
    if limit is None:
        limit = poll_spread.polls_per_tick(polled.count(), interval, TICK_ESTIMATE)
    # Never read within half an interval (the rule's own floor), so the database sends
    # only the rows that may be due; their turns are computed here.
    candidates = polled.filter(
        Q(attempted_at__isnull=True) | Q(attempted_at__lte=now - interval / 2)
    ).values_list("mailbox_id", "attempted_at")
    turns = sorted(
        (attempted_at is not None, attempted_at or now, mailbox_id)
        for mailbox_id, attempted_at in candidates
        if poll_spread.due(attempted_at, mailbox_id, interval, now)
    )
    due = [mailbox_id for _, _, mailbox_id in turns[:limit]]
    started = time.monotonic()
    read = 0
    for mailbox_id in due:
        if time.monotonic() - started > budget_seconds:
            break
        cursor = leases.acquire(mailbox_id, owner, now)
        if cursor is None:
            continue  # another worker took it first
        began = time.monotonic()
        try:
            leases.save_cursor(cursor.pk, owner, attempted_at=now)
            mailbox = Mailbox.objects.get(pk=mailbox_id)
            sync_mailbox(mailbox, owner=owner, cursor_id=cursor.pk, clock=clock, act=act)
            read += 1
        except leases.LeaseLost:
            continue
        except Exception as exc:
            log.warning(
                "reading mailbox %s failed: %s",
                mailbox_id,
                exc,
                exc_info=True,
                extra={"mailbox": mailbox_id, **took(began)},
            )
            # Tried again at the next turn; the cursor says why it failed.
            SyncCursor.objects.filter(pk=cursor.pk, lease_owner=owner).update(
                last_error=str(exc)[:2000] or type(exc).__name__
            )
        finally:
            leases.release(cursor.pk, owner)
    return read


def sync_tick(now: datetime, *, owner: str, clock: Clock, act: InboundHandler) -> None:
    """The worker's one call per tick: read due mailboxes. Never raises: reading mail
    must never stop sending."""
    try:
        sync_mailboxes(now, owner=owner, clock=clock, act=act)
    except Exception:
        log.exception("reading mailboxes failed")


# -- IMAP IDLE ----------------------------------------------------------------------------


def start_idle_loop(
    stop: threading.Event,
    *,
    owner: str,
    clock: Clock,
    act: InboundHandler,
    **options: Any,
) -> IdleLoop:
    """Start an :class:`~sequencer.mail.sync.idle_loop.IdleLoop` in a daemon thread
    (``sequencer worker`` calls this next to its worker); it ends when ``stop`` is set.
    ``options`` are the loop's settings (``scan_seconds``, ``reissue_seconds``, ...)."""
    loop = IdleLoop(owner=f"{owner}{IDLE_SUFFIX}", clock=clock, act=act, **options)
    threading.Thread(target=loop.run, args=(stop,), name="imap-watch-loop", daemon=True).start()
    return loop
