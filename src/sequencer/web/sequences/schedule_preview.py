"""The editor's live schedule preview: "if someone is enrolled now, the emails go out at …".

The times come from the same rule the engine follows (:func:`plan_send_times`, as the
API's ``POST /schedule-preview``): each step's wait in calendar days at the same wall
time in the sequence's zone, moved to the next moment the sending window, business days
and holidays allow. Shown in the sequence's zone and in the viewer's own
(:func:`sequencer.web.viewer_zone.said_zone`, the browser's cookie; until the browser has
said, only the sequence's is shown).

The preview reads the form as it is being edited, saved or not, so it follows every
keystroke; a member who cannot edit sees the stored draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from sequencer.clock import Clock, system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import SchedulePolicy, parse_zone, plan_send_times
from sequencer.domain.sequence_rules import Level, default_delay
from sequencer.sequences import authoring
from sequencer.web.members import signed_in_member
from sequencer.web.sequences import draft_form
from sequencer.web.sequences.guard import access_answers
from sequencer.web.viewer_zone import said_zone


@dataclass(frozen=True)
class PlannedSend:
    number: int
    in_sequence_zone: str
    in_viewer_zone: str | None  # None when the viewer's zone is the sequence's


@dataclass(frozen=True)
class Preview:
    now_in_viewer_zone: str
    sequence_zone: str
    viewer_zone: str | None
    sends: list[PlannedSend]
    per_recipient_zone: bool  # times are the recipient's own wall time when known
    problem: str = ""


def _when(moment: datetime, zone: ZoneInfo, reference: datetime) -> str:
    """ "Tue 3 Mar, 14:05" (with the year when it is not the reference's)."""
    local = moment.astimezone(zone)
    year = "" if local.year == reference.astimezone(zone).year else f" {local.year}"
    return f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M}"


def _place(zone_name: str) -> str:
    """ "America/New_York" → "New York": the city a person recognises."""
    return zone_name.rsplit("/", 1)[-1].replace("_", " ")


def plan(
    settings: dict[str, Any],
    delays: list[object],
    *,
    now: datetime,
    viewer_zone: ZoneInfo | None,
) -> Preview:
    """When each step goes out for someone enrolled at ``now``, in words."""
    zone_name = str(settings.get("time_zone") or "")
    # The viewer's own time only when it differs from the sequence's.
    viewer = viewer_zone if viewer_zone is not None and viewer_zone.key != zone_name else None
    shown_zone = viewer or _safe_zone(zone_name)
    empty = Preview(_when(now, shown_zone, now), zone_name, None, [], False)
    if not delays:
        return empty
    try:
        window = settings.get("window") or {}
        policy = SchedulePolicy.from_settings(
            time_zone=zone_name,
            window_start=str(window.get("start", "")),
            window_end=str(window.get("end", "")),
            business_days_only=bool(settings.get("business_days_only")),
            holiday_country=settings.get("holiday_country") or None,
        )
        # Checked by plan_send_times: a wait typed as text is refused naming its step.
        days: list[Any] = [
            default_delay(i) if delay is None else delay for i, delay in enumerate(delays)
        ]
        sends = plan_send_times(now, days, policy)
    except InvalidInput as problem:
        return Preview(
            empty.now_in_viewer_zone,
            zone_name,
            None,
            [],
            False,
            problem=_problem_text(problem),
        )
    return Preview(
        now_in_viewer_zone=_when(now, shown_zone, now),
        sequence_zone=zone_name,
        viewer_zone=str(viewer.key) if viewer else None,
        sends=[
            PlannedSend(
                number=i + 1,
                in_sequence_zone=_when(moment, policy.zone, now),
                in_viewer_zone=_when(moment, viewer, now) if viewer else None,
            )
            for i, moment in enumerate(sends)
        ],
        per_recipient_zone=bool(settings.get("use_recipient_time_zone")),
    )


def _problem_text(problem: InvalidInput) -> str:
    """The problem named by the editor's own label: "Step 2 · Wait: ...", "Time zone: ..."."""
    field = problem.field or ""
    if field.startswith("delays_days."):
        path = f"steps.{field.split('.')[1]}.delay_days"
    else:
        path = f"settings.{field}" if field else ""
    name = draft_form.input_name(path)
    label = draft_form.label_of(name)
    return f"{label}: {problem.message}" if label else problem.message


def _safe_zone(name: str) -> ZoneInfo:
    try:
        return parse_zone(name)
    except InvalidInput:
        return ZoneInfo("UTC")


def context_for(preview: Preview) -> dict[str, Any]:
    return {
        "preview": preview,
        "sequence_place": _place(preview.sequence_zone),
        "viewer_place": _place(preview.viewer_zone) if preview.viewer_zone else "",
    }


def stored_preview(
    sequence_settings: dict[str, Any], steps: list[dict[str, Any]], now: datetime
) -> Preview:
    """The preview of the stored draft, before the browser has said where the viewer is."""
    return plan(sequence_settings, [s["delay_days"] for s in steps], now=now, viewer_zone=None)


@require_POST
@login_required
@access_answers
def schedule_preview(
    request: HttpRequest, sequence_id: int, clock: Clock = system_clock
) -> HttpResponse:
    member = signed_in_member(request)
    sequence, level = authoring.get_sequence(member, sequence_id)
    if level >= Level.READ_WRITE and "steps-count" in request.POST:
        draft = draft_form.read_draft(request.POST)
        settings: dict[str, Any] = draft.settings
        delays: list[object] = [step.delay_days for step in draft.steps]
    else:
        # Read-only: the form's fields are disabled and not posted; show what is stored.
        snapshot = authoring.draft_snapshot(sequence)
        settings = snapshot["settings"]
        delays = [step["delay_days"] for step in snapshot["steps"]]
    preview = plan(settings, delays, now=clock.now(), viewer_zone=said_zone(request))
    return render(request, "web/sequences/editor.html#schedule", context_for(preview))
