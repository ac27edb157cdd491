"""A bar chart drawn by the server as inline SVG: no chart library, no script, and
nothing the Content Security Policy would refuse (the colours are classes of
``status.css``, the positions are SVG attributes).

This module only works out the geometry; ``web/settings/_bar_chart.html`` draws it, with
an accessible name, a description and the numbers as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH = 720
HEIGHT = 200
# Room for the value labels on the right (beside the newest hours, where a phone opens
# the chart) and the hour labels below.
LEFT, RIGHT, TOP, BOTTOM = 8, 56, 10, 26
# An hour label every this many bars.
LABEL_EVERY = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    start: datetime
    value: float
    text: str  # the value as people read it


@dataclass(frozen=True)
class Tick:
    at: float  # y for a gridline, x for an hour label
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: int
    bars: tuple[Bar, ...]
    gridlines: tuple[Tick, ...]
    hours: tuple[Tick, ...]
    # The highest bar, drawn darker and named in the description; None when all are
    # zero or several share the highest value (naming one of them would mislead).
    peak: Bar | None
    highest: Bar | None  # a bar of the highest value, when it is above zero
    total: float


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2 or 4 times a power of ten that is at least ``value``, so the
    top and the middle gridline fall on round numbers."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 * power


def bar_chart(
    points: Sequence[tuple[datetime, float]],
    text: Callable[[float], str],
    *,
    floor: float = 1.0,
) -> Chart:
    """One bar per point (an hour and its value); ``floor`` is the least top of the scale,
    so that a few small values do not fill the chart."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    top = nice_ceiling(max([floor, *(value for _, value in points)]))
    slot = plot_width / max(1, len(points))
    bars = []
    for n, (start, value) in enumerate(points):
        height = plot_height * value / top
        bars.append(
            Bar(
                x=round(LEFT + n * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                start=start,
                value=value,
                text=text(value),
            )
        )
    gridlines = tuple(
        Tick(at=round(baseline - plot_height * share, 2), text=text(top * share))
        for share in (0, 0.5, 1)
    )
    hours = tuple(
        Tick(at=round(bar.x + bar.width / 2, 2), text=f"{bar.start:%H:%M}")
        for n, bar in enumerate(bars)
        if n % LABEL_EVERY == 0
    )
    highest = max(bars, key=lambda bar: bar.value, default=None)
    if highest is not None and highest.value <= 0:
        highest = None
    unique = highest is not None and sum(bar.value == highest.value for bar in bars) == 1
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        baseline=baseline,
        bars=tuple(bars),
        gridlines=gridlines,
        hours=hours,
        peak=highest if unique else None,
        highest=highest,
        total=sum(value for _, value in points),
    )
