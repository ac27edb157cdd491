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
from datetime import timedelta
from functools import partial

from django.conf import settings
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
from sequencer.engine.claim import claim_by_mailbox
from sequencer.engine.complaints import check_complaint_rate
from sequencer.engine.dispatch import record_sent, send_claimed
from sequencer.engine.phases import PhaseTimes
from sequencer.engine.reconcile import expire_leases, settle_unknown
from sequencer.engine.sending import MailboxLanes, send_in_this_thread, sends_in_this_thread
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


# Emails claimed per sending thread and tick: a mailbox's next emails are sent on its
# open connection, and a tick's fixed work (reading mail, workflows, settling) and a
# batch's re-check are shared by more sends. One busy mailbox sends 9 % more per second
# with 8 than with 4, and no more with 16 (bench/bench_sending.py, docs/benchmarks.md).
CLAIM_PER_THREAD = 8
SEND_BUDGET_SECONDS = 10.0


def _count(queues: dict[int, list[int]]) -> int:
    return sum(len(ids) for ids in queues.values())


@dataclass
class TickReport:
    claimed: int = 0
    # Counted when every thread of a tick's lanes has ended: sends a tick left going on
    # past its budget (engine/sending.py) are in the report of a later tick.
    handed_over: int = 0
    released: int = 0
    lost: int = 0
    settled: int = 0
    ai_written: int = 0  # emails whose AI text a model was asked for
    # The last claim found as many due as it asked for: more may be due right now.
    more_due: bool = False
    # Where the sending time went (for the benchmarks; see engine/phases.py).
    phases: PhaseTimes = field(default_factory=PhaseTimes)


class Worker:
    def __init__(
        self,
        *,
        clock: Clock,
        send_concurrency: int | None = None,
        batch_size: int | None = None,
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
        # How many mailboxes send at once (threads, each with a database connection).
        self.send_concurrency = max(1, send_concurrency or settings.SEQUENCER_SEND_CONCURRENCY)
        # Enough claimed work for every thread: a few emails per mailbox in flight.
        self.batch_size = batch_size or self.send_concurrency * CLAIM_PER_THREAD
        # A tick claims and waits for its sends this long at most before it reads mail
        # and runs workflows again: what it claimed and is still sending by then goes
        # on in the background (a hanging server holds its own mailbox, not the tick).
        self.send_budget_seconds = SEND_BUDGET_SECONDS
        # Earlier ticks' lanes still sending (engine/sending.py): their mailboxes are not
        # claimed from, and their threads count against the concurrency, until they end.
        self._in_flight: list[MailboxLanes] = []
        # Set by run(): once it is set, a tick claims no more (what it claimed is sent).
        self.stopping = threading.Event()
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
        self._send_due(generator, report)
        # Meetings booked in senders' calendars (bounded in time; never raises).
        sync_calendars(now, owner=self.name, clock=self.clock)
        # Retention, once a day by one worker (leased; bounded in time; never raises).
        run_housekeeping(now, owner=self.name)
        observe_tick(time.perf_counter() - started, report.phases.seconds["claim"])
        return report

    def _send_due(self, generator: TextGenerator | None, report: TickReport) -> None:
        """Claim due emails and send them, many mailboxes at once (engine/sending.py):
        each time a thread is about to be free, claim enough to refill the batch, until
        a claim finds fewer due than it asked for or the sending budget is spent. Sends
        still going on when the budget ends are left to finish in the background."""
        send = partial(
            send_claimed,
            owner=self.name,
            clock=self.clock,
            lease=self.lease,
            random=self.random,
            ai_generator=generator,
        )
        if sends_in_this_thread(self.send_concurrency):
            queues = self._claim(self.batch_size, report)
            report.more_due = _count(queues) == self.batch_size
            report.handed_over = send_in_this_thread(
                queues,
                make_provider=self.provider_for,
                send_claimed=send,
                phases=report.phases,
            )
            return
        self._report_ended(report)
        busy = self._busy()
        free = self.send_concurrency - sum(lanes.working() for lanes in self._in_flight)
        if free < 1:
            return  # every thread is held by a slow server: sending waits for one to end
        lanes = MailboxLanes(concurrency=free, make_provider=self.provider_for, send_claimed=send)
        budget_ends = time.monotonic() + self.send_budget_seconds
        try:
            while True:
                waiting = lanes.wait_for_room(backlog=self.batch_size // 2, until=budget_ends)
                if waiting is None:
                    break  # no thread came free within the budget
                limit = self.batch_size - waiting
                queues = self._claim(limit, report, exclude_mailboxes=busy)
                lanes.add(queues)
                report.more_due = _count(queues) == limit
                if not report.more_due or time.monotonic() > budget_ends or self.stopping.is_set():
                    break
        finally:
            try:
                lanes.finish(until=budget_ends)
            finally:
                # Still sending: its figures go in the report of the tick that finds it done.
                self._in_flight.append(lanes)
                self._report_ended(report)

    def _report_ended(self, report: TickReport) -> None:
        """Count the sends of the lanes whose threads have all ended in ``report`` (each
        lane's once, complete) and forget those lanes."""
        ended = [lanes for lanes in self._in_flight if not lanes.working()]
        for lanes in ended:
            report.handed_over += lanes.handed_over
            report.phases.add(lanes.phases)
        self._in_flight = [lanes for lanes in self._in_flight if lanes not in ended]

    @property
    def sending(self) -> bool:
        """Whether sends that earlier ticks left going on are not yet in a report."""
        return bool(self._in_flight)

    def wait_for_sending(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the sends earlier ticks left going on (as a tick
        waits for its own); whether they all ended (the next tick reports them). Past
        the lease, an email still sending is another worker's to settle, so waiting
        longer would not help."""
        until = time.monotonic() + seconds
        ended = all([lanes.join(until) for lanes in self._in_flight])
        if not ended:
            log.warning("%d mailboxes are still sending", len(self._busy()))
        return ended

    def _idle(self, stop: threading.Event, seconds: float) -> None:
        """Wait for the next tick: ``seconds``, or less when a sending thread that an
        earlier tick left going on comes free (its mailbox's next emails, and the others',
        need not wait a whole idle period)."""
        if not self._in_flight:
            stop.wait(seconds)
            return
        until = time.monotonic() + seconds
        working = sum(lanes.working() for lanes in self._in_flight)
        while time.monotonic() < until and not stop.wait(0.05):
            if sum(lanes.working() for lanes in self._in_flight) < working:
                return

    def _busy(self) -> frozenset[int]:
        return frozenset().union(*(lanes.busy() for lanes in self._in_flight))

    def _claim(
        self, limit: int, report: TickReport, exclude_mailboxes: frozenset[int] = frozenset()
    ) -> dict[int, list[int]]:
        """Claim up to ``limit`` due emails: their ids by mailbox, each in due order."""
        with report.phases.measure("claim"):
            queues = claim_by_mailbox(
                self.clock.now(),
                limit=limit,
                lease=self.lease,
                owner=self.name,
                per_mailbox=max(1, self.batch_size // self.send_concurrency),
                exclude_mailboxes=exclude_mailboxes,
            )
        report.claimed += _count(queues)
        return queues

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
        self.stopping = stop
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
            # A full claim means more may be due right now.
            if not report.more_due:
                self._idle(stop, idle_seconds)
        self.wait_for_sending(self.lease.total_seconds())
        try:
            heart.stop(self.clock.now())
        except Exception:  # the database may be what stopped us
            log.warning("could not record the worker's stop", exc_info=True)
        # The loop's own connection: left open, a worker run in a thread (the embedded one,
        # tests) would hold a database session until the process ends.
        connection.close()
        log.info("worker %s stopped", self.name)
