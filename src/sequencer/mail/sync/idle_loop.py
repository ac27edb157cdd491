"""Watching every IMAP mailbox of a worker from one thread: an asyncio loop of IDLE
connections, a few threads that read what they announce.

A thread and a database connection per mailbox stops at a few hundred mailboxes. Here
one event loop holds all the IDLE connections (:class:`~.idle_client.IdleClient`, one
task each); a connection only says *that* mail arrived. Reading it is the synchronous
:func:`~sequencer.mail.sync.imap.sync_folder` (store, classify, act), run by a small
pool of threads (``sync_threads``), one pass per mailbox at a time. The database is
touched by those threads and by one more (``imap-watch-db``) that does the loop's own
queries, so a worker holds ``sync_threads + 1`` database connections whatever the number
of mailboxes.

**Leases.** The loop holds each watched mailbox's lease (owner ``<worker>:idle``, so the
same worker's ticks leave these mailboxes alone, and so do other workers). All of them
are renewed by one UPDATE every ``renew_seconds``; a lease found lost (the loop stalled
past it and another worker took over) ends that mailbox's watch. On stop, one UPDATE
gives them all back.

**Finding mailboxes.** Every ``scan_seconds`` one query asks for IMAP mailboxes with an
id above the highest seen or changed since the last look (a mailbox just connected is
watched a second or two later; a changed one is watched again with its new settings).
Every ``rescan_seconds`` a full look finds mailboxes whose lease another worker gave
up, and drops the ones deleted or no longer on IMAP.

**Failures.** A connection that fails is retried by its own task after a delay that
doubles up to ``max_backoff_seconds``; the others go on. Its cursor says why.

**Safety passes.** IDLE is re-issued every ``reissue_seconds`` (RFC 2177: at most every
29 minutes), with a pass in case a notification was lost; a server without IDLE gets a
NOOP every ``poll_seconds``, and a pass when it reports new mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import close_old_connections, connection
from django.db.models import Q, QuerySet

from sequencer import leasing, netguard
from sequencer.clock import Clock
from sequencer.domain.backoff import Backoff, no_jitter
from sequencer.domain.inbound import InboundHandler
from sequencer.mail.models import Mailbox, Provider, SyncCursor
from sequencer.mail.sync import leases
from sequencer.mail.sync.idle_client import Account, IdleClient
from sequencer.mail.sync.imap import DEFAULT_TIMEOUT, IDLE_REISSUE_SECONDS, sync_folder

log = logging.getLogger(__name__)

T = TypeVar("T")

# A failed connection is tried again after this, doubling up to the loop's maximum.
FIRST_RETRY = timedelta(seconds=5)
# Rows changed this long before the newest change already seen are looked at again: a
# transaction that committed late may carry an older updated_at.
CHANGE_MARGIN = timedelta(seconds=5)


def imap_mailboxes() -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(provider=Provider.SMTP_IMAP).exclude(imap_host="")


def account_of(mailbox: Mailbox) -> Account:
    token = (mailbox.oauth_tokens or {}).get("access_token")
    return Account(
        host=mailbox.imap_host,
        port=mailbox.imap_port or 0,
        security=str(mailbox.imap_security),
        username=mailbox.imap_username or mailbox.email,
        password=mailbox.imap_password or "",
        oauth_token=str(token) if token else None,
    )


def _allow_open_files(wanted: int) -> None:
    """One socket per watched mailbox: raise the soft limit on open files (often 1,024)
    towards ``wanted``, as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def _close_connection() -> None:
    # Django's connection is per thread: this closes the calling thread's.
    connection.close()


def _why(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"the IMAP server did not answer within {timeout:g} s"
    return str(exc) or type(exc).__name__


@dataclass
class _Watch:
    mailbox_id: int
    cursor_id: int
    updated_at: datetime
    account: Account
    task: asyncio.Task[None] | None = None


@dataclass
class _Found:
    """What one look at the database found (computed in the database thread)."""

    new: list[_Watch] = field(default_factory=list)
    # Watched mailboxes whose connection settings changed: watched again from scratch.
    changed: list[int] = field(default_factory=list)
    # Watched mailboxes saved with the same server and login (a refreshed OAuth token):
    # the next connection uses what is new, the current one goes on.
    refreshed: list[tuple[int, datetime, Account]] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)


def _same_server(a: Account, b: Account) -> bool:
    return replace(a, oauth_token=None) == replace(b, oauth_token=None)


@dataclass
class IdleLoop:
    """Watches the IMAP mailboxes it can lease, up to ``capacity``; :meth:`run` until
    ``stop`` is set."""

    owner: str
    clock: Clock
    act: InboundHandler
    sync_threads: int = 4
    capacity: int = 5000
    scan_seconds: float = 1.0
    rescan_seconds: float = 15.0
    renew_seconds: float = 30.0
    lease_ttl: timedelta = leases.DEFAULT_TTL
    reissue_seconds: float = IDLE_REISSUE_SECONDS
    poll_seconds: float = 30.0
    timeout: float = DEFAULT_TIMEOUT
    max_backoff_seconds: float = 300.0
    # Mutated by the event loop's thread only; read by others under the lock.
    _watches: dict[int, _Watch] = field(default_factory=dict)
    _connected: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The database thread's own state.
    _taken_by_others: set[int] = field(default_factory=set)
    _last_id: int = 0
    _since: datetime | None = None
    _last_full: float = float("-inf")
    _last_renew: float = 0.0

    # -- for tests, benchmarks and the admin -------------------------------------------

    def watched(self) -> set[int]:
        """The mailboxes connected and waiting for mail (IDLE or polling) right now."""
        with self._lock:
            return set(self._connected)

    def held(self) -> set[int]:
        """The mailboxes whose lease this loop holds (connected or retrying)."""
        with self._lock:
            return set(self._watches)

    # -- the loop ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        _allow_open_files(self.capacity + 256)
        log.info("IMAP watch loop %s started", self.owner)
        asyncio.run(self._main(stop))
        log.info("IMAP watch loop %s stopped", self.owner)

    async def _main(self, stop: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        # Name lookups (the default executor) get two threads, not one per CPU and more.
        loop.set_default_executor(ThreadPoolExecutor(2, thread_name_prefix="imap-watch-dns"))
        self._tls = ssl.create_default_context()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="imap-watch-db")
        self._sync = ThreadPoolExecutor(self.sync_threads, thread_name_prefix="imap-watch-sync")
        try:
            while not stop.is_set():
                snapshot = {m: (w.updated_at, w.account) for m, w in self._watches.items()}
                try:
                    await self._apply(await self._in_db(self._look, snapshot))
                except Exception:
                    log.exception("IMAP watch loop: looking for mailboxes failed; retrying")
                await asyncio.sleep(self.scan_seconds)
        finally:
            await self._stop_all()

    async def _stop_all(self) -> None:
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A pass still running finishes before the leases go back; each pool thread
        # closes its own database connection.
        await asyncio.get_running_loop().run_in_executor(None, self._close_pool)
        with contextlib.suppress(Exception):
            await self._in_db(self._release_all)
        await self._in_db(_close_connection)
        self._db.shutdown(wait=True)

    def _close_pool(self) -> None:
        # The barrier holds each closing call until all are running: one per thread.
        barrier = threading.Barrier(self.sync_threads)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
            _close_connection()

        for _ in range(self.sync_threads):
            self._sync.submit(close)
        self._sync.shutdown(wait=True)

    async def _in_db(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, call, *args)

    # -- the database thread -----------------------------------------------------------

    def _look(self, watched: dict[int, tuple[datetime, Account]]) -> _Found:
        close_old_connections()
        now = self.clock.now()
        found = _Found()
        monotonic = time.monotonic()
        if monotonic - self._last_renew >= self.renew_seconds and watched:
            found.lost = self._renew(now, watched)
            self._last_renew = monotonic
        full = monotonic - self._last_full >= self.rescan_seconds
        rows = imap_mailboxes()
        if full:
            self._last_full = monotonic
            self._taken_by_others.clear()
        else:
            # The mailbox table has a row per connected mailbox: small enough that the
            # updated_at half needs no index; the id half uses the primary key.
            changed = Q(pk__gt=self._last_id)
            if self._since is not None:
                changed |= Q(updated_at__gt=self._since - CHANGE_MARGIN)
            rows = rows.filter(changed)
        seen = dict(rows.values_list("pk", "updated_at"))
        if full:
            found.gone = [m for m in watched if m not in seen]
        differ = []
        for mailbox_id, updated_at in seen.items():
            self._last_id = max(self._last_id, mailbox_id)
            if self._since is None or updated_at > self._since:
                self._since = updated_at
            if mailbox_id in watched and watched[mailbox_id][0] != updated_at:
                differ.append(mailbox_id)
        for mailbox in Mailbox.objects.filter(pk__in=differ):
            account = account_of(mailbox)
            if _same_server(account, watched[mailbox.pk][1]):
                found.refreshed.append((mailbox.pk, mailbox.updated_at, account))
            else:
                found.changed.append(mailbox.pk)
        room = self.capacity - len(watched)
        candidates = [
            m
            for m in sorted(seen)
            if m not in watched and m not in self._taken_by_others and m not in found.lost
        ][: max(room, 0)]
        if candidates:
            found.new = self._take(candidates, now)
        return found

    def _renew(self, now: datetime, watched: dict[int, Any]) -> list[int]:
        """One UPDATE for every lease held; the mailboxes whose lease is gone."""
        held = SyncCursor.objects.filter(lease_owner=self.owner, folder=leases.PRIMARY_FOLDER)
        leasing.renew(held, self.owner, now, self.lease_ttl)
        still = set(held.values_list("mailbox_id", flat=True))
        return [m for m in watched if m not in still]

    def _take(self, mailbox_ids: list[int], now: datetime) -> list[_Watch]:
        """Lease the free ones among ``mailbox_ids`` (one UPDATE) and read their settings."""
        have = set(
            SyncCursor.objects.filter(
                mailbox_id__in=mailbox_ids, folder=leases.PRIMARY_FOLDER
            ).values_list("mailbox_id", flat=True)
        )
        for mailbox_id in mailbox_ids:
            if mailbox_id not in have:
                leases.cursor_for(mailbox_id)
        rows = SyncCursor.objects.filter(mailbox_id__in=mailbox_ids, folder=leases.PRIMARY_FOLDER)
        leasing.take(rows, self.owner, now, self.lease_ttl)
        taken = dict(rows.filter(lease_owner=self.owner).values_list("mailbox_id", "pk"))
        self._taken_by_others.update(m for m in mailbox_ids if m not in taken)
        return [
            _Watch(
                mailbox_id=m.pk,
                cursor_id=taken[m.pk],
                updated_at=m.updated_at,
                account=account_of(m),
            )
            for m in Mailbox.objects.filter(pk__in=list(taken))
        ]

    def _release(self, mailbox_ids: list[int]) -> None:
        leasing.release(
            SyncCursor.objects.filter(mailbox_id__in=mailbox_ids, folder=leases.PRIMARY_FOLDER),
            self.owner,
        )

    def _release_all(self) -> None:
        leasing.release(SyncCursor.objects.filter(lease_owner=self.owner), self.owner)

    def _note_error(self, cursor_id: int, error: str) -> None:
        SyncCursor.objects.filter(pk=cursor_id, lease_owner=self.owner).update(
            last_error=error[:2000]
        )

    # -- the event loop ----------------------------------------------------------------

    async def _apply(self, found: _Found) -> None:
        for mailbox_id, updated_at, account in found.refreshed:
            if mailbox_id in self._watches:
                self._watches[mailbox_id].updated_at = updated_at
                self._watches[mailbox_id].account = account
        for mailbox_id in found.lost:
            log.info("%s: mailbox %s taken over by another worker", self.owner, mailbox_id)
            self._drop(mailbox_id)
        ended = set(found.gone) | set(found.changed)
        for mailbox_id in ended:
            self._drop(mailbox_id)
        if ended:
            # Given back now; a changed mailbox is taken again at the next look.
            self._last_id = min(self._last_id, min(ended) - 1)
            await self._in_db(self._release, sorted(ended))
        for watch in found.new:
            with self._lock:
                self._watches[watch.mailbox_id] = watch
            watch.task = asyncio.create_task(
                self._watch(watch), name=f"imap-watch-{watch.mailbox_id}"
            )

    def _drop(self, mailbox_id: int) -> None:
        with self._lock:
            watch = self._watches.pop(mailbox_id, None)
            self._connected.discard(mailbox_id)
        if watch is not None and watch.task is not None:
            watch.task.cancel()

    async def _watch(self, watch: _Watch) -> None:
        backoff = Backoff(
            first=min(FIRST_RETRY, timedelta(seconds=self.max_backoff_seconds)),
            cap=timedelta(seconds=self.max_backoff_seconds),
        )
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            client = IdleClient(watch.account, timeout=self.timeout)
            try:
                account = watch.account
                await loop.run_in_executor(None, netguard.check, account.host, account.port)
                await client.open(self._tls)
                await self._pass(watch)
                failures = 0
                with self._lock:
                    self._connected.add(watch.mailbox_id)
                await self._wait_and_read(client, watch)
            except leases.LeaseLost:
                log.info("%s: mailbox %s taken by another worker", self.owner, watch.mailbox_id)
                with self._lock:
                    if self._watches.get(watch.mailbox_id) is watch:
                        del self._watches[watch.mailbox_id]
                return
            except Exception as exc:
                failures += 1
                delay = backoff.delay(failures, random=no_jitter).total_seconds()
                why = _why(exc, self.timeout)
                log.warning(
                    "IMAP watch of mailbox %s failed (%s); again in %.0f s",
                    watch.mailbox_id,
                    why,
                    delay,
                    extra={"mailbox": watch.mailbox_id},
                )
                with contextlib.suppress(Exception):
                    await self._in_db(self._note_error, watch.cursor_id, why)
            else:
                delay = 0.0
            finally:
                with self._lock:
                    self._connected.discard(watch.mailbox_id)
                await client.close()
            await asyncio.sleep(delay)

    async def _wait_and_read(self, client: IdleClient, watch: _Watch) -> None:
        loop = asyncio.get_running_loop()
        last_pass = loop.time()
        while True:
            if client.can_idle:
                news = await client.idle(self.reissue_seconds - (loop.time() - last_pass))
            else:
                await asyncio.sleep(self.poll_seconds)
                news = await client.noop()
            if news or loop.time() - last_pass >= self.reissue_seconds:
                await self._pass(watch)
                last_pass = loop.time()

    async def _pass(self, watch: _Watch) -> None:
        """Read the mailbox's new mail in a pool thread (one pass, under the lease)."""
        future = self._sync.submit(self._read, watch.mailbox_id, watch.cursor_id)
        await asyncio.wrap_future(future)

    def _read(self, mailbox_id: int, cursor_id: int) -> int:
        # Long-lived threads: let Django drop a connection past its age.
        if not connection.in_atomic_block:
            close_old_connections()
        mailbox = Mailbox.objects.get(pk=mailbox_id)
        return sync_folder(
            mailbox,
            owner=self.owner,
            cursor_id=cursor_id,
            clock=self.clock,
            act=self.act,
            timeout=self.timeout,
        )
