"""Sending a tick's claimed emails: many mailboxes at once, each one email at a time.

A send waits on the network (an SMTP server's reply, an API call) far longer than it
computes, so a worker keeps up to ``concurrency`` mailboxes in flight, each in a thread
of a pool that lives for the tick. Each mailbox's emails go to one task, in the order
they were claimed, and that task alone sends them, one after another, through one
provider of its own (its connection kept open between them and closed at the end): a
mailbox never has two messages on the wire, and its pacing decisions (taken under the
mailbox's row lock in dispatch) see each send before the next. A slow or hanging server
holds its own mailbox's task only.

Exactly-once is untouched: each email's re-check, *sending* and outcome are transactions
of their own in the thread that sends it, on that thread's own database connection
(closed when the task ends, so a tick leaves no connection behind). Threads, not
asyncio: the ORM and the providers are synchronous; see docs/benchmarks.md ("Why sending
uses threads") for the figures.

Inside a transaction (tests that roll back) other connections cannot see what the
caller wrote, so there, and when there is only one mailbox or one thread, the mailboxes
are sent one after another in the calling thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol, runtime_checkable

from django.db import connection

from sequencer.engine.phases import PhaseTimes
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.base import MailProvider

log = logging.getLogger(__name__)


class SendOne(Protocol):
    """Sends one claimed email (dispatch.send_one with the worker's arguments bound);
    whether it was handed over."""

    def __call__(
        self,
        email_id: int,
        *,
        provider_for: Callable[[Mailbox], MailProvider],
        phases: PhaseTimes | None = None,
    ) -> bool: ...


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


def send_by_mailbox(
    queues: Sequence[list[int]],
    *,
    concurrency: int,
    make_provider: Callable[[Mailbox], MailProvider],
    send_one: SendOne,
    phases: PhaseTimes,
) -> int:
    """Send each queue (one mailbox's claimed emails, in order), up to ``concurrency``
    queues at once; how many emails were handed over. ``phases`` gathers every task's
    times. A task that raises stops its own queue only (its emails stay claimed until
    their lease ends); the first such error is raised once every task has ended."""
    if concurrency <= 1 or len(queues) <= 1 or connection.in_atomic_block:
        handed = [_send_queue(queue, make_provider, send_one) for queue in queues]
    else:
        with ThreadPoolExecutor(
            max_workers=min(concurrency, len(queues)), thread_name_prefix="send"
        ) as pool:
            futures = [
                pool.submit(_in_own_connection, queue, make_provider, send_one) for queue in queues
            ]
        # Every task has ended (leaving the pool waits for them): the first error now.
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        handed = [f.result() for f in futures]
    for _, times in handed:
        phases.add(times)
    return sum(count for count, _ in handed)


def _in_own_connection(
    queue: list[int], make_provider: Callable[[Mailbox], MailProvider], send_one: SendOne
) -> tuple[int, PhaseTimes]:
    try:
        return _send_queue(queue, make_provider, send_one)
    finally:
        # Django opened this thread's connection on its first query; nothing else
        # would close it.
        connection.close()


def _send_queue(
    queue: list[int], make_provider: Callable[[Mailbox], MailProvider], send_one: SendOne
) -> tuple[int, PhaseTimes]:
    times = PhaseTimes()
    providers = MailboxProviders(make_provider)
    handed_over = 0
    try:
        for email_id in queue:
            if send_one(email_id, provider_for=providers, phases=times):
                handed_over += 1
    finally:
        providers.close()
    return handed_over, times
