"""Sending claimed emails: many mailboxes at once, each one email at a time.

A send waits on the network (an SMTP server's reply, an API call) far longer than it
computes, so a worker keeps up to ``concurrency`` mailboxes in flight, in as many
threads, started by a tick (:class:`MailboxLanes`). Each mailbox's claimed emails go to
one task, in the order they were claimed, and that task alone sends them, one after
another, through one provider of its own (its connection kept open between them, closed
at the end): a mailbox never has two messages on the wire, and its pacing decisions
(taken under the mailbox's row lock in dispatch) see each send before the next. The
worker claims more as threads come free, so a slow or hanging server holds its own
mailbox's task only, never the others' sends.

Nor does it hold the tick: a tick waits for its threads until its sending budget ends
(:meth:`MailboxLanes.finish`), then leaves the ones still sending to go on in the
background (daemon threads, so they never keep a stopped process alive). The worker
keeps those lanes: until their tasks end, its next ticks claim nothing of their
mailboxes (:meth:`MailboxLanes.busy`) and start only as many threads as the concurrency
leaves beside theirs (:meth:`MailboxLanes.working`).

Exactly-once is untouched: a task checks its mailbox's queued emails as one batch, then
commits each as *sending* right before it goes and records its outcome, in transactions
of its own (engine/dispatch.py), in the thread that sends it, on that thread's own
database connection
(one per thread, not per mailbox, so a tick of many one-email mailboxes opens few;
closed when the thread ends, so no connection is left behind). Threads, not asyncio:
the ORM and the providers are synchronous; see docs/benchmarks.md ("Why sending uses
threads") for the figures.

Inside a transaction (tests that roll back) other connections cannot see what the
caller wrote, so there, and with a concurrency of one, the mailboxes are sent one after
another in the calling thread (:func:`send_in_this_thread`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from queue import SimpleQueue
from typing import Protocol, runtime_checkable

from django.db import connection

from sequencer.engine.phases import PhaseTimes
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.base import MailProvider

log = logging.getLogger(__name__)


class SendClaimed(Protocol):
    """Sends claimed emails of one mailbox in order (dispatch.send_claimed with the
    worker's arguments bound); how many were handed over."""

    def __call__(
        self,
        email_ids: Sequence[int],
        *,
        provider_for: Callable[[Mailbox], MailProvider],
        phases: PhaseTimes | None = None,
    ) -> int: ...


@runtime_checkable
class _Holding(Protocol):
    """A provider that can keep its connection open between sends (SMTP)."""

    def hold_connection(self) -> None: ...

    def close(self) -> None: ...


class MailboxProviders:
    """The providers of one task: one per mailbox, built from the mailbox row as the
    email's re-check read it (a changed row gets a new one), with its connection kept
    open between that mailbox's emails and closed when the task ends. Used by one
    thread only."""

    def __init__(self, make: Callable[[Mailbox], MailProvider]) -> None:
        self._make = make
        self._made: dict[int, tuple[datetime | None, MailProvider]] = {}

    def __call__(self, mailbox: Mailbox) -> MailProvider:
        known = self._made.get(mailbox.pk)
        if known is not None and known[0] == mailbox.updated_at:
            return known[1]
        if known is not None:
            self._close(known[1])
        provider = self._make(mailbox)
        if isinstance(provider, _Holding):
            provider.hold_connection()
        self._made[mailbox.pk] = (mailbox.updated_at, provider)
        return provider

    def close(self) -> None:
        for _, provider in self._made.values():
            self._close(provider)
        self._made.clear()

    @staticmethod
    def _close(provider: MailProvider) -> None:
        if isinstance(provider, _Holding):
            try:
                provider.close()
            except Exception:  # the emails are recorded; a failed QUIT changes nothing
                log.warning("could not close a mailbox connection", exc_info=True)


class MailboxLanes:
    """Up to ``concurrency`` mailboxes sending at once, each from a queue of its own.

    :meth:`add` hands over newly claimed emails: a mailbox already sending gets them at
    the end of its queue (so it keeps claim order), any other mailbox a new task.
    :meth:`wait_for_room` blocks until fewer than ``concurrency`` mailboxes are sending
    and the queues run low, so the caller claims more work just when a thread is about
    to be free, and :meth:`finish` waits for every task, or until a deadline: the
    tasks still sending then go on in the background (:meth:`busy`, :meth:`working`).
    Not for use inside a transaction (see the module's doc): there
    :func:`send_in_this_thread` sends.
    """

    def __init__(
        self,
        *,
        concurrency: int,
        make_provider: Callable[[Mailbox], MailProvider],
        send_claimed: SendClaimed,
    ) -> None:
        self.concurrency = concurrency
        self.handed_over = 0
        # Every task's; complete once finish() returned with no thread left working.
        self.phases = PhaseTimes()
        self._make_provider = make_provider
        self._send_claimed = send_claimed
        self._queues: dict[int, deque[int]] = {}  # of the mailboxes with a task
        self._errors: list[BaseException] = []
        self._changed = threading.Condition()
        # Mailboxes whose task waits for a thread; None tells a thread to end.
        self._ready: SimpleQueue[int | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []

    def add(self, queues: dict[int, list[int]]) -> None:
        with self._changed:
            for mailbox_id, ids in queues.items():
                if mailbox_id in self._queues:
                    self._queues[mailbox_id].extend(ids)
                else:
                    self._queues[mailbox_id] = deque(ids)
                    self._ready.put(mailbox_id)
                    if len(self._threads) < min(self.concurrency, len(self._queues)):
                        self._start_thread()

    def _start_thread(self) -> None:
        # A daemon: a thread left sending by its tick never keeps the process from ending
        # (Worker.run waits for it a bounded time when it stops).
        thread = threading.Thread(
            target=self._serve, name=f"send-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        """One sending thread: mailbox tasks one after another, on one database
        connection, closed when the thread ends (Django opened it on the first query;
        nothing else would close it)."""
        try:
            while (mailbox_id := self._ready.get()) is not None:
                self._lane(mailbox_id)
        finally:
            connection.close()

    def wait_for_room(self, backlog: int, until: float) -> int | None:
        """Wait until a thread is free (fewer than ``concurrency`` mailboxes sending)
        and at most ``backlog`` emails wait in the queues; how many emails wait, or None
        if there was no room by ``until`` (a ``time.monotonic()``: every thread may be
        held by a hanging server)."""
        with self._changed:
            room = self._changed.wait_for(
                lambda: len(self._queues) < self.concurrency and self._waiting() <= backlog,
                timeout=max(0.0, until - time.monotonic()),
            )
            return self._waiting() if room else None

    def _waiting(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def finish(self, until: float | None = None) -> None:
        """Let the threads end once every task handed over is done and wait for them,
        until ``until`` (a ``time.monotonic()``; None: however long they take); then
        raise the first error a task met, if any. A thread still sending then goes on
        in the background, to the end of its tasks."""
        for _ in self._threads:
            self._ready.put(None)  # after every task already waiting
        self.join(until)
        if self._errors:
            raise self._errors[0]

    def join(self, until: float | None) -> bool:
        """Wait for the threads (after :meth:`finish`) until ``until``; whether all ended."""
        for thread in self._threads:
            thread.join(None if until is None else max(0.0, until - time.monotonic()))
        return not self.working()

    def working(self) -> int:
        """How many of the threads have not ended yet."""
        return sum(thread.is_alive() for thread in self._threads)

    def busy(self) -> frozenset[int]:
        """The mailboxes that still have a task (sending, or waiting for a thread)."""
        with self._changed:
            return frozenset(self._queues)

    def _next(self, mailbox_id: int) -> list[int]:
        """Everything queued for the mailbox (checked and sent as one batch), or nothing
        when its queue is empty (its task ends)."""
        with self._changed:
            queue = self._queues[mailbox_id]
            if queue:
                taken = list(queue)
                queue.clear()
                self._changed.notify_all()  # the queues ran low: the worker may claim more
                return taken
            del self._queues[mailbox_id]
            self._changed.notify_all()
            return []

    def _lane(self, mailbox_id: int) -> None:
        times = PhaseTimes()
        providers = MailboxProviders(self._make_provider)
        handed_over = 0
        try:
            while email_ids := self._next(mailbox_id):
                handed_over += self._send_claimed(email_ids, provider_for=providers, phases=times)
        except BaseException as exc:
            # This mailbox stops; its emails left stay claimed until their lease ends.
            log.exception("sending from mailbox %s failed", mailbox_id)
            with self._changed:
                self._errors.append(exc)
                self._queues.pop(mailbox_id, None)
                self._changed.notify_all()
        finally:
            providers.close()
            with self._changed:
                self.handed_over += handed_over
                self.phases.add(times)


def sends_in_this_thread(concurrency: int) -> bool:
    """Whether a tick must send in the calling thread (one at a time, as claimed)."""
    return concurrency <= 1 or connection.in_atomic_block


def send_in_this_thread(
    queues: dict[int, list[int]],
    *,
    make_provider: Callable[[Mailbox], MailProvider],
    send_claimed: SendClaimed,
    phases: PhaseTimes,
) -> int:
    """Each mailbox's emails in turn, in the calling thread; how many were handed over."""
    handed_over = 0
    for ids in queues.values():
        providers = MailboxProviders(make_provider)
        try:
            handed_over += send_claimed(ids, provider_for=providers, phases=phases)
        finally:
            providers.close()
    return handed_over
