"""The sequence editor: the draft's steps on a canvas, its settings in a sidebar.

Edits save by themselves (htmx posts the whole form on change); structural edits (add
or delete a step, threading on or off) answer with the re-drawn canvas. Publishing
posts the form too, so the last keystrokes are saved before the draft is checked; a
refused publish shows every problem next to the step and field it concerns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from sequencer.clock import system_clock
from sequencer.crm.catalog import offered_variables
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import (
    MAX_STEPS,
    UNSUBSCRIBE_PHRASES,
    Level,
    effective_subjects,
)
from sequencer.sequences import authoring
from sequencer.sequences.attachments import MAX_EMAIL_BYTES, MAX_FILE_BYTES
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Attachment, Sequence, SequenceStatus
from sequencer.web.members import signed_in_member
from sequencer.web.sequences import draft_form, files, schedule_preview, sharing
from sequencer.web.sequences.guard import access_answers

TABS = (("editor", "Editor"), ("recipients", "Recipients"), ("settings", "Settings"))


@dataclass
class StepView:
    index: int
    delay_days: int
    subject: str  # as written
    sent_subject: str  # as sent: "RE: ..." for a threaded reply
    subject_editable: bool
    body_html: str
    attachment_ids: list[int]
    errors: dict[str, str]
    files: list[dict[str, Any]]  # the attachments, as files.described() gives them

    @property
    def number(self) -> int:
        return self.index + 1


def _steps(sequence: Sequence, snapshot: dict[str, Any], errors: dict[str, str]) -> list[StepView]:
    thread = snapshot["settings"]["thread_emails"]
    written = list(sequence.steps.order_by("position").values_list("subject", flat=True))
    sent = effective_subjects(written, thread_emails=thread)
    # One query for the files of every step (names and sizes; never their bytes).
    ids = {pk for step in snapshot["steps"] for pk in step["attachment_ids"]}
    found = {a.pk: files.described(a) for a in Attachment.objects.filter(pk__in=ids)}
    return [
        StepView(
            index=i,
            delay_days=step["delay_days"],
            subject=written[i],
            sent_subject=sent[i],
            subject_editable=i == 0 or not thread,
            body_html=step["body_html"],
            attachment_ids=step["attachment_ids"],
            errors={
                key: errors[f"steps-{i}-{key}"]
                for key in draft_form.STEP_FIELDS
                if f"steps-{i}-{key}" in errors
            },
            files=[found[pk] for pk in step["attachment_ids"] if pk in found],
        )
        for i, step in enumerate(snapshot["steps"])
    ]


def _context(
    sequence: Sequence,
    level: Level,
    *,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    focus_step: int | None = None,
) -> dict[str, Any]:
    errors = errors or {}
    snapshot = authoring.draft_snapshot(sequence)
    steps = _steps(sequence, snapshot, errors)
    latest = authoring.latest_version(sequence)
    archived = sequence.status == SequenceStatus.ARCHIVED
    can_edit = level >= Level.READ_WRITE and not archived
    preview = schedule_preview.stored_preview(
        snapshot["settings"], snapshot["steps"], system_clock.now()
    )
    return schedule_preview.context_for(preview) | {
        "section": "sequences",
        "tab": "editor",
        "tabs": TABS,
        "sequence": sequence,
        "settings": snapshot["settings"],
        "steps": steps,
        "focus_step": focus_step,
        "latest": latest,
        "level": level,
        "read_only": level < Level.READ_WRITE,
        "archived": archived,
        "can_edit": can_edit,
        "can_add_step": can_edit and len(steps) < MAX_STEPS,
        "errors": errors,
        "general_errors": general or [],
        "problem_count": len(errors) + len(general or []),
        "phrases": UNSUBSCRIBE_PHRASES,
        "time_zones": draft_form.time_zones(),
        "countries": draft_form.holiday_countries(),
        "max_file_bytes": MAX_FILE_BYTES,
        "max_file_mb": MAX_FILE_BYTES // (1024 * 1024),
        "max_email_mb": MAX_EMAIL_BYTES // (1024 * 1024),
    }


def _variables() -> dict[str, Any]:
    """What the composers' variable picker offers (the list ``GET /api/v1/variables`` gives)."""
    return {
        "variables": [
            {"path": v.path, "label": v.label, "group": v.group} for v in offered_variables()
        ]
    }


@login_required
@access_answers
def editor(request: HttpRequest, sequence_id: int) -> HttpResponse:
    member = signed_in_member(request)
    sequence, level = authoring.get_sequence(member, sequence_id)
    context = _context(sequence, level) | sharing.share_context(sequence, member, level)
    return render(request, "web/sequences/editor.html", context | _variables())


def save_draft(
    request: HttpRequest, sequence_id: int, steps: list[StepInput] | None = None
) -> None:
    """Store the editor's posted form as the draft (``steps`` in place of the posted ones);
    the template library saves the same way before inserting a template."""
    draft = draft_form.read_draft(request.POST)
    authoring.update_draft(
        signed_in_member(request),
        sequence_id,
        name=draft.name,
        description=draft.description,
        settings=draft.settings,
        steps=draft.steps if steps is None else steps,
        clock=system_clock,
    )


def _not_saved(request: HttpRequest, problem: InvalidInput) -> HttpResponse:
    name = draft_form.input_name(problem.field)
    response = render(
        request,
        "web/sequences/editor.html#save_state",
        {"problem": problem.message, "problem_label": draft_form.label_of(name)},
    )
    return reswap(retarget(response, "#save-state"), "outerHTML")


@require_POST
@login_required
@access_answers
def save(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """Autosave: store the posted draft and answer with the saved state (and the title)."""
    try:
        save_draft(request, sequence_id)
    except InvalidInput as problem:
        return _not_saved(request, problem)
    sequence, level = authoring.get_sequence(signed_in_member(request), sequence_id)
    return render(
        request,
        "web/sequences/editor.html#saved",
        {
            "sequence": sequence,
            "latest": authoring.latest_version(sequence),
            # Saving succeeded, so the member may edit and the sequence is not archived.
            "can_edit": level >= Level.READ_WRITE,
        },
    )


@require_POST
@login_required
@access_answers
def change_steps(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """Add a step, delete one, or re-draw the canvas (threading turned on or off)."""
    steps = draft_form.read_draft(request.POST).steps
    action = request.POST.get("action", "")
    focus = None
    if action == "add":
        steps.append(StepInput())
        focus = len(steps) - 1
    elif action.startswith("delete-") and action[7:].isdigit():
        index = int(action[7:])
        if index < len(steps):
            del steps[index]
            if index == 0 and steps and steps[0].delay_days == 1:
                # The new first email keeps "start immediately" unless a wait was set.
                steps[0].delay_days = 0
    try:
        save_draft(request, sequence_id, steps)
    except InvalidInput as problem:
        return _not_saved(request, problem)
    sequence, level = authoring.get_sequence(signed_in_member(request), sequence_id)
    context = _context(sequence, level, focus_step=focus)
    response = render(request, "web/sequences/editor.html#canvas_update", context)
    # The schedule preview redraws once the new canvas (and its number of steps) is in
    # the page; the button that asked is gone by then, so the event targets the preview.
    response["HX-Trigger-After-Settle"] = json.dumps(
        {"stepsChanged": {"target": "#schedule-preview"}}
    )
    return response


@require_POST
@login_required
@access_answers
def publish(request: HttpRequest, sequence_id: int) -> HttpResponse:
    member = signed_in_member(request)
    try:
        save_draft(request, sequence_id)
    except InvalidInput as problem:
        sequence, level = authoring.get_sequence(member, sequence_id)
        errors, general = draft_form.errors_by_input([problem])
        return _refused(request, sequence, level, errors, general)
    untitled = not authoring.get_sequence(member, sequence_id)[0].name
    try:
        created = authoring.publish(member, sequence_id, clock=system_clock)
    except InvalidInput:
        sequence, level = authoring.get_sequence(member, sequence_id)
        problems = authoring.publish_problems(authoring.draft_snapshot(sequence))
        errors, general = draft_form.errors_by_input(problems)
        return _refused(request, sequence, level, errors, general)
    done = f"Published version {created.number}."
    # Publishing names an untitled sequence from its emails: say where the name came from.
    named = authoring.get_sequence(member, sequence_id)[0].name if untitled else ""
    if named:
        done += f" It is named “{named}” from its emails; rename it whenever you like."
    messages.success(request, done)
    return redirect("web:sequence_editor", sequence_id=sequence_id)


def _refused(
    request: HttpRequest,
    sequence: Sequence,
    level: Level,
    errors: dict[str, str],
    general: list[str],
) -> HttpResponse:
    context = _context(sequence, level, errors=errors, general=general)
    context |= sharing.share_context(sequence, signed_in_member(request), level) | _variables()
    context["publish_refused"] = True
    return render(request, "web/sequences/editor.html", context, status=400)


@require_POST
@login_required
@access_answers
def discard(request: HttpRequest, sequence_id: int) -> HttpResponse:
    member = signed_in_member(request)
    try:
        authoring.discard(member, sequence_id, clock=system_clock)
    except InvalidInput as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, "Changes discarded: the draft is back to the published version.")
    return redirect("web:sequence_editor", sequence_id=sequence_id)
