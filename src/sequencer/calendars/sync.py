"""Polling the connected calendars, called by the worker on every tick.

A connection is due when its ``next_sync_at`` has come (every :data:`SYNC_INTERVAL`,
later after failures). A worker takes it with a conditional UPDATE that succeeds only if
no other worker holds an unexpired lease on it, so two workers never read the same
calendar at once, on SQLite and PostgreSQL alike. A worker that dies mid-poll leaves a
lease that expires after :data:`LEASE`; the next worker then polls the calendar again
from the stored cursor (applying an event twice changes nothing).

A poll reads the events changed since the connection's cursor within :data:`LOOKBACK`
before and :data:`LOOKAHEAD` after now, applies the meeting rule
(:mod:`sequencer.calendars.meetings`) and stores the new cursor, all only while the
lease is still this worker's.

Failures: a problem a person must fix (wrong password, missing permission, calendar gone)
marks the connection ``disconnected`` with the reason, and it is not polled again until
a connection test succeeds; anything else marks it ``failing`` and retries with a
doubling delay (at most :data:`MAX_BACKOFF`, or the server's ``Retry-After``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import F, Q

from sequencer import leasing, netguard
from sequencer.calendars.meetings import apply_events
from sequencer.calendars.models import CalendarConnection, CalendarKind, CalendarStatus
from sequencer.calendars.providers.base import CalendarFailure, CalendarSource, Window
from sequencer.clock import Clock
from sequencer.domain.backoff import Backoff, no_jitter

log = logging.getLogger(__name__)

SYNC_INTERVAL = timedelta(minutes=5)
LEASE = timedelta(minutes=10)
LOOKBACK = timedelta(days=30)
LOOKAHEAD = timedelta(days=180)
MAX_BACKOFF = timedelta(hours=1)
BATCH = 10
# A tick stops taking calendars after this long, so that slow calendar servers never hold
# up sending for more than about one poll; the rest stay due for the next tick.
TICK_BUDGET_SECONDS = 20.0

SourceFactory = Callable[[CalendarConnection, Clock], CalendarSource]


def source_for(connection: CalendarConnection, clock: Clock) -> CalendarSource:
    """The reader of one connection's calendar."""
    if connection.kind == CalendarKind.CALDAV:
        from sequencer.calendars.providers.caldav import CalDavSource

        if reason := netguard.url_refusal(connection.url):
            raise CalendarFailure(reason, problem="permission")
        return CalDavSource(
            url=connection.url, username=connection.username, password=connection.password
        )
    from sequencer.mail.oauth import MailboxTokens

    mailbox = connection.mailbox
    if mailbox is None:
        raise CalendarFailure("The mailbox of this calendar was removed.", problem="not_found")
    tokens = MailboxTokens(mailbox, clock=clock)
    if connection.kind == CalendarKind.GOOGLE:
        from sequencer.calendars.providers.google import GoogleCalendarSource

        return GoogleCalendarSource(email=mailbox.email, tokens=tokens, clock=clock)
    from sequencer.calendars.providers.microsoft import GraphCalendarSource

    return GraphCalendarSource(email=mailbox.email, tokens=tokens, clock=clock)


def window_at(now: datetime) -> Window:
    return Window(now - LOOKBACK, now + LOOKAHEAD)


def _due(now: datetime) -> Q:
    return (Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now)) & ~Q(
        status=CalendarStatus.DISCONNECTED
    )


def claim(connection_id: int, *, owner: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take the lease on one due connection; False if another worker holds it (or it is
    not due any more)."""
    rows = CalendarConnection.objects.filter(pk=connection_id).filter(_due(now))
    return leasing.take(rows, owner, now, lease) == 1


def sync_calendars(
    now: datetime,
    *,
    owner: str,
    clock: Clock,
    limit: int = BATCH,
    lease: timedelta = LEASE,
    budget_seconds: float = TICK_BUDGET_SECONDS,
    sources: SourceFactory = source_for,
) -> int:
    """Poll up to ``limit`` due calendars as worker ``owner``, taking no new one after
    ``budget_seconds``; how many were polled."""
    began = time.monotonic()
    candidates = list(
        CalendarConnection.objects.filter(_due(now), leasing.free(now))
        .order_by(F("next_sync_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)[:limit]
    )
    polled = 0
    for connection_id in candidates:
        if polled and time.monotonic() - began > budget_seconds:
            break
        if not claim(connection_id, owner=owner, now=now, lease=lease):
            continue
        sync_one(connection_id, owner=owner, clock=clock, sources=sources)
        polled += 1
    return polled


def sync_one(
    connection_id: int,
    *,
    owner: str,
    clock: Clock,
    sources: SourceFactory = source_for,
) -> bool:
    """Poll one connection whose lease ``owner`` holds; True if it was read."""
    connection = (
        CalendarConnection.objects.select_related("owner", "mailbox")
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:  # removed by its owner since it was claimed
        return False
    started = clock.now()
    baseline = connection.last_synced_at is None
    try:
        source = sources(connection, clock)
        fetched = source.fetch(connection.sync_cursor or {}, window_at(started))
        applied = apply_events(connection, fetched.events, baseline=baseline, clock=clock)
    except CalendarFailure as exc:
        _failed(connection, owner, exc, clock.now())
        return False
    except Exception as exc:
        log.exception("calendar %s: the poll failed unexpectedly", connection_id)
        _failed(
            connection,
            owner,
            CalendarFailure(f"The poll failed unexpectedly: {exc}", problem="server"),
            clock.now(),
        )
        return False
    finished = clock.now()
    kept = CalendarConnection.objects.filter(pk=connection_id, lease_owner=owner).update(
        sync_cursor=fetched.cursor,
        last_synced_at=finished,
        next_sync_at=finished + SYNC_INTERVAL,
        failure_count=0,
        status=CalendarStatus.ACTIVE,
        status_reason="",
        lease_owner="",
        lease_until=None,
        updated_at=finished,
    )
    if not kept:
        log.warning("calendar %s: the lease expired during the poll", connection_id)
    log.info(
        "calendar %s polled: %s events, %s enrollments exited",
        connection_id,
        applied.events,
        applied.exited,
    )
    return True


RETRY = Backoff(first=SYNC_INTERVAL, cap=MAX_BACKOFF)


def backoff(failures: int) -> timedelta:
    """The wait after ``failures`` failed polls in a row: 5, 10, 20, 40 minutes, 1 hour."""
    return RETRY.delay(failures, random=no_jitter)


def _failed(
    connection: CalendarConnection, owner: str, failure: CalendarFailure, now: datetime
) -> None:
    failures = connection.failure_count + 1
    retry_after = failure.retry_after
    wait = RETRY.delay(
        failures,
        random=no_jitter,
        retry_after=timedelta(seconds=retry_after) if retry_after is not None else None,
    )
    status = CalendarStatus.DISCONNECTED if failure.needs_person else CalendarStatus.FAILING
    log.warning("calendar %s: %s", connection.pk, failure.message)
    CalendarConnection.objects.filter(pk=connection.pk, lease_owner=owner).update(
        status=status,
        status_reason=failure.message,
        failure_count=failures,
        next_sync_at=now + wait,
        lease_owner="",
        lease_until=None,
        updated_at=now,
    )
