"""The Status page's charts: round scales, bars in proportion, lags in plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sequencer.web.settings.status import duration
from sequencer.web.settings.status_chart import HEIGHT, bar_chart, nice_ceiling

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (1.5, 2), (3, 4), (4.1, 10), (37, 40), (120, 200)]
)
def test_the_scale_ends_on_a_round_number_at_or_above_the_highest_value(value, top):
    assert nice_ceiling(value) == top


def test_bars_are_in_proportion_and_the_highest_is_named():
    points = [(START + timedelta(hours=n), float(v)) for n, v in enumerate([0, 2, 4, 1])]

    chart = bar_chart(points, lambda v: f"{v:g}", floor=4)

    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[2] == 2 * heights[1] == 4 * heights[3]
    assert chart.peak is not None and chart.peak.start == START + timedelta(hours=2)
    assert chart.total == 7
    assert [line.text for line in chart.gridlines] == ["0", "2", "4"]
    assert all(0 <= bar.y <= HEIGHT for bar in chart.bars)


def test_a_chart_of_zeros_has_no_peak():
    chart = bar_chart([(START, 0.0)], str)

    assert chart.peak is None and chart.highest is None


def test_when_several_hours_share_the_highest_value_none_is_named_the_peak():
    points = [(START + timedelta(hours=n), v) for n, v in enumerate([1.0, 0.0, 1.0])]

    chart = bar_chart(points, str)

    assert chart.peak is None
    assert chart.highest is not None and chart.highest.value == 1


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (7 * 60 + 5, "7 min"),
        (3600, "1 h"),
        (3 * 3600 + 300, "3 h 5 min"),
        (3 * 86400, "3 days"),
    ],
)
def test_lags_read_as_people_say_them(seconds, said):
    assert duration(seconds) == said
