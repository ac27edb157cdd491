"""Thinning what only grows, kind by kind, in bounded batches.

Each batch is its own short transaction (``batch`` rows at most), so that the worker's
tick stays short and no long lock is held; the daily run also stops after a time budget
and carries on at the next tick. What the Recipients tab shows stays as it was:

* raw inbound messages: the bytes are dropped, the row stays (it is what makes reading
  a message twice harmless) with its sender, subject and kind, and the timeline keeps
  the reply text, bounce reason or return date its event recorded;
* unused attachments: files no step, published version or template uses, once the
  grace for a draft being edited has passed;
* calendar events already seen: the first-seen record of an event UID, once the event
  cannot be listed by a poll any more (:mod:`sequencer.domain.retention`);
* finished deliveries: the emails of finished enrollments that the timeline never shows
  (cancelled before any attempt). The emails it shows are kept whole: each column
  it reads is small, and the body was never stored (it is rendered from the version).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import takewhile
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Length

from sequencer.calendars.models import SeenEvent
from sequencer.calendars.sync import LOOKAHEAD, LOOKBACK
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.retention import Cutoffs, Retention, cutoffs
from sequencer.mail.inbound_store import RETRY_UNFINISHED
from sequencer.mail.models import InboundMessage
from sequencer.sequences.models import (
    Attachment,
    EmailTemplate,
    ScheduledEmail,
    SequenceVersion,
    Step,
)

__all__ = ["BATCH", "KINDS", "RAW_REMOVED", "Kind", "SweepReport", "cutoffs_at", "sweep"]

BATCH = 500
# What asking for a raw message whose bytes were dropped answers.
RAW_REMOVED = (
    "The original message is no longer kept: raw messages are removed after the days "
    "set by SEQUENCER_KEEP_RAW_INBOUND_DAYS. Its text is still on the timeline."
)
FINISHED = (EnrollmentStatus.COMPLETED, EnrollmentStatus.EXITED, EnrollmentStatus.FAILED)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what a person reads in the command's output
    cutoff: Callable[[Cutoffs], datetime | None]
    due: Callable[[datetime], QuerySet[Any]]  # the rows to thin, given the cut-off
    thin: Callable[[QuerySet[Any]], int]  # thins one batch of them; how many
    # For a kind whose rows get the time they are written (``arrival``) in id order:
    # the daily run walks on from the last id it thinned, so that a batch reads the
    # next ``batch`` rows by their primary key rather than every row thinned before.
    # (A row written by a worker whose clock lags may then wait until a manual run.)
    rows: Callable[[], QuerySet[Any]] | None = None
    arrival: str = ""


def _raw_inbound(cutoff: datetime) -> QuerySet[InboundMessage]:
    # Length() reads a stored value's size without its bytes on PostgreSQL.
    return (
        InboundMessage.objects.filter(created_at__lt=cutoff)
        .alias(raw_size=Length("raw"))
        .filter(raw_size__gt=0)
    )


def _drop_raw(rows: QuerySet[InboundMessage]) -> int:
    return rows.update(raw=b"")


def _unused_attachments(cutoff: datetime) -> QuerySet[Attachment]:
    def used_by(through: Any) -> Exists:
        return Exists(through.objects.filter(attachment_id=OuterRef("pk")))

    return Attachment.objects.filter(created_at__lt=cutoff).filter(
        ~used_by(Step.attachments.through),
        ~used_by(SequenceVersion.attachments.through),
        ~used_by(EmailTemplate.attachments.through),
    )


def _seen_events(cutoff: datetime) -> QuerySet[SeenEvent]:
    return SeenEvent.objects.filter(first_seen_at__lt=cutoff)


def _unshown_emails(cutoff: datetime) -> QuerySet[ScheduledEmail]:
    return ScheduledEmail.objects.filter(
        state=EmailState.CANCELLED,
        attempted_at__isnull=True,  # pacing counts attempts: an attempted one stays
        enrollment__status__in=FINISHED,
        enrollment__finished_at__lt=cutoff,
    )


def _delete(rows: QuerySet[Any]) -> int:
    _, per_model = rows.delete()
    return per_model.get(rows.model._meta.label, 0)


KINDS: tuple[Kind, ...] = (
    Kind(
        "inbound_raw",
        "raw inbound messages (their timeline entries stay)",
        lambda c: c.inbound_raw,
        _raw_inbound,
        _drop_raw,
        rows=InboundMessage.objects.all,
        arrival="created_at",
    ),
    Kind(
        "unused_attachments",
        "attachments no step, version or template uses",
        lambda c: c.unused_attachments,
        _unused_attachments,
        _delete,
    ),
    Kind(
        "seen_calendar_events",
        "calendar events already seen",
        lambda c: c.seen_calendar_events,
        _seen_events,
        _delete,
        rows=SeenEvent.objects.all,
        arrival="first_seen_at",
    ),
    Kind(
        "finished_deliveries",
        "cancelled emails of finished enrollments (not on any timeline)",
        lambda c: c.finished_deliveries,
        _unshown_emails,
        _delete,
    ),
)


def _next_in_arrival_order(
    kind: Kind, rows: QuerySet[Any], cutoff: datetime, marks: dict[str, int], batch: int
) -> tuple[list[int], bool]:
    """The ids of the next ``batch`` rows after the mark that are older than the cut-off
    (up to the first newer one), moving the mark past them; and whether more may follow."""
    after = marks.get(kind.name, 0)
    following = rows.filter(pk__gt=after).order_by("pk").values_list("pk", kind.arrival)
    old = [pk for pk, at in takewhile(lambda r: r[1] < cutoff, following[:batch])]
    if old:
        marks[kind.name] = old[-1]
    return old, len(old) == batch


def cutoffs_at(now: datetime, retention: Retention) -> Cutoffs:
    return cutoffs(
        now,
        retention,
        inbound_retry=RETRY_UNFINISHED,
        # An event is listed while it starts within the window around "now": one first
        # seen at t starts before t + LOOKAHEAD, so no poll lists it after that + LOOKBACK.
        calendar_listed_for=LOOKBACK + LOOKAHEAD,
    )


@dataclass
class SweepReport:
    removed: dict[str, int] = field(default_factory=dict)  # per kind name
    complete: bool = True  # False: stopped by the time budget, more is due


def sweep(
    now: datetime,
    retention: Retention,
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    budget_seconds: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    marks: dict[str, int] | None = None,
) -> SweepReport:
    """Thin every kind past its cut-off at ``now``; ``dry_run`` only counts. With
    ``budget_seconds``, a kind stops taking batches after that long (each kind makes
    at least one, so every run gets somewhere), and ``complete`` says whether
    everything due was done. ``marks`` (kind -> last id thinned) is where kinds with an
    arrival order go on from, and is moved on as they are thinned."""
    if batch < 1:
        raise ValueError("a batch holds at least one row")
    began = monotonic()
    report = SweepReport()
    limits = cutoffs_at(now, retention)
    for kind in KINDS:
        cutoff = kind.cutoff(limits)
        report.removed[kind.name] = 0
        if cutoff is None:
            continue
        if dry_run:
            report.removed[kind.name] = kind.due(cutoff).count()
            continue
        while True:
            if marks is not None and kind.rows is not None:
                ids, more = _next_in_arrival_order(kind, kind.rows(), cutoff, marks, batch)
            else:
                ids = list(kind.due(cutoff).order_by("pk").values_list("pk", flat=True)[:batch])
                more = len(ids) == batch
            if ids:
                # The conditions are checked again by the write itself: a row used
                # meanwhile (an attachment saved into a step) is left alone.
                report.removed[kind.name] += kind.thin(kind.due(cutoff).filter(pk__in=ids))
            if not more:
                break
            if budget_seconds is not None and monotonic() - began > budget_seconds:
                report.complete = False
                return report
    return report
