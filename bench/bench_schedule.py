"""How fast the schedule maths plans a sequence: the engine calls it on every send."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sequencer.domain.schedule import SchedulePolicy, SendingWindow, plan_send_times

FIGURES = {
    "schedule_plans_per_second": (
        "three-step plans computed per second (business days, US holidays, New York)",
        "plans/s",
        None,
    ),
}


def run() -> dict[str, float]:
    policy = SchedulePolicy(
        zone=ZoneInfo("America/New_York"),
        window=SendingWindow.parse("09:00", "17:00"),
        business_days_only=True,
        holiday_country="US",
    )
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(minutes=rng.randrange(0, 525_600)) for _ in range(20_000)]
    plan_send_times(moments[0], [0, 2, 3], policy)  # warm the holiday cache
    began = time.perf_counter()
    for moment in moments:
        plan_send_times(moment, [0, 2, 3], policy)
    return {"schedule_plans_per_second": len(moments) / (time.perf_counter() - began)}
