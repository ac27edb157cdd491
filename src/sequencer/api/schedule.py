"""The stateless schedule preview: when each step of a sequence would be sent."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from sequencer.domain.schedule import (
    SchedulePolicy,
    SendingWindow,
    parse_holiday_country,
    parse_zone,
    plan_send_times,
    require_aware,
    validate_delays,
)
from sequencer.inputs import Input

router = Router(tags=["Schedule"])


class WindowIn(Input):
    start: str = Field(examples=["09:00"])
    end: str = Field(examples=["17:00"])


class PreviewIn(Input):
    enrolled_at: datetime = Field(examples=["2026-03-06T16:30:00-05:00"])
    delays_days: list[int] = Field(examples=[[0, 1, 3]])
    window: WindowIn
    time_zone: str = Field(examples=["America/New_York"])
    business_days_only: bool = False
    recipient_time_zone: str | None = None
    holiday_country: str | None = None


class PreviewOut(Schema):
    send_at: list[str]


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.post("/schedule-preview", response=PreviewOut, auth=None)
def schedule_preview(request: HttpRequest, payload: PreviewIn) -> PreviewOut:
    """When each step would be sent, by the contract's rule (no mailbox limits, no jitter)."""
    enrolled_at = require_aware(payload.enrolled_at, "enrolled_at")
    validate_delays(payload.delays_days)
    window = SendingWindow.parse(payload.window.start, payload.window.end)
    zone = parse_zone(payload.time_zone)
    if payload.recipient_time_zone:
        zone = parse_zone(payload.recipient_time_zone, "recipient_time_zone")
    policy = SchedulePolicy(
        zone=zone,
        window=window,
        business_days_only=payload.business_days_only,
        holiday_country=parse_holiday_country(payload.holiday_country),
    )
    return PreviewOut(
        send_at=[utc_iso(t) for t in plan_send_times(enrolled_at, payload.delays_days, policy)]
    )
