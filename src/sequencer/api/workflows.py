"""Workflows: when something happens in the CRM to a person who meets the conditions,
enroll them in (or remove them from) sequences, as the workflow's owner.

Members see and manage their own workflows; admins all of them (and may give one to
another member with ``owner_id``). Anyone else's workflow answers 404. The rules are in
:mod:`sequencer.automations.workflows` and :mod:`sequencer.domain.workflows`; this
module only translates JSON to service calls and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictBool

from sequencer.api.auth import caller
from sequencer.api.errors import NotFound
from sequencer.api.pagination import Page, page_of
from sequencer.automations import workflows as service
from sequencer.automations.models import Workflow, WorkflowRun
from sequencer.clock import system_clock
from sequencer.inputs import Input

router = Router(tags=["Workflows"])

_TRIGGER_HELP = (
    'What starts the workflow: {"kind": "person_created"}, {"kind": "added_to_list", '
    '"list_id": 3}, {"kind": "attribute_changed", "object": "people", "attribute": '
    '"stage", "condition": {"operator": "is", "value": "Qualified"}} or {"kind": "daily", '
    '"time": "09:00", "time_zone": "Europe/Paris"}.'
)
_CONDITIONS_HELP = (
    "All must hold (at most 10), such as "
    '{"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}; '
    "GET /api/v1/workflows/fields lists the fields and their operators."
)
_ACTIONS_HELP = (
    '1 to 5, run in order: {"kind": "enroll", "sequence_id": 7, "sender": {"kind": '
    '"record_owner"} or {"kind": "member", "member_id": 4}, "address": "primary" or '
    '"first_deliverable"}, or {"kind": "remove", "sequence_id": 9}.'
)


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except service.WorkflowNotFound:
        raise NotFound("workflow") from None


class WorkflowIn(Input):
    name: str
    enabled: StrictBool = True
    trigger: dict[str, Any] = Field(description=_TRIGGER_HELP)
    conditions: list[dict[str, Any]] = Field(default_factory=list, description=_CONDITIONS_HELP)
    actions: list[dict[str, Any]] = Field(description=_ACTIONS_HELP)
    owner_id: int | None = Field(
        None, description="Admins only: the member who owns it (default: the caller)."
    )


class WorkflowPatch(Input):
    name: str | None = None
    enabled: StrictBool | None = None
    trigger: dict[str, Any] | None = Field(None, description=_TRIGGER_HELP)
    conditions: list[dict[str, Any]] | None = Field(None, description=_CONDITIONS_HELP)
    actions: list[dict[str, Any]] | None = Field(None, description=_ACTIONS_HELP)
    owner_id: int | None = Field(None, description="Admins only: give it to another member.")


class WorkflowOut(Schema):
    id: int
    name: str
    enabled: bool
    owner_id: int | None = Field(description="Null when its owner left the workspace.")
    owner_name: str | None
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    next_run_at: datetime | None = Field(description="Daily workflows: the next run.")
    created_at: datetime
    updated_at: datetime


class WorkflowPage(Schema):
    items: list[WorkflowOut]
    count: int


class RunEntryOut(Schema):
    id: int
    person_id: int | None = Field(description="Null once the person was deleted.")
    person_label: str = Field(description="Name and address when the run happened.")
    action_index: int | None = Field(description="The action's position; null if none ran.")
    outcome: str = Field(description="enrolled, removed, skipped, refused or failed.")
    reason: str
    enrollment_id: int | None


class RunOut(Schema):
    id: int
    event_id: int | None
    scheduled_for: datetime | None = Field(description="Daily runs: the instant it ran for.")
    started_at: datetime
    finished_at: datetime | None
    outcome: str = Field(description="done, refused or failed.")
    summary: str
    enrolled: int
    removed: int
    skipped: int
    refused: int
    failed: int
    entries: list[RunEntryOut]


class RunPage(Schema):
    items: list[RunOut]
    count: int


class RunFilters(Page):
    outcome: str | None = Field(None, description="Only runs with this outcome.")


class FieldOut(Schema):
    object: str
    key: str = Field(description="The condition's attribute.")
    title: str
    type: str
    options: list[str]
    is_multiple: bool
    target: str
    custom: bool
    operators: list[str]


def _workflow(w: Workflow) -> WorkflowOut:
    return WorkflowOut(
        id=w.pk,
        name=w.name,
        enabled=w.enabled,
        owner_id=w.owner_id,
        owner_name=str(w.owner) if w.owner is not None else None,
        trigger=w.trigger,
        conditions=w.conditions,
        actions=w.actions,
        next_run_at=w.next_run_at,
        created_at=w.created_at,
        updated_at=w.updated_at,
    )


def _run(run: WorkflowRun) -> RunOut:
    return RunOut(
        id=run.pk,
        event_id=run.event_id,
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        summary=run.summary,
        enrolled=run.enrolled,
        removed=run.removed,
        skipped=run.skipped,
        refused=run.refused,
        failed=run.failed,
        entries=[
            RunEntryOut(
                id=e.pk,
                person_id=e.person_id,
                person_label=e.person_label,
                action_index=e.action_index,
                outcome=e.outcome,
                reason=e.reason,
                enrollment_id=e.enrollment_id,
            )
            for e in run.entries.all()
        ],
    )


@router.get("/workflows/fields", response=list[FieldOut])
def workflow_fields(request: HttpRequest) -> list[FieldOut]:
    """The fields conditions may use: people's built-in fields and custom attributes,
    then companies', each with the operators that apply to it."""
    return [
        FieldOut(
            object=f.object,
            key=f.key,
            title=f.title,
            type=f.type,
            options=list(f.options),
            is_multiple=f.is_multiple,
            target=f.target,
            custom=f.custom,
            operators=list(f.operators),
        )
        for f in service.field_catalog().fields
    ]


@router.get("/workflows", response=WorkflowPage)
def list_workflows(request: HttpRequest, page: Query[Page]) -> WorkflowPage:
    """Your workflows (an admin's: every workflow), by name."""
    items, count = page_of(service.visible_workflows(caller(request)), page)
    return WorkflowPage(items=[_workflow(w) for w in items], count=count)


@router.post("/workflows", response={201: WorkflowOut})
def create_workflow(request: HttpRequest, payload: WorkflowIn) -> Status[WorkflowOut]:
    """A new workflow, owned by you. Refused (400, naming the field) when it names a
    list, member or sequence that does not exist, or a sequence you could not enroll
    into by hand (read and write access, published, not archived)."""
    data = payload.model_dump(exclude_unset=True)
    if data.get("owner_id", 0) is None:
        data.pop("owner_id")
    workflow = service.create_workflow(caller(request), data, clock=system_clock)
    return Status(201, _workflow(service.get_workflow(caller(request), workflow.pk)))


@router.get("/workflows/{workflow_id}", response=WorkflowOut)
def get_workflow(request: HttpRequest, workflow_id: int) -> WorkflowOut:
    with _answers():
        return _workflow(service.get_workflow(caller(request), workflow_id))


@router.patch("/workflows/{workflow_id}", response=WorkflowOut)
def update_workflow(request: HttpRequest, workflow_id: int, payload: WorkflowPatch) -> WorkflowOut:
    """Change the parts given (each replaces that part whole); ``{"enabled": false}``
    turns it off, which is never refused."""
    user = caller(request)
    with _answers():
        service.update_workflow(
            user, workflow_id, payload.model_dump(exclude_unset=True), clock=system_clock
        )
        return _workflow(service.get_workflow(user, workflow_id))


@router.delete("/workflows/{workflow_id}", response={204: None})
def delete_workflow(request: HttpRequest, workflow_id: int) -> Status[None]:
    """Delete it and its run log; the enrollments it made stay."""
    with _answers():
        service.delete_workflow(caller(request), workflow_id)
    return Status(204, None)


@router.get("/workflows/{workflow_id}/runs", response=RunPage)
def workflow_runs(request: HttpRequest, workflow_id: int, filters: Query[RunFilters]) -> RunPage:
    """What the workflow did, newest run first, each with an entry per person and
    action (who was enrolled, removed, or skipped and why)."""
    with _answers():
        runs = service.runs_of(caller(request), workflow_id, outcome=filters.outcome)
    items, count = page_of(runs, filters)
    return RunPage(items=[_run(r) for r in items], count=count)
