"""Housekeeping once a day, from the worker's tick.

The one :class:`~sequencer.housekeeping.models.HousekeepingRun` row is leased like every
other row (:mod:`sequencer.leasing`): of several workers, the one that takes it does the
run; the others read one row and go on. Each tick works for a bounded time; a backlog
larger than that (the first run on an old database) is finished over the next ticks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.db.models import QuerySet

from sequencer import leasing
from sequencer.domain.retention import Retention, is_finished, is_run_due
from sequencer.housekeeping.models import HousekeepingRun
from sequencer.housekeeping.retention_settings import configured
from sequencer.housekeeping.sweep import BATCH, SweepReport, sweep

log = logging.getLogger(__name__)

DAILY_RUN = "daily"
LEASE = timedelta(minutes=10)
# A tick spends about this long at most on housekeeping (plus a batch of each kind).
TICK_BUDGET_SECONDS = 5.0


def _row() -> HousekeepingRun:
    try:
        return HousekeepingRun.objects.get_or_create(name=DAILY_RUN)[0]
    except IntegrityError:  # another worker made it meanwhile
        return HousekeepingRun.objects.get(name=DAILY_RUN)


def run_if_due(
    now: datetime,
    *,
    owner: str,
    retention: Retention | None = None,
    batch: int = BATCH,
    budget_seconds: float = TICK_BUDGET_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> SweepReport | None:
    """Do (part of) the day's housekeeping if it is due and no other worker is at it;
    what was removed, or None when nothing was done. Never raises: housekeeping must
    not stop sending."""
    try:
        row = _row()
        if not is_run_due(row.started_at, row.finished_at, now):
            return None
        rows = HousekeepingRun.objects.filter(pk=row.pk)
        if leasing.take(rows, owner, now, LEASE) != 1:
            return None
        try:
            return _work(rows, now, retention, batch, budget_seconds, monotonic)
        finally:
            leasing.release(rows, owner)
    except Exception:
        log.exception("housekeeping failed")
        return None


def _work(
    rows: QuerySet[HousekeepingRun],
    now: datetime,
    retention: Retention | None,
    batch: int,
    budget_seconds: float,
    monotonic: Callable[[], float],
) -> SweepReport | None:
    row = rows.get()  # as it is now that the lease is ours
    if not is_run_due(row.started_at, row.finished_at, now):
        return None  # another worker finished it between our read and our lease
    retention = retention or configured()  # a wrong setting fails before a run starts
    if is_finished(row.started_at, row.finished_at):
        rows.update(started_at=now)
    marks = {str(k): int(v) for k, v in (row.marks or {}).items()}
    report = sweep(
        now,
        retention,
        batch=batch,
        budget_seconds=budget_seconds,
        monotonic=monotonic,
        marks=marks,
    )
    if report.complete:
        rows.update(finished_at=now, last_report=report.removed, marks=marks)
    else:
        rows.update(marks=marks)
    log.info("housekeeping removed %s (complete: %s)", report.removed, report.complete)
    return report
