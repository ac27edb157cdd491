"""The worker loop: settle lost emails, claim due ones, send them, repeat.

The engine is where the packages meet: the mail readers store and classify what
arrives, and :func:`inbound_handler` gives them the sequences package's actions on
enrollments (the two packages never import each other).
"""

from __future__ import annotations

import logging
import os
import random as random_module
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, runtime_checkable

from django.db import close_old_connections, connection

from sequencer.ai.generator import TextGenerator
from sequencer.ai.source import configured_generator
from sequencer.automations.runner import run_due as run_workflows
from sequencer.calendars.sync import sync_calendars
from sequencer.clock import Clock
from sequencer.domain.backoff import Random
from sequencer.domain.events import EventKind
from sequencer.domain.inbound import Arrival, InboundHandler
from sequencer.engine.ai_ahead import write_ahead
from sequencer.engine.claim import claim_due
from sequencer.engine.complaints import check_complaint_rate
from sequencer.engine.dispatch import record_sent, send_one
from sequencer.engine.phases import PhaseTimes
from sequencer.engine.reconcile import expire_leases, settle_unknown
from sequencer.housekeeping.daily import run_if_due as run_housekeeping
from sequencer.mail.mailboxes import provider_for as default_provider_for
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.base import MailProvider
from sequencer.mail.sync.runner import sync_tick
from sequencer.operations.heartbeat import Heart
from sequencer.operations.log_format import took
from sequencer.operations.metrics import observe_tick
from sequencer.sequences import inbound
from sequencer.webhooks.delivery import start_delivery_loop

log = logging.getLogger(__name__)


def inbound_handler(clock: Clock) -> InboundHandler:
    """What the mail readers call for each stored message: the sequences package's
    actions on the enrollments it concerns, then, after a spam complaint about one of
    them, the mailbox's complaint rate (which may pause it)."""

    def handle(arrival: Arrival) -> int | None:
        enrollment_id = inbound.act(arrival, clock=clock)
        complaint = arrival.event.complaint
        if (
            enrollment_id is not None
            and arrival.event.kind == EventKind.COMPLAINT
            and complaint is not None
            and complaint.is_spam_complaint
        ):
            check_complaint_rate(arrival.mailbox_id, clock=clock)
        return enrollment_id

    return handle


@runtime_checkable
class _Holding(Protocol):
    """A provider that can keep its connection open between sends (SMTP)."""

    def hold_connection(self) -> None: ...

    def close(self) -> None: ...


class _TickProviders:
    """The providers of one tick: one per mailbox, built from the mailbox row as the
    email's re-check read it (a changed row gets a new one), with its connection kept
    open between that mailbox's emails and closed when the tick ends."""

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


@dataclass
class TickReport:
    claimed: int = 0
    handed_over: int = 0
    released: int = 0
    lost: int = 0
    settled: int = 0
    ai_written: int = 0  # emails whose AI text a model was asked for
    # Where the sending time went (for the benchmarks; see engine/phases.py).
    phases: PhaseTimes = field(default_factory=PhaseTimes)


class Worker:
    def __init__(
        self,
        *,
        clock: Clock,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        provider_for: Callable[[Mailbox], MailProvider] | None = None,
        name: str | None = None,
        random: Random = random_module.random,
        ai_generator: Callable[[], TextGenerator | None] = configured_generator,
    ) -> None:
        self.clock = clock
        # Asked on each tick: an admin may set up, change or remove the model any time.
        self.ai_generator = ai_generator
        self.random = random
        self.batch_size = batch_size
        self.lease = lease
        # By default each mailbox's own provider, whose OAuth tokens refresh on this
        # worker's clock.
        self.provider_for = provider_for or partial(default_provider_for, clock=clock)
        # Unique per process and start, so a restarted worker never mistakes an old
        # lease for its own.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def tick(self) -> TickReport:
        started = time.perf_counter()
        report = TickReport()
        now = self.clock.now()
        report.released, report.lost = expire_leases(now)
        # Returns from absence, replies and bounces first, so that they resume or stop
        # emails before any is claimed. Neither raises: reading mail cannot stop sending.
        try:
            inbound.resume_due(now, clock=self.clock)
        except Exception:
            log.exception("resuming enrollments after absences failed")
        sync_tick(now, owner=self.name, clock=self.clock, act=inbound_handler(self.clock))
        # Workflows enroll and remove people before emails are claimed; bounded (a batch
        # of events and a time budget per tick) and never raises.
        run_workflows(now, owner=self.name, clock=self.clock)
        report.settled = settle_unknown(
            now, self.provider_for, lambda email, at: record_sent(email, at)
        )
        # AI text for emails coming due, before any is claimed: the send never calls a
        # model (it holds a lease), it only reads what was written here or in a preview.
        generator = self._generator()
        try:
            report.ai_written = write_ahead(now, clock=self.clock, generator=generator)
        except Exception:
            log.exception("writing AI text ahead failed")
        with report.phases.measure("claim"):
            ids = claim_due(now, limit=self.batch_size, lease=self.lease, owner=self.name)
        report.claimed = len(ids)
        providers = _TickProviders(self.provider_for)
        try:
            for email_id in ids:
                if send_one(
                    email_id,
                    owner=self.name,
                    clock=self.clock,
                    lease=self.lease,
                    provider_for=providers,
                    random=self.random,
                    ai_generator=generator,
                    phases=report.phases,
                ):
                    report.handed_over += 1
        finally:
            providers.close()
        # Meetings booked in senders' calendars (bounded in time; never raises).
        sync_calendars(now, owner=self.name, clock=self.clock)
        # Retention, once a day by one worker (leased; bounded in time; never raises).
        run_housekeeping(now, owner=self.name)
        observe_tick(time.perf_counter() - started, report.phases.seconds["claim"])
        return report

    def _generator(self) -> TextGenerator | None:
        try:
            return self.ai_generator()
        except Exception:  # a broken model setting must not stop sending
            log.exception("the text generator could not be set up")
            return None

    def start_webhooks(self, stop: threading.Event) -> threading.Thread:
        """Deliver webhooks in a thread of their own until ``stop`` is set: a receiver
        that is slow or down holds up that thread only, never a tick's sending."""
        return start_delivery_loop(stop, owner=self.name, clock=self.clock)

    def run(self, stop: threading.Event, *, idle_seconds: float = 2.0) -> None:
        log.info("worker %s started", self.name)
        self.start_webhooks(stop)
        heart = Heart(self.name)
        while not stop.is_set():
            close_old_connections()
            try:
                # Before the tick: a tick that fails every time still shows the worker alive
                # (its errors are in the log), and a hung one stops the beats.
                started = time.monotonic()
                heart.beat(self.clock.now())
                report = self.tick()
            except Exception:
                log.exception("worker tick failed; retrying", extra=took(started))
                report = TickReport()
            # A full batch means more may be due right now.
            if report.claimed < self.batch_size:
                stop.wait(idle_seconds)
        try:
            heart.stop(self.clock.now())
        except Exception:  # the database may be what stopped us
            log.warning("could not record the worker's stop", exc_info=True)
        # The loop's own connection: left open, a worker run in a thread (the embedded one,
        # tests) would hold a database session until the process ends.
        connection.close()
        log.info("worker %s stopped", self.name)
