"""The worker loop: settle lost emails, claim due ones, send them, repeat."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections

from sequencer.clock import Clock, system_clock
from sequencer.engine.claim import claim_due
from sequencer.engine.dispatch import record_sent, send_one
from sequencer.engine.reconcile import expire_leases, settle_unknown
from sequencer.mail.mailboxes import provider_for as default_provider_for
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.base import MailProvider

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    claimed: int = 0
    handed_over: int = 0
    released: int = 0
    lost: int = 0
    settled: int = 0


class Worker:
    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        provider_for: Callable[[Mailbox], MailProvider] = default_provider_for,
        name: str | None = None,
    ) -> None:
        self.clock = clock
        self.batch_size = batch_size
        self.lease = lease
        self.provider_for = provider_for
        # Unique per process and start, so a restarted worker never mistakes an old
        # lease for its own.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def tick(self) -> TickReport:
        report = TickReport()
        now = self.clock.now()
        report.released, report.lost = expire_leases(now)
        report.settled = settle_unknown(
            now, self.provider_for, lambda email, at: record_sent(email, at)
        )
        ids = claim_due(now, limit=self.batch_size, lease=self.lease, owner=self.name)
        report.claimed = len(ids)
        for email_id in ids:
            if send_one(
                email_id,
                owner=self.name,
                clock=self.clock,
                lease=self.lease,
                provider_for=self.provider_for,
            ):
                report.handed_over += 1
        return report

    def run(self, stop: threading.Event, *, idle_seconds: float = 2.0) -> None:
        log.info("worker %s started", self.name)
        while not stop.is_set():
            close_old_connections()
            try:
                report = self.tick()
            except Exception:
                log.exception("worker tick failed; retrying")
                report = TickReport()
            # A full batch means more may be due right now.
            if report.claimed < self.batch_size:
                stop.wait(idle_seconds)
        log.info("worker %s stopped", self.name)
