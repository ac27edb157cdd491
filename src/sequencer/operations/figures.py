"""The figures an admin watches to know the installation is sending: read from the
database, which every web and worker process shares, so any process can tell them.

Each figure is one aggregate query (counts grouped by state, kind or provider; minimums;
conditional counts for histogram buckets), so reading them all costs the same number of
queries however many emails, messages or calls there are (a test counts them). The
counts cover every row the tables hold; housekeeping may remove old rows, so they are
gauges, not counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncHour

from sequencer.ai.models import AiGeneration
from sequencer.domain.lifecycle import EmailState
from sequencer.mail.models import InboundMessage, Mailbox, MailboxStatus, SyncCursor
from sequencer.mail.sync.runner import syncable_mailboxes
from sequencer.operations.heartbeat import alive
from sequencer.sequences.models import ScheduledEmail

# How late a due email may be, in seconds, for each bucket of the lateness histogram.
LATENESS_BUCKETS: tuple[float, ...] = (60, 300, 900, 3600, 4 * 3600, 24 * 3600)
# How long a call to a model may take, in seconds, for each bucket of its histogram.
AI_SECONDS_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 30, 60)
# How far back the hourly series go.
SERIES_HOURS = 48


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts at or below each bound (Prometheus' ``le``), their sum, their
    count."""

    buckets: tuple[tuple[float, int], ...]
    total: float
    count: int


@dataclass(frozen=True)
class Hour:
    start: datetime
    sent: int
    # The latest any email sent in this hour went out after its due time, in seconds.
    worst_lag_seconds: float


@dataclass(frozen=True)
class ProviderSync:
    provider: str
    folders: int
    never_synced: int
    oldest_sync: datetime | None


@dataclass(frozen=True)
class Figures:
    now: datetime
    emails_by_state: dict[str, int]
    due: int
    oldest_due_at: datetime | None
    lateness: Histogram
    retrying: int  # scheduled again after a failed attempt
    mailboxes_by_status: dict[str, int]
    inbound_by_kind: dict[str, int]
    sync: tuple[ProviderSync, ...]
    workers_alive: int
    ai_by_outcome: dict[str, int]
    ai_seconds: Histogram

    @property
    def oldest_due_seconds(self) -> float:
        """How late the most overdue email is (0 when none is due)."""
        if self.oldest_due_at is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_due_at).total_seconds())

    @property
    def sent(self) -> int:
        return self.emails_by_state.get(EmailState.SENT, 0)

    def sync_lag_seconds(self, sync: ProviderSync) -> float | None:
        if sync.oldest_sync is None:
            return None
        return max(0.0, (self.now - sync.oldest_sync).total_seconds())


def _count_by(rows: QuerySet[Any], field: str) -> dict[str, int]:
    """How many rows have each value of ``field``: one GROUP BY query."""
    grouped = rows.values_list(field).annotate(n=Count("id")).order_by()
    return {str(value): int(n) for value, n in grouped}


def _due(now: datetime) -> tuple[int, datetime | None, Histogram]:
    """Due scheduled emails (through the partial index of the claim query): how many,
    the oldest due time, and how late they are, bucketed."""
    late_by = {
        f"b{i}": Count("id", filter=Q(due_at__gte=now - timedelta(seconds=bound)))
        for i, bound in enumerate(LATENESS_BUCKETS)
    }
    lateness = ExpressionWrapper(Value(now) - F("due_at"), output_field=DurationField())
    found = ScheduledEmail.objects.filter(state=EmailState.SCHEDULED, due_at__lte=now).aggregate(
        n=Count("id"), oldest=Min("due_at"), total=Sum(lateness), **late_by
    )
    count: int = found["n"]
    oldest: datetime | None = found["oldest"]
    total: timedelta | None = found["total"]
    buckets = tuple((bound, int(found[f"b{i}"])) for i, bound in enumerate(LATENESS_BUCKETS))
    seconds = total.total_seconds() if total else 0.0
    return count, oldest, Histogram(buckets=buckets, total=seconds, count=count)


def sent_per_hour(now: datetime) -> tuple[Hour, ...]:
    """Emails sent per hour over the last :data:`SERIES_HOURS`, each hour's worst lag;
    hours with nothing sent are there, with zeros. One query, for Settings → Status only:
    no index has ``sent_at`` first, so it reads every sent email (Prometheus works out
    rates from ``sequencer_emails{state="sent"}`` instead)."""
    first = (now - timedelta(hours=SERIES_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    lag = ExpressionWrapper(F("sent_at") - F("due_at"), output_field=DurationField())
    rows = (
        ScheduledEmail.objects.filter(state=EmailState.SENT, sent_at__gte=first)
        .annotate(hour=TruncHour("sent_at"))
        .values("hour")
        .annotate(n=Count("id"), worst=Max(lag))
    )
    found = {row["hour"]: row for row in rows}
    hours = []
    for n in range(SERIES_HOURS):
        start = first + timedelta(hours=n)
        row = found.get(start)
        worst: timedelta | None = row["worst"] if row else None
        hours.append(
            Hour(
                start=start,
                sent=row["n"] if row else 0,
                worst_lag_seconds=max(0.0, worst.total_seconds()) if worst else 0.0,
            )
        )
    return tuple(hours)


def _sync() -> tuple[ProviderSync, ...]:
    rows = (
        SyncCursor.objects.filter(mailbox__in=syncable_mailboxes())
        .values("mailbox__provider")
        .annotate(
            folders=Count("id"),
            never=Count("id", filter=Q(synced_at__isnull=True)),
            oldest=Min("synced_at"),
        )
        .order_by("mailbox__provider")
    )
    return tuple(
        ProviderSync(
            provider=row["mailbox__provider"],
            folders=row["folders"],
            never_synced=row["never"],
            oldest_sync=row["oldest"],
        )
        for row in rows
    )


def _ai() -> tuple[dict[str, int], Histogram]:
    """Calls to a model by outcome, and how long the answered ones took."""
    by_outcome = _count_by(AiGeneration.objects.all(), "outcome")
    timed = Q(seconds__isnull=False)
    found = AiGeneration.objects.filter(timed).aggregate(
        n=Count("id"),
        total=Sum("seconds"),
        **{
            f"b{i}": Count("id", filter=Q(seconds__lte=bound))
            for i, bound in enumerate(AI_SECONDS_BUCKETS)
        },
    )
    buckets = tuple((bound, int(found[f"b{i}"])) for i, bound in enumerate(AI_SECONDS_BUCKETS))
    return by_outcome, Histogram(buckets=buckets, total=found["total"] or 0.0, count=found["n"])


def read_figures(now: datetime) -> Figures:
    """Every figure a scrape serves, in a fixed number of queries."""
    due, oldest, lateness = _due(now)
    ai_by_outcome, ai_seconds = _ai()
    # One pass over the emails for both: how many in each state, and how many of the
    # scheduled ones have been tried before.
    grouped = (
        ScheduledEmail.objects.values_list("state")
        .annotate(n=Count("id"), tried=Count("id", filter=Q(attempts__gt=0)))
        .order_by()
    )
    states = {str(state): (n, tried) for state, n, tried in grouped}
    return Figures(
        now=now,
        emails_by_state={str(state): states.get(str(state), (0, 0))[0] for state in EmailState},
        due=due,
        oldest_due_at=oldest,
        lateness=lateness,
        retrying=states.get(EmailState.SCHEDULED, (0, 0))[1],
        mailboxes_by_status=dict.fromkeys(map(str, MailboxStatus), 0)
        | _count_by(Mailbox.objects.all(), "status"),
        inbound_by_kind=_count_by(InboundMessage.objects.all(), "kind"),
        sync=_sync(),
        workers_alive=len(alive(now)),
        ai_by_outcome=ai_by_outcome,
        ai_seconds=ai_seconds,
    )
