"""The workflows list: each workflow's trigger and actions in words, its owner, whether it
is on, and its last run.

Members see their own workflows, admins everyone's (``visible_workflows``). The page
costs the same queries for 10 or 50 rows: the last run comes from two subqueries of the
list's query, owners from a join, and the lists, sequences and members the definitions
name are read once for the whole page (:func:`wording.names_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse

from sequencer.automations import workflows
from sequencer.automations.models import Workflow, WorkflowRun
from sequencer.clock import system_clock
from sequencer.web.automations import wording
from sequencer.web.automations.fields import catalog
from sequencer.web.members import signed_in_member
from sequencer.web.records.selection import page_of, query_without_page
from sequencer.web.viewer_zone import render_in_viewer_zone, viewer_zone, when


@dataclass(frozen=True)
class WorkflowRow:
    workflow: Workflow
    trigger: str
    actions: list[str]
    last_run: str  # "Tue 3 Mar, 14:05", or "" when it never ran


@login_required
def workflow_list(request: HttpRequest) -> HttpResponse:
    viewer = signed_in_member(request)
    latest = WorkflowRun.objects.filter(workflow=OuterRef("pk")).order_by("-started_at", "-pk")
    rows = (
        workflows.visible_workflows(viewer)
        .select_related("owner")
        .annotate(
            last_run_at=Subquery(latest.values("started_at")[:1]),
            last_run_summary=Subquery(latest.values("summary")[:1]),
        )
        .order_by("name", "pk")
    )
    page = page_of(rows, request)
    listed: list[Workflow] = list(page.object_list)
    names = wording.names_for((w.trigger, w.conditions, w.actions) for w in listed)
    fields = catalog() if listed else None
    zone, now = viewer_zone(request), system_clock.now()
    shown = [
        WorkflowRow(
            workflow=w,
            trigger=wording.trigger_words(w.trigger, fields, names) if fields else "",
            actions=[
                wording.action_words(a, names, viewer_id=viewer.pk, detailed=False)
                for a in w.actions
            ],
            last_run=when(w.last_run_at, zone, now=now),  # type: ignore[attr-defined]
        )
        for w in listed
    ]
    return render_in_viewer_zone(
        request,
        "web/automations/workflows.html",
        {
            "section": "workflows",
            "page": page,
            "rows": shown,
            "show_owner": viewer.is_admin,
            "query": query_without_page(request.GET),
        },
    )
