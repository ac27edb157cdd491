"""The editor's form: posted fields to the authoring service's inputs, and back.

The service checks everything (and names the offending field with a dotted path such
as ``steps.1.body_html`` or ``settings.window.start``); this module only turns form
strings into the shapes it takes, and maps its field paths onto the form's inputs so
that each problem is shown next to the input it concerns.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import holidays
from django.http import QueryDict

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import MAX_STEPS
from sequencer.sequences.authoring import StepInput

# Unticked checkboxes are not posted: each of these is False when absent.
CHECKBOXES = (
    "business_days_only",
    "use_recipient_time_zone",
    "thread_emails",
    "include_signature",
    "exit_on_meeting_booked",
    "pause_on_out_of_office",
)
STEP_FIELDS = {
    "delay_days": "Wait",
    "subject": "Subject",
    "body_html": "Body",
    "attachment_ids": "Attachments",
}
SETTING_LABELS = {
    "name": "Name",
    "description": "Description",
    "window_start": "Sending window start",
    "window_end": "Sending window end",
    "time_zone": "Time zone",
    "holiday_country": "Holiday country",
    "unsubscribe_phrase": "Unsubscribe link",
    **{name: name.replace("_", " ").capitalize() for name in CHECKBOXES},
}


@dataclass
class DraftPost:
    name: str
    description: str
    settings: dict[str, Any]
    steps: list[StepInput] = field(default_factory=list)


def _whole_number(raw: str | None) -> object:
    """An int when the text is one; the text itself otherwise, for the service to refuse."""
    text = (raw or "").strip()
    if not text:
        return None
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else text


def read_draft(post: QueryDict) -> DraftPost:
    settings: dict[str, Any] = {
        "window": {"start": post.get("window_start", ""), "end": post.get("window_end", "")},
        "time_zone": post.get("time_zone", "").strip(),
        "holiday_country": post.get("holiday_country", "").strip() or None,
        "unsubscribe_phrase": post.get("unsubscribe_phrase", ""),
        **{name: name in post for name in CHECKBOXES},
    }
    count = _whole_number(post.get("steps-count"))
    count = min(count, MAX_STEPS + 1) if isinstance(count, int) and count > 0 else 0
    steps = [
        StepInput(
            delay_days=_whole_number(post.get(f"steps-{i}-delay_days")),
            subject=post.get(f"steps-{i}-subject", ""),
            body_html=post.get(f"steps-{i}-body_html", ""),
            attachment_ids=[
                int(v) for v in post.getlist(f"steps-{i}-attachment_ids") if v.isdigit()
            ],
        )
        for i in range(count)
    ]
    return DraftPost(
        name=post.get("name", ""),
        description=post.get("description", ""),
        settings=settings,
        steps=steps,
    )


def input_name(path: str | None) -> str | None:
    """The form input a service field path names: ``steps.1.body_html`` → ``steps-1-body_html``.

    ``steps[1].body_html`` is read the same way. ``None`` when no single input is to blame.
    """
    if not path:
        return None
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    if parts[0] == "settings":
        parts = parts[1:]
        if parts[:1] == ["window"]:
            return "window_end" if parts[1:2] == ["end"] else "window_start"
        return parts[0] if parts else None
    if parts[0] == "steps" and len(parts) >= 3 and parts[1].isdigit():
        return f"steps-{parts[1]}-{parts[2]}"
    if parts[0] == "steps" and len(parts) == 2 and parts[1].isdigit():
        return f"steps-{parts[1]}-body_html"
    return parts[0] if parts[0] in SETTING_LABELS else None


def label_of(name: str | None) -> str:
    """What a person calls an input: "Step 2 · Body", "Time zone"."""
    if name is None:
        return ""
    match = re.fullmatch(r"steps-(\d+)-(\w+)", name)
    if match:
        return f"Step {int(match[1]) + 1} · {STEP_FIELDS.get(match[2], match[2])}"
    return SETTING_LABELS.get(name, name)


def errors_by_input(problems: list[InvalidInput]) -> tuple[dict[str, str], list[str]]:
    """Problems keyed by input name, and those that belong to no input."""
    by_input: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        name = input_name(problem.field)
        if name is None:
            general.append(problem.message)
        else:
            by_input.setdefault(name, problem.message)
    return by_input, general


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


@cache
def holiday_countries() -> list[tuple[str, str]]:
    supported = set(holidays.list_supported_countries())
    names = {
        codes[1]: module.replace("_", " ").title()
        for module, codes in holidays.registry.COUNTRIES.items()
        if len(codes) > 1 and codes[1] in supported
    }
    return sorted(names.items(), key=lambda item: item[1])
