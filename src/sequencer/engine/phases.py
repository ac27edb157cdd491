"""Where a worker's sending time goes: claim, render, compose, hand-over, record.

A light instrument for the benchmarks (``bench/bench_sending.py``): each phase adds its
``time.perf_counter`` delta to a running total, so a tick costs a few clock reads per
email. The totals are reported, never asserted (no timing assertions in tests).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The phases of one send, in order: claiming and re-checking (locks, pacing, window),
# rendering the templates, building the MIME message, handing it to the provider, and
# recording the outcome.
PHASES = ("claim", "render", "compose", "handover", "record")


@dataclass
class PhaseTimes:
    """Seconds spent per phase, summed over every email a tick (or a run) looked at."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    def add(self, other: PhaseTimes) -> None:
        for phase, seconds in other.seconds.items():
            self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


@contextmanager
def measured(phases: PhaseTimes | None, phase: str) -> Iterator[None]:
    """``phases.measure(phase)``, or nothing when no one is measuring."""
    if phases is None:
        yield
        return
    with phases.measure(phase):
        yield
