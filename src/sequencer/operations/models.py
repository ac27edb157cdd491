"""One row per running worker process, written as it goes round its loop: the readiness
check, the doctor and the metrics read it to tell whether anything is sending."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    # The worker's name (host:pid:random), unique per process and start.
    name = models.CharField(max_length=128, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    # Set when the worker stops cleanly; a worker that was killed just stops beating.
    stopped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (last beat {self.beat_at})"
