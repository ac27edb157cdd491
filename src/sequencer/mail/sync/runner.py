"""Keeping every connected mailbox read: from the worker's tick, and in an IDLE loop.

:func:`sync_tick` is what :class:`~sequencer.engine.worker.Worker` calls on every tick,
before it claims due emails (so a reply that has arrived stops the next email before it
is claimed). It reads the mailboxes whose turn has come (:func:`sync_mailboxes`): each
at most every
``interval``, a few per tick, each under its lease so that however many workers tick,
one reads a given mailbox at a time. Nothing it does can stop the tick: failures are
logged and stored on the mailbox's cursor. Each stored message is handed to the ``act``
handler the caller gives (the engine composes it: the mail package stores and
classifies, the sequences package acts on enrollments).

:class:`IdleLoop` is the long-running part, for ``sequencer worker``: it keeps an IMAP
IDLE connection (:class:`~sequencer.mail.sync.imap.IdleSession`, one thread each) for
every IMAP mailbox whose lease is free, so replies are acted on seconds after they
arrive. A mailbox held by an IDLE session is skipped by the ticks' polling, since the
session holds its lease; if the session's worker dies, the lease expires and polling or
another worker's IDLE loop takes over. Gmail and Microsoft 365 mailboxes are read by the
ticks' polling (history and delta calls are cheap; push needs a public endpoint).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.db.models import F, Q, QuerySet

from sequencer import leasing
from sequencer.clock import Clock
from sequencer.domain.backoff import Backoff, no_jitter
from sequencer.domain.inbound import InboundHandler
from sequencer.mail.models import Mailbox, Provider, SyncCursor
from sequencer.mail.sync import leases
from sequencer.mail.sync.gmail import GmailSync
from sequencer.mail.sync.graph import GraphSync
from sequencer.mail.sync.imap import IdleSession, sync_folder
from sequencer.operations.log_format import took

log = logging.getLogger(__name__)

# How often each mailbox is read by the ticks (an IDLE session reads as mail arrives).
DEFAULT_INTERVAL = timedelta(seconds=60)
# Mailboxes read per tick at most, and for how long: the tick also has emails to send.
PER_TICK = 5
TICK_BUDGET_SECONDS = 20.0
IDLE_SUFFIX = ":idle"
# A failed IDLE session starts again after this, doubling up to the loop's maximum.
IDLE_FIRST_RETRY = timedelta(seconds=5)


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
    limit: int = PER_TICK,
    budget_seconds: float = TICK_BUDGET_SECONDS,
) -> int:
    """Read the mailboxes whose turn has come and whose lease is free; how many were
    read. A mailbox's failure is logged and kept on its cursor, and the others go on."""
    _ensure_cursors()
    due = list(
        SyncCursor.objects.filter(folder=leases.PRIMARY_FOLDER, mailbox__in=syncable_mailboxes())
        .filter(Q(attempted_at__isnull=True) | Q(attempted_at__lte=now - interval))
        .filter(leasing.free(now))
        .order_by(F("attempted_at").asc(nulls_first=True), "pk")
        .values_list("mailbox_id", flat=True)[:limit]
    )
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


@dataclass
class _Running:
    thread: threading.Thread
    session: IdleSession


@dataclass
class IdleLoop:
    """Starts and watches one :class:`IdleSession` thread per IMAP mailbox it can lease.

    ``owner`` names the leases (``<worker name>:idle``, so that the same worker's ticks
    leave these mailboxes alone). A session that failed is started again after a delay
    that doubles up to ``max_backoff_seconds``.
    """

    owner: str
    clock: Clock
    act: InboundHandler
    scan_seconds: float = 15.0
    max_sessions: int = 200
    max_backoff_seconds: float = 300.0
    session_options: dict[str, float] = field(default_factory=dict)
    _running: dict[int, _Running] = field(default_factory=dict)
    _failures: dict[int, tuple[int, float]] = field(default_factory=dict)

    def run(self, stop: threading.Event) -> None:
        log.info("IDLE loop %s started", self.owner)
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    self.scan(stop)
                except Exception:
                    log.exception("IDLE loop scan failed; retrying")
                stop.wait(self.scan_seconds)
        finally:
            for running in self._running.values():
                running.thread.join(timeout=10)
            connection.close()
            log.info("IDLE loop %s stopped", self.owner)

    def sessions(self) -> dict[int, IdleSession]:
        """The live sessions by mailbox id (for tests and benchmarks)."""
        return {mid: r.session for mid, r in self._running.items() if r.thread.is_alive()}

    def scan(self, stop: threading.Event) -> None:
        """Start sessions for IMAP mailboxes that have none and whose lease is free."""
        for mailbox_id in [m for m, r in self._running.items() if not r.thread.is_alive()]:
            del self._running[mailbox_id]
        now = self.clock.now()
        candidates = (
            syncable_mailboxes()
            .filter(provider=Provider.SMTP_IMAP)
            .exclude(pk__in=list(self._running))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for mailbox_id in candidates:
            if len(self._running) >= self.max_sessions:
                break
            _, retry_at = self._failures.get(mailbox_id, (0, 0.0))
            if time.monotonic() < retry_at or not leases.is_free(mailbox_id, now):
                continue
            session = IdleSession(
                mailbox_id,
                owner=self.owner,
                stop=stop,
                clock=self.clock,
                act=self.act,
                **self.session_options,  # type: ignore[arg-type]
            )
            thread = threading.Thread(
                target=self._session,
                args=(session,),
                name=f"imap-idle-{mailbox_id}",
                daemon=True,
            )
            self._running[mailbox_id] = _Running(thread=thread, session=session)
            thread.start()

    def _backoff(self) -> Backoff:
        cap = timedelta(seconds=self.max_backoff_seconds)
        return Backoff(first=min(IDLE_FIRST_RETRY, cap), cap=cap)

    def _session(self, session: IdleSession) -> None:
        mailbox_id = session.mailbox_id
        try:
            session.run()
        except Exception as exc:
            failures = self._failures.get(mailbox_id, (0, 0.0))[0] + 1
            delay = self._backoff().delay(failures, random=no_jitter).total_seconds()
            self._failures[mailbox_id] = (failures, time.monotonic() + delay)
            log.warning(
                "IMAP IDLE for mailbox %s failed (%s); again in %.0f s",
                mailbox_id,
                exc,
                delay,
                extra={"mailbox": mailbox_id},
            )
        else:
            self._failures.pop(mailbox_id, None)
        finally:
            with contextlib.suppress(Exception):
                connection.close()


def start_idle_loop(
    stop: threading.Event,
    *,
    owner: str,
    clock: Clock,
    act: InboundHandler,
    scan_seconds: float = 15.0,
    session_options: dict[str, float] | None = None,
) -> IdleLoop:
    """Start an :class:`IdleLoop` in a daemon thread (``sequencer worker`` calls this next
    to its worker); it ends when ``stop``
    is set."""
    loop = IdleLoop(
        owner=f"{owner}{IDLE_SUFFIX}",
        clock=clock,
        act=act,
        scan_seconds=scan_seconds,
        session_options=dict(session_options or {}),
    )
    threading.Thread(target=loop.run, args=(stop,), name="imap-idle-loop", daemon=True).start()
    return loop
