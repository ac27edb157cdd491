"""A workflow's page: its definition in words, Edit / Turn off / Delete, and its run log.

The log shows the newest runs first, a page at a time, each with what started it (the
person created or added to a list, the change, the daily schedule), its summary and
what happened to each person: Enrolled, Removed, Skipped or Refused, and why. A run
over many people shows its first entries and says how many more there are.

The page costs the same queries whatever the number of runs and entries: runs come
with their events, people, lists and companies joined, and the entries of the page's
runs in one query (a window per run, so a run of 10,000 people reads only its first
:data:`ENTRIES_PER_RUN`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sequencer.automations import workflows
from sequencer.automations.models import Workflow, WorkflowRun, WorkflowRunEntry
from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.workflows import describe_value
from sequencer.web.ask_first import ask_then_remove
from sequencer.web.automations import wording
from sequencer.web.automations.fields import Catalog, catalog
from sequencer.web.automations.guard import workflow_or_404
from sequencer.web.members import signed_in_member
from sequencer.web.records.selection import page_of
from sequencer.web.viewer_zone import render_in_viewer_zone, viewer_zone, when

RUNS_PER_PAGE = 20
ENTRIES_PER_RUN = 50


@dataclass(frozen=True)
class EntryView:
    entry: WorkflowRunEntry
    # "Enroll in Intro" when the workflow has several actions; "" when it has one (the
    # reason says it) or when no action was tried.
    action: str


@dataclass(frozen=True)
class RunView:
    run: WorkflowRun
    at: str
    started_by: str
    entries: list[EntryView]
    more: int  # entries of the run not shown


def _changed_words(changes: dict[str, Any], watched: str, fields: Catalog, obj: str) -> str:
    """ "Job title changed from “Engineer” to “Head of Sales”" for the watched field."""
    if watched not in changes:
        shown = ", ".join(sorted(changes)) or "a field"
        return f"{shown} changed"
    old, new = ([*list(changes[watched]), None, None])[:2]
    fld = fields.find(obj, watched)
    title = fld.title if fld else watched
    return f"{title} changed from {describe_value(old)} to {describe_value(new)}"


def started_by(run: WorkflowRun, workflow: Workflow, fields: Catalog) -> str:
    """What started the run, in words."""
    event = run.event
    if event is None:
        if run.scheduled_for is not None:
            return "The daily schedule"
        # An event that started a run is kept as long as the run: it is gone only with
        # the record it was about.
        return "A change to a record that has since been deleted"
    person = event.person.display_name if event.person else "A person"
    if event.kind == "person_created":
        return f"{person} was created"
    if event.kind == "added_to_list":
        name = event.person_list.name if event.person_list else "a list"
        return f"{person} was added to {name}"
    watched = str(workflow.trigger.get("attribute", ""))
    if event.company is not None:
        return f"{event.company.name}: " + _changed_words(
            event.changes or {}, watched, fields, "companies"
        )
    return f"{person}: " + _changed_words(event.changes or {}, watched, fields, "people")


def _runs(viewer: Any, workflow: Workflow, request: HttpRequest) -> Any:
    shown = WorkflowRunEntry.objects.select_related("person").order_by("id")[:ENTRIES_PER_RUN]
    runs = (
        workflows.runs_of(viewer, workflow.pk)
        .select_related("event__person", "event__person_list", "event__company")
        .prefetch_related(None)
        .prefetch_related(Prefetch("entries", queryset=shown, to_attr="shown_entries"))
    )
    return page_of(runs, request, RUNS_PER_PAGE)


@login_required
def workflow_page(request: HttpRequest, workflow_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    workflow = workflow_or_404(viewer, workflow_id)
    fields = catalog()
    names = wording.names_for([(workflow.trigger, workflow.conditions, workflow.actions)])
    short_actions = [
        wording.action_words(a, names, viewer_id=viewer.pk, detailed=False)
        for a in workflow.actions
    ]
    page = _runs(viewer, workflow, request)
    zone, now = viewer_zone(request), system_clock.now()
    runs = []
    for run in page.object_list:
        entries: list[WorkflowRunEntry] = run.shown_entries
        total = run.enrolled + run.removed + run.skipped + run.refused + run.failed
        runs.append(
            RunView(
                run=run,
                at=when(run.started_at, zone, now=now),
                started_by=started_by(run, workflow, fields),
                entries=[
                    EntryView(
                        e,
                        short_actions[e.action_index]
                        if len(short_actions) > 1
                        and e.action_index is not None
                        and e.action_index < len(short_actions)
                        else "",
                    )
                    for e in entries
                ],
                more=max(0, total - len(entries)),
            )
        )
    return render_in_viewer_zone(
        request,
        "web/automations/workflow.html",
        {
            "section": "workflows",
            "workflow": workflow,
            "trigger": wording.trigger_clause(workflow.trigger, fields, names),
            "conditions": wording.conditions_words(workflow.conditions, fields, names),
            "actions": [
                wording.action_words(a, names, viewer_id=viewer.pk, detailed=True)
                for a in workflow.actions
            ],
            "is_own": workflow.owner_id == viewer.pk,
            "page": page,
            "runs": runs,
        },
    )


@require_POST
@login_required
def switch(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Turn the workflow on or off (on checks its sequences again, and may refuse)."""
    viewer = signed_in_member(request)
    workflow = workflow_or_404(viewer, workflow_id)
    enabled = request.POST.get("enabled") == "on"
    try:
        workflows.set_enabled(viewer, workflow.pk, enabled, clock=system_clock)
    except InvalidInput as exc:
        messages.error(request, f"“{workflow.name}” is still off: {exc.message}")
    else:
        state = "on" if enabled else "off"
        messages.success(request, f"Turned “{workflow.name}” {state}.")
    return redirect("web:workflow", workflow_id=workflow.pk)


@login_required
def delete(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Ask first (GET), delete on the answer (POST)."""
    viewer = signed_in_member(request)
    workflow = workflow_or_404(viewer, workflow_id)
    return ask_then_remove(
        request,
        remove=lambda: workflows.delete_workflow(viewer, workflow.pk),
        done=f"Deleted the workflow “{workflow.name}”.",
        then="web:workflows",
        template="web/automations/delete.html",
        question=lambda: {
            "section": "workflows",
            "workflow": workflow,
            "run_count": WorkflowRun.objects.filter(workflow=workflow).count(),
        },
    )
