"""How the workspace's model has done lately: the figures the Settings page shows.

Read from the attempts recorded by ``ai.variables`` (one :class:`AiGeneration` per call
to a model), through their ``created_at`` index, so the cost depends on how many calls
fell in the period, not on how many were ever made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Avg, Count, Q, Sum

from sequencer.ai.models import AiGeneration, Outcome
from sequencer.clock import Clock

RECENT = timedelta(days=7)


@dataclass(frozen=True)
class Figures:
    calls: int
    used: int  # answers that became an email's text
    rejected: int  # answers that could not be used (a retry followed)
    failed: int  # calls that got no answer
    average_seconds: float | None  # over calls that got an answer
    prompt_tokens: int
    completion_tokens: int


def recent_figures(clock: Clock, *, period: timedelta = RECENT) -> Figures:
    """The figures of the calls made in the last ``period``."""
    answered = Q(outcome__in=[Outcome.OK, Outcome.REJECTED])
    found = AiGeneration.objects.filter(created_at__gt=clock.now() - period).aggregate(
        calls=Count("id"),
        used=Count("id", filter=Q(outcome=Outcome.OK)),
        rejected=Count("id", filter=Q(outcome=Outcome.REJECTED)),
        failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        average_seconds=Avg("seconds", filter=answered),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    return Figures(
        calls=found["calls"],
        used=found["used"],
        rejected=found["rejected"],
        failed=found["failed"],
        average_seconds=found["average_seconds"],
        prompt_tokens=found["prompt_tokens"] or 0,
        completion_tokens=found["completion_tokens"] or 0,
    )
