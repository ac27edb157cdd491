"""Delivering what :func:`~sequencer.webhooks.events.publish` owes, in its own loop.

Each round (:func:`deliver_due`) takes the pending deliveries that are due, one lease
at a time (:mod:`sequencer.leasing`: two workers never make the same attempt), POSTs
the stored body signed with the endpoint's secrets (:mod:`sequencer.domain.webhook_signing`)
and records the attempt. A 2xx answer delivers it; any other answer, a redirect, a
timeout or a refused connection is a failure, tried again on
:data:`~sequencer.domain.webhook_retry.DEFAULT_SCHEDULE` until a day has passed, when
the delivery is marked failed (an admin may retry it by hand).

A receiver that is slow or down must never slow sending: the worker runs this in a
thread of its own (:func:`start_delivery_loop`, started by ``Worker.run``), never in
its tick. Timeouts are short and a round stops taking deliveries after
``budget_seconds``, so a round ends soon even when every receiver hangs.
"""

from __future__ import annotations

import logging
import random as random_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.db import close_old_connections, connection, transaction
from django.db.models import Q

from sequencer import leasing, netguard
from sequencer.clock import Clock
from sequencer.domain.backoff import Random
from sequencer.domain.webhook_events import TEST_EVENT
from sequencer.domain.webhook_retry import DEFAULT_SCHEDULE, RetrySchedule
from sequencer.domain.webhook_signing import signed_headers
from sequencer.webhooks.endpoints import current_secrets
from sequencer.webhooks.models import (
    ERROR_CHARS,
    EXCERPT_CHARS,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
)

log = logging.getLogger(__name__)

__all__ = [
    "BATCH",
    "KEEP",
    "LEASE",
    "deliver_due",
    "prune",
    "run_delivery_loop",
    "start_delivery_loop",
]

BATCH = 20
# Longer than any one attempt can take (connect + a few reads of the answer's start).
LEASE = timedelta(minutes=2)
CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
ROUND_BUDGET_SECONDS = 20.0
USER_AGENT = "Sequencer-Webhooks/1"
LOOP_SUFFIX = ":webhooks"
# How long finished deliveries and their log are kept, and how often old ones go.
KEEP = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class _Answer:
    status: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def due_ids(now: datetime, limit: int) -> list[int]:
    """Pending deliveries due at ``now`` that nobody holds, oldest due first. A disabled
    endpoint's deliveries wait (a test event goes anyway)."""
    rows = (
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(endpoint__enabled=True) | Q(kind=TEST_EVENT))
        .filter(leasing.free(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
    )
    return list(rows[:limit])


def _storable(text: str) -> str:
    # PostgreSQL text holds no NUL; a receiver may answer anything.
    return text.replace("\x00", "\ufffd")


def _excerpt(response: httpx.Response, give_up: Callable[[], bool]) -> str:
    """The start of the answer: at most 1 KB, and no more reading once ``give_up()``
    (a receiver trickling a byte at a time must not hold the attempt past its lease)."""
    kept = bytearray()
    for chunk in response.iter_bytes():
        kept.extend(chunk)
        if len(kept) >= EXCERPT_CHARS or give_up():
            break
    return _storable(bytes(kept[:EXCERPT_CHARS]).decode("utf-8", errors="replace"))


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"The receiver did not answer in time ({type(exc).__name__})."
    if isinstance(exc, httpx.ConnectError):
        return f"Could not connect to the receiver: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _post(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    body: bytes,
    monotonic: Callable[[], float],
    read_seconds: float,
) -> _Answer:
    began = monotonic()

    def took() -> int:
        return max(0, int((monotonic() - began) * 1000))

    def give_up() -> bool:
        return monotonic() - began > read_seconds

    if refusal := netguard.url_refusal(url):
        return _Answer(None, "", refusal, 0)
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            excerpt = _excerpt(response, give_up)
            return _Answer(response.status_code, excerpt, "", took())
    except httpx.HTTPError as exc:
        return _Answer(None, "", _storable(_describe(exc))[:ERROR_CHARS], took())
    except (ValueError, UnicodeError) as exc:  # a URL httpx cannot use after all
        return _Answer(None, "", _storable(f"The URL cannot be used: {exc}")[:ERROR_CHARS], took())


def _attempt(
    delivery_id: int,
    *,
    owner: str,
    clock: Clock,
    client: httpx.Client,
    schedule: RetrySchedule,
    random: Random,
    monotonic: Callable[[], float],
    read_seconds: float,
) -> bool:
    """One attempt at one delivery, if its lease can be taken; whether it was made."""
    now = clock.now()
    rows = WebhookDelivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
    )
    if not leasing.take(rows, owner, now, LEASE):
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted meanwhile
        return False
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(current_secrets(endpoint, now), delivery.event_id, now, body),
    }
    answer = _post(client, endpoint.url, headers, body, monotonic, read_seconds)
    finished = clock.now()
    number = delivery.attempts + 1
    error = answer.error
    if not answer.ok and not error:
        error = f"The receiver answered HTTP {answer.status}; only a 2xx answer counts."
    fields: dict[str, object] = {
        "attempts": number,
        "last_status": answer.status,
        "last_error": "" if answer.ok else error,
    }
    if answer.ok:
        fields.update(state=DeliveryState.DELIVERED, delivered_at=finished, next_attempt_at=None)
    else:
        failures = delivery.failures + 1
        retry_at = schedule.next_attempt(failures, finished, delivery.retries_from, random=random)
        fields.update(
            failures=failures,
            next_attempt_at=retry_at,
            state=DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED,
        )
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            endpoint_id=endpoint.pk,
            number=number,
            attempted_at=now,
            status_code=answer.status,
            response_excerpt=answer.excerpt,
            error=error,
            duration_ms=answer.duration_ms,
            succeeded=answer.ok,
        )
        leasing.release(WebhookDelivery.objects.filter(pk=delivery_id), owner, **fields)
    return True


def deliver_due(
    now: datetime,
    *,
    owner: str,
    clock: Clock,
    limit: int = BATCH,
    client: httpx.Client | None = None,
    schedule: RetrySchedule = DEFAULT_SCHEDULE,
    random: Random = random_module.random,
    budget_seconds: float = ROUND_BUDGET_SECONDS,
    read_seconds: float = READ_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """One round: attempt up to ``limit`` deliveries due at ``now``; how many attempts
    were made. No new attempt starts once ``budget_seconds`` have passed."""
    ids = due_ids(now, limit)
    if not ids:
        return 0
    own_client = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(read_seconds, connect=CONNECT_SECONDS),
        follow_redirects=False,
        # Deliveries go where the admin said, not through a proxy from the environment.
        trust_env=False,
    )
    began = monotonic()
    made = 0
    try:
        for delivery_id in ids:
            if made and monotonic() - began > budget_seconds:
                break
            if _attempt(
                delivery_id,
                owner=owner,
                clock=clock,
                client=http,
                schedule=schedule,
                random=random,
                monotonic=monotonic,
                read_seconds=read_seconds,
            ):
                made += 1
    finally:
        if own_client:
            http.close()
    return made


def prune(now: datetime, *, keep: timedelta = KEEP, limit: int = 1000) -> int:
    """Delete up to ``limit`` finished deliveries (with their attempts) whose event is
    older than ``keep``: the log shows recent history, and the table must not grow with
    every email ever sent. Pending ones stay whatever their age."""
    old = (
        WebhookDelivery.objects.filter(event_at__lt=now - keep)
        .exclude(state=DeliveryState.PENDING)
        .order_by("event_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(old)
    if not ids:
        return 0
    WebhookDelivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def run_delivery_loop(
    stop: threading.Event,
    *,
    owner: str,
    clock: Clock,
    idle_seconds: float = 2.0,
    read_seconds: float = READ_SECONDS,
) -> None:
    """Deliver rounds until ``stop`` is set, resting ``idle_seconds`` after a round that
    found less than a full batch. Uses (and finally closes) this thread's connection."""
    log.info("webhook delivery %s started", owner)
    pruned_at: float | None = None
    try:
        while not stop.is_set():
            close_old_connections()
            if pruned_at is None or time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                pruned_at = time.monotonic()
                try:
                    prune(clock.now())
                except Exception:
                    log.exception("pruning old webhook deliveries failed")
            try:
                made = deliver_due(clock.now(), owner=owner, clock=clock, read_seconds=read_seconds)
            except Exception:
                log.exception("a webhook delivery round failed; retrying")
                made = 0
            if made < BATCH:
                stop.wait(idle_seconds)
    finally:
        connection.close()
        log.info("webhook delivery %s stopped", owner)


def start_delivery_loop(
    stop: threading.Event, *, owner: str, clock: Clock, idle_seconds: float = 2.0
) -> threading.Thread:
    """Run :func:`run_delivery_loop` in a daemon thread; its leases are
    ``<owner>:webhooks``."""
    thread = threading.Thread(
        target=run_delivery_loop,
        args=(stop,),
        kwargs={"owner": f"{owner}{LOOP_SUFFIX}", "clock": clock, "idle_seconds": idle_seconds},
        name="webhook-delivery",
        daemon=True,
    )
    thread.start()
    return thread
