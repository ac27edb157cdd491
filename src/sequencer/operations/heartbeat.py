"""Worker heartbeats: each worker says it is alive at most every ``BEAT_EVERY``, and a
worker counts as alive while its last beat is younger than ``FRESH_FOR``.

``FRESH_FOR`` is several beats long so that one slow tick (a batch of sends, a slow
mailbox) does not make a healthy worker look dead to the readiness check.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sequencer.operations.models import WorkerHeartbeat

BEAT_EVERY = timedelta(seconds=10)
FRESH_FOR = timedelta(seconds=90)
# Rows of workers gone this long are deleted by the next beat of any worker.
FORGET_AFTER = timedelta(days=7)


class Heart:
    """One worker's heartbeat; :meth:`beat` is cheap to call on every loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._last: datetime | None = None

    def beat(self, now: datetime) -> None:
        if self._last is not None and now - self._last < BEAT_EVERY:
            return
        if self._last is None:
            WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
        WorkerHeartbeat.objects.update_or_create(
            name=self.name,
            defaults={"beat_at": now, "stopped_at": None},
            create_defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": now,
                "beat_at": now,
            },
        )
        self._last = now

    def stop(self, now: datetime) -> None:
        WorkerHeartbeat.objects.filter(name=self.name).update(stopped_at=now)
        self._last = None


def alive(now: datetime) -> list[WorkerHeartbeat]:
    """Workers that have beaten within ``FRESH_FOR`` and not said they stopped."""
    return list(
        WorkerHeartbeat.objects.filter(
            beat_at__gt=now - FRESH_FOR, stopped_at__isnull=True
        ).order_by("name")
    )


def last_beat(now: datetime) -> datetime | None:
    """When any worker last beat (None if none ever has)."""
    return WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
