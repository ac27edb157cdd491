"""The recent figures of the workspace's model, from the attempts recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sequencer.ai.figures import Figures, recent_figures
from sequencer.ai.models import AiGeneration

pytestmark = pytest.mark.django_db


def attempt(at, outcome, seconds, tokens=(0, 0)):
    AiGeneration.objects.create(
        provider="deriving",
        model="deriving-1",
        seconds=seconds,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        outcome=outcome,
        reason="" if outcome == "ok" else "why",
        created_at=at,
    )


def test_the_last_week_of_calls_is_counted_by_outcome_with_latency_and_tokens(clock):
    now = clock.now()
    attempt(now - timedelta(days=8), "ok", 9.0, (100, 100))  # too old to count
    attempt(now - timedelta(days=1), "ok", 1.0, (40, 10))
    attempt(now - timedelta(hours=1), "rejected", 3.0, (40, 12))
    attempt(now, "failed", 30.0)

    assert recent_figures(clock) == Figures(
        calls=3,
        used=1,
        rejected=1,
        failed=1,
        average_seconds=2.0,  # a call with no answer has no latency worth averaging
        prompt_tokens=80,
        completion_tokens=22,
    )


def test_no_calls_give_zeros_and_no_latency(clock):
    assert recent_figures(clock) == Figures(0, 0, 0, 0, None, 0, 0)
