"""The workflow builder: New workflow and Edit, one form a salesperson fills in.

"When" (the trigger), "Only if" (conditions) and "Then" (actions). The server draws
every part of "When"; the stylesheet shows only the chosen kind's controls. "Add
condition", "Remove" and changing a field or a sequence post the form without saving
and redraw it (htmx swaps it in place; without JavaScript it is a page load), so the
operators and values always fit the chosen field and the senders the chosen sequence.

Saving goes through ``create_workflow`` / ``update_workflow``, the services the API
uses; a refusal is shown next to the control its field path names, the form as it was.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from sequencer.automations import workflows
from sequencer.automations.models import Workflow
from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.web.automations import builder_form, choices, wording
from sequencer.web.automations.builder_form import BuilderForm
from sequencer.web.automations.fields import Catalog, catalog
from sequencer.web.automations.guard import workflow_or_404
from sequencer.web.members import signed_in_member
from sequencer.web.viewer_zone import said_zone
from sequencer.workspace.models import User


def _default_zone(request: HttpRequest) -> str:
    """The member's own zone (their browser's), else UTC."""
    zone = said_zone(request)
    return str(zone.key) if zone else "UTC"


def _owner(form: BuilderForm, viewer: User, current: User | None) -> User:
    """Whose access the workflow acts with: an admin may choose another member (the
    form's owner select), anyone else owns what they make."""
    if viewer.is_admin and form.owner_id.isdigit():
        chosen = User.objects.filter(pk=int(form.owner_id), is_active=True).first()
        if chosen is not None:
            return chosen
    return current or viewer


def _context(
    form: BuilderForm, fields: Catalog, owner: User, viewer: User, workflow: Workflow | None
) -> dict[str, Any]:
    sequence_ids = {int(a.sequence_id) for a in form.actions if a.sequence_id.isdigit()}
    names = wording.names_for([({}, [], [{"sequence_id": pk} for pk in sequence_ids])])
    offered = choices.enrollable_sequences(owner)
    members = choices.members()
    form.owner_id = str(owner.pk)
    return {
        "section": "workflows",
        "form": form,
        "workflow": workflow,
        "owner": owner,
        "may_choose_owner": viewer.is_admin,
        "trigger_kinds": wording.TRIGGER_KINDS,
        "lists": choices.lists(),
        "people_fields": fields.of("people"),
        "company_fields": fields.of("companies"),
        "members": members,
        "time_zones": choices.time_zones(),
        "actions": [
            {
                "row": action,
                "sequences": choices.with_current(offered, action.sequence_id, names.sequences),
                "senders": choices.with_current(
                    choices.senders(owner, viewer, action.sequence_id),
                    action.sender.removeprefix("member:"),
                    dict(members),
                    prefix="member:",
                ),
            }
            for action in form.actions
        ],
    }


def _render(
    request: HttpRequest,
    form: BuilderForm,
    fields: Catalog,
    owner: User,
    workflow: Workflow | None,
    *,
    status: int = 200,
) -> HttpResponse:
    viewer = signed_in_member(request)
    context = _context(form, fields, owner, viewer, workflow)
    builder_form.offer_values(form, context["members"])
    return render(request, "web/automations/builder.html", context, status=status)


def _saved(request: HttpRequest, saved: Workflow, verb: str) -> HttpResponse:
    messages.success(request, f"{verb} the workflow “{saved.name}”.")
    return redirect(reverse("web:workflow", args=[saved.pk]))


def _definition(form: BuilderForm, viewer: User, owner: User) -> dict[str, Any]:
    data = builder_form.definition(form)
    if viewer.is_admin:
        data["owner_id"] = owner.pk
    return data


@login_required
def new_workflow(request: HttpRequest) -> HttpResponse:
    viewer = signed_in_member(request)
    fields = catalog()
    if request.method != "POST":
        return _render(
            request, builder_form.blank(fields, _default_zone(request)), fields, viewer, None
        )
    form = builder_form.posted(request.POST, fields)
    owner = _owner(form, viewer, None)
    if builder_form.apply_change(form, request.POST, fields):
        return _render(request, form, fields, owner, None)
    try:
        created = workflows.create_workflow(
            viewer, _definition(form, viewer, owner), clock=system_clock
        )
    except InvalidInput as exc:
        builder_form.place_error(form, exc)
        return _render(request, form, fields, owner, None, status=400)
    return _saved(request, created, "Created")


@login_required
def edit_workflow(request: HttpRequest, workflow_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    workflow = workflow_or_404(viewer, workflow_id)
    fields = catalog()
    if request.method != "POST":
        form = builder_form.from_definition(
            workflow.name,
            workflow.enabled,
            workflow.trigger,
            workflow.conditions,
            workflow.actions,
            fields,
            _default_zone(request),
        )
        return _render(request, form, fields, workflow.owner or viewer, workflow)
    form = builder_form.posted(request.POST, fields)
    owner = _owner(form, viewer, workflow.owner)
    if builder_form.apply_change(form, request.POST, fields):
        return _render(request, form, fields, owner, workflow)
    try:
        saved = workflows.update_workflow(
            viewer, workflow.pk, _definition(form, viewer, owner), clock=system_clock
        )
    except InvalidInput as exc:
        builder_form.place_error(form, exc)
        return _render(request, form, fields, owner, workflow, status=400)
    return _saved(request, saved, "Saved")
