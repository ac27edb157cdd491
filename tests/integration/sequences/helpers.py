"""Shared request bodies for the sequence API tests."""

from __future__ import annotations

from typing import Any

GREETING = 'Hi {{ person.first_name | default: "there" }},'


def step(
    delay_days: int | None = None, subject: str = "", body: str = "", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": subject, "body_html": body, **extra}
    if delay_days is not None:
        out["delay_days"] = delay_days
    return out


def three_steps() -> list[dict[str, Any]]:
    return [
        step(0, 'Hello {{ company.name | default: "there" }}', f"<p>{GREETING} welcome.</p>"),
        step(2, "", "<p>Did you see this, {{ person.first_name }}?</p>"),
        step(3, "", '<p>Last note about {{ person.plan | default: "your plan" }}.</p>'),
    ]


def sequence_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Demo follow-up",
        "description": "After a demo",
        "settings": {
            "window": {"start": "09:00", "end": "17:00"},
            "time_zone": "Europe/Berlin",
            "business_days_only": True,
            "unsubscribe_phrase": "unsubscribe",
            "thread_emails": True,
            "include_signature": False,
            "exit_on_meeting_booked": False,
            "use_recipient_time_zone": False,
            "holiday_country": None,
        },
        "steps": three_steps(),
    }
    body.update(overrides)
    return body
