"""Prometheus metrics: the database's figures, read at scrape time, and this process's
own timings.

Two kinds, on purpose:

* The figures of :mod:`.figures` (emails by state, send lag, mailboxes, inbound mail,
  sync lag, workers, AI calls) come from the database every process shares, so every
  process answers the same numbers and any one of them may be scraped. They are read by
  :class:`DatabaseCollector` when Prometheus asks, never kept in memory.
* Tick and claim durations and send failures by class are measured where they happen,
  in the worker, so they are **per process**: scrape each worker (its own address, see
  :func:`serve_on_configured_address`) to see them all.

Everything is in one registry, :data:`REGISTRY`, served at ``/metrics`` (behind
``SEQUENCER_METRICS_TOKEN``) and on ``SEQUENCER_METRICS_ADDRESS`` by prometheus_client's
own server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connections
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from sequencer.clock import Clock
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.operations import figures as db_figures

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
# The process's memory, CPU time and open files (on Linux), as every exporter has them.
ProcessCollector(registry=REGISTRY)

TICK_SECONDS = Histogram(
    "sequencer_tick_seconds",
    "How long one round of the worker took (read mail, run workflows, claim and send), "
    "in this process.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
CLAIM_SECONDS = Histogram(
    "sequencer_claim_seconds",
    "How long one round spent claiming due emails and re-checking them before sending, "
    "in this process.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    "sequencer_send_failures",
    "Attempts to hand an email to a mail provider that failed, by what the engine does "
    "next (transient: retried; recipient: bounced; mailbox: mailbox paused; message: "
    "this email failed; unknown: outcome looked for in the sent mail), in this process.",
    ["failure_class"],
    registry=REGISTRY,
)
FAILURE_CLASSES: tuple[tuple[type[Exception], str], ...] = (
    (TransientFailure, "transient"),
    (RecipientRejected, "recipient"),
    (MailboxFailure, "mailbox"),
    (MessageRejected, "message"),
    (OutcomeUnknown, "unknown"),
)
for _label in (*(name for _, name in FAILURE_CLASSES), "unexpected"):
    SEND_FAILURES.labels(_label)  # every class shows, at 0, before its first failure


def observe_tick(seconds: float, claim_seconds: float) -> None:
    TICK_SECONDS.observe(seconds)
    CLAIM_SECONDS.observe(claim_seconds)


@contextmanager
def counted_failures() -> Iterator[None]:
    """Count a provider's failure by its class, and let it go on to be handled."""
    try:
        yield
    except Exception as exc:
        label = next((name for kind, name in FAILURE_CLASSES if isinstance(exc, kind)), None)
        SEND_FAILURES.labels(label or "unexpected").inc()
        raise


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(
    name: str, documentation: str, label: str, values: dict[str, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _histogram(
    name: str, documentation: str, histogram: db_figures.Histogram
) -> HistogramMetricFamily:
    # Bounds written as prometheus_client writes its own ("300.0"), so that queries on
    # ``le`` match whichever process answered.
    buckets = [(floatToGoString(bound), float(count)) for bound, count in histogram.buckets]
    buckets.append(("+Inf", float(histogram.count)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=histogram.total)


def families(found: db_figures.Figures) -> Iterator[Metric]:
    """The database's figures as Prometheus metric families."""
    yield _labelled(
        "sequencer_emails",
        "Emails of every enrollment, by state (scheduled, claimed, sending, sent, failed, "
        "bounced, cancelled, unknown).",
        "state",
        found.emails_by_state,
    )
    yield _gauge(
        "sequencer_emails_due",
        "Scheduled emails whose send time has come and that no worker has claimed yet.",
        found.due,
    )
    yield _gauge(
        "sequencer_send_lag_seconds",
        "How late the most overdue email is: now minus the oldest due time of an email "
        "still waiting (0 when none waits).",
        found.oldest_due_seconds,
    )
    yield _histogram(
        "sequencer_due_lateness_seconds",
        "How late the emails waiting to be sent are, by how long past their due time.",
        found.lateness,
    )
    yield _gauge(
        "sequencer_emails_retrying",
        "Scheduled emails that are waiting to be tried again after a failed attempt.",
        found.retrying,
    )
    yield _labelled(
        "sequencer_mailboxes",
        "Mailboxes by status: active, paused (by the engine, after a quota or "
        "complaint problem) or disconnected (until a person fixes them).",
        "status",
        found.mailboxes_by_status,
    )
    yield _labelled(
        "sequencer_inbound_messages",
        "Messages read from the connected mailboxes, by what they are (reply, bounce, "
        "auto_reply, complaint, meeting, ...).",
        "kind",
        found.inbound_by_kind,
    )
    lag = GaugeMetricFamily(
        "sequencer_sync_lag_seconds",
        "Per mail provider, how long ago the mailbox folder read least recently was last "
        "read completely.",
        labels=["provider"],
    )
    never = GaugeMetricFamily(
        "sequencer_sync_never_completed",
        "Per mail provider, mailbox folders that have never been read completely.",
        labels=["provider"],
    )
    for sync in found.sync:
        seconds = found.sync_lag_seconds(sync)
        if seconds is not None:
            lag.add_metric([sync.provider], seconds)
        never.add_metric([sync.provider], sync.never_synced)
    yield lag
    yield never
    yield _gauge(
        "sequencer_workers_alive",
        "Worker processes that have said they are alive within the last 90 seconds.",
        found.workers_alive,
    )
    yield _labelled(
        "sequencer_ai_generations",
        "Calls to the AI model, by outcome (ok: used; rejected: the answer did not fit; "
        "failed: no answer).",
        "outcome",
        found.ai_by_outcome,
    )
    yield _histogram(
        "sequencer_ai_generation_seconds",
        "How long the AI model took to answer, over the calls that got an answer.",
        found.ai_seconds,
    )


class DatabaseCollector(Collector):
    """Reads :mod:`.figures` at each scrape. ``close_connection`` closes this thread's
    database connection afterwards: prometheus_client's server answers each scrape in a
    new thread, whose connection Django would otherwise never close."""

    def __init__(self, clock: Clock, *, close_connection: bool = False) -> None:
        self.clock = clock
        self.close_connection = close_connection

    def describe(self) -> Iterable[Metric]:
        return []  # read only when scraped: describing must not query the database

    def collect(self) -> Iterable[Metric]:
        try:
            found = db_figures.read_figures(self.clock.now())
        except Exception:  # a scrape must still answer the process's own metrics
            log.exception("could not read the metrics from the database")
            yield _gauge(
                "sequencer_database_up",
                "1 when the figures could be read from the database, else 0.",
                0,
            )
            return
        finally:
            if self.close_connection:
                connections.close_all()
        yield _gauge(
            "sequencer_database_up",
            "1 when the figures could be read from the database, else 0.",
            1,
        )
        yield from families(found)


class _Scraped(Collector):
    """The database's figures, for whichever thread asks (see :func:`scrape_registry`)."""

    def __init__(self, clock: Clock, close_connection: bool) -> None:
        self.database = DatabaseCollector(clock, close_connection=close_connection)

    def collect(self) -> Iterable[Metric]:
        yield from self.database.collect()
        yield from REGISTRY.collect()


def scrape_registry(clock: Clock, *, close_connection: bool = False) -> CollectorRegistry:
    """A registry with this process's metrics and the database's figures at ``clock``'s
    now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scraped(clock, close_connection))
    return registry


ADDRESS_VARIABLE = "SEQUENCER_METRICS_ADDRESS"


def parse_address(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) to what the server binds."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(
            f"{ADDRESS_VARIABLE} must be host:port, such as 127.0.0.1:9464; got {value!r}"
        )
    return host.strip("[]"), int(port)


def serve_on_configured_address(clock: Clock) -> tuple[str, int] | None:
    """Start prometheus_client's HTTP server on ``SEQUENCER_METRICS_ADDRESS`` (no token:
    the admin chose who can reach it), in a daemon thread; the address it listens on, or
    None when none is configured or it cannot bind (logged: metrics must never stop a
    worker from sending)."""
    from prometheus_client import start_http_server

    value = os.environ.get(ADDRESS_VARIABLE, "").strip()
    if not value:
        return None
    try:
        host, port = parse_address(value)
        server, _ = start_http_server(
            port, addr=host, registry=scrape_registry(clock, close_connection=True)
        )
    except (OSError, ValueError) as exc:
        log.error("metrics are not served on %s: %s", value, exc)
        return None
    bound_host, bound_port = server.server_address[:2]
    log.info("metrics served on %s, port %s", bound_host, bound_port)
    return str(bound_host), int(bound_port)
