"""The daily housekeeping run's one row: when it last started and finished, and who is
running it now (``lease_owner``/``lease_until``, taken like every other lease with
:mod:`sequencer.leasing`, so that of several workers one runs it)."""

from __future__ import annotations

from django.db import models


class HousekeepingRun(models.Model):
    name = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Set once a started run has worked through everything due; a large backlog takes
    # several ticks, each bounded in time.
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the last finished run removed, per kind (for support).
    last_report = models.JSONField(default=dict, blank=True)
    # Per kind, the last id thinned: where the next run goes on from (see sweep.Kind).
    marks = models.JSONField(default=dict, blank=True)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (started {self.started_at}, finished {self.finished_at})"
