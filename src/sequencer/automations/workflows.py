"""Workflows: creating, changing, reading them, and the fields their conditions may use.

Every definition goes through :func:`sequencer.domain.workflows.parse_definition`, then
through the database checks here (the list, the members and the sequences it names
exist, and its owner could enroll into each sequence by hand); every refusal is an
:class:`InvalidInput` naming the field to fix.

Access: members see and manage their own workflows; admins see and manage all, and may
give one another owner (``owner_id``). Anyone else's workflow is
:class:`WorkflowNotFound`, as one that does not exist.

Decisions where the design is silent:

- An update is partial: each top-level key given (``name``, ``enabled``, ``trigger``,
  ``conditions``, ``actions``, ``owner_id``) replaces that part whole; the result is
  checked as a whole.
- Turning a workflow off, or renaming a disabled one, is never refused: a workflow
  whose sequence became unusable must still be switchable off. Anything else re-checks
  the references with the (possibly new) owner.
- A workflow without an owner (its owner's member row was deleted) cannot be enabled
  until an admin gives it one.
- A member may name only themselves as owner; ``owner_id`` must be an active member.
- A daily workflow's next run is computed when it is saved enabled (from the clock
  given) and cleared when it is disabled; changing its time or zone recomputes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from sequencer.automations.models import Workflow, WorkflowRun, WorkflowRunEntry
from sequencer.clock import Clock
from sequencer.crm.models import Attribute, Company, Person, PersonList
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.domain.workflows import (
    AddedToList,
    Daily,
    Definition,
    Enroll,
    FieldCatalog,
    FieldSpec,
    next_daily_run,
    parse_definition,
)
from sequencer.sequences import access, delegation
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.models import Sequence, SequenceStatus
from sequencer.workspace.models import User

__all__ = [
    "WorkflowNotFound",
    "check_actions",
    "create_workflow",
    "definition_of",
    "delete_workflow",
    "field_catalog",
    "get_workflow",
    "runs_of",
    "set_enabled",
    "update_workflow",
    "visible_workflows",
]

_DEFINITION_KEYS = ("name", "enabled", "trigger", "conditions", "actions")
_ALL_KEYS = (*_DEFINITION_KEYS, "owner_id")


class WorkflowNotFound(Exception):
    """No workflow with that id, or one the member may not see (answered as 404)."""


# --- The fields conditions may use ---------------------------------------------------

_PERSON_FIELDS = (
    FieldSpec("people", "first_name", "First name", "text"),
    FieldSpec("people", "last_name", "Last name", "text"),
    FieldSpec("people", "job_title", "Job title", "text"),
    FieldSpec("people", "time_zone", "Time zone", "text"),
    FieldSpec("people", "email", "Email", "email"),
    FieldSpec("people", "owner", "Owner", "owner"),
)
_COMPANY_FIELDS = (
    FieldSpec("companies", "name", "Company name", "text"),
    FieldSpec("companies", "domain", "Company domain", "text"),
)


def field_catalog() -> FieldCatalog:
    """Built-in fields of people, their custom attributes, then the same for companies.

    ``email`` is any of the person's addresses and ``domain`` any of the company's
    domains; a custom attribute keeps its type, options and (relationships) target.
    """
    custom: dict[str, list[FieldSpec]] = {"people": [], "companies": []}
    builtin = {(f.object, f.key) for f in (*_PERSON_FIELDS, *_COMPANY_FIELDS)}
    for attribute in Attribute.objects.order_by("object", "id"):
        if (attribute.object, attribute.slug) in builtin or attribute.object not in custom:
            continue
        custom[attribute.object].append(
            FieldSpec(
                object=attribute.object,
                key=attribute.slug,
                title=attribute.title or attribute.slug,
                type=attribute.type,
                options=tuple(attribute.options or ()),
                is_multiple=attribute.is_multiple,
                target=attribute.target,
                custom=True,
            )
        )
    return FieldCatalog(
        (*_PERSON_FIELDS, *custom["people"], *_COMPANY_FIELDS, *custom["companies"])
    )


# --- Checks against the database --------------------------------------------------------


def usable_sequence(owner: User, sequence_id: int, where: str) -> Sequence:
    """The sequence, if ``owner`` could enroll into it by hand (read and write access,
    published, not archived); else :class:`InvalidInput` naming ``where``."""
    try:
        sequence, _ = access.require_level(owner, sequence_id, Level.READ_WRITE)
    except access.NoAccess:
        raise InvalidInput(
            f"No sequence with id {sequence_id} exists that {owner} can see; choose one of "
            f"{owner}'s sequences, or ask for read and write access to it.",
            field=where,
            code="no_access",
        ) from None
    except access.InsufficientAccess as exc:
        name = Sequence.objects.filter(pk=sequence_id).values_list("name", flat=True).first()
        raise InvalidInput(
            f"{owner} has {exc.have.label.lower()} access to the sequence {name!r}, which "
            "does not let them enroll people into it; ask someone with full access to it "
            "for read and write access.",
            field=where,
            code="insufficient_access",
        ) from None
    if sequence.status == SequenceStatus.ARCHIVED:
        raise InvalidInput(
            f"The sequence {sequence.name!r} is archived; unarchive it or choose another.",
            field=where,
            code="archived",
        )
    if latest_version(sequence) is None:
        raise InvalidInput(
            f"The sequence {sequence.name!r} has never been published; publish it first.",
            field=where,
            code="not_published",
        )
    return sequence


def check_actions(owner: User, definition: Definition) -> None:
    """Refuse actions ``owner`` could not take by hand now (InvalidInput naming the
    action's field). Run at save, and again at each run: access can be revoked."""
    if not owner.is_active:
        raise InvalidInput(
            f"The owner of this workflow, {owner}, is deactivated; give it another owner.",
            field="owner_id",
            code="owner_inactive",
        )
    for index, action in enumerate(definition.actions):
        where = f"actions.{index}"
        sequence = usable_sequence(owner, action.sequence_id, f"{where}.sequence_id")
        if isinstance(action, Enroll) and action.sender.kind == "member":
            member_id = action.sender.member_id
            assert member_id is not None
            if not User.objects.filter(pk=member_id, is_active=True).exists():
                raise InvalidInput(
                    f"No active member with id {member_id} exists.",
                    field=f"{where}.sender.member_id",
                    code="not_found",
                )
            try:
                delegation.sending_mailbox(owner, sequence, member_id=member_id)
            except InvalidInput as exc:
                raise InvalidInput(
                    exc.message, field=f"{where}.{exc.field or 'sender'}", code=exc.code
                ) from None


def _check_references(owner: User, definition: Definition, fields: FieldCatalog) -> None:
    trigger = definition.trigger
    if (
        isinstance(trigger, AddedToList)
        and not PersonList.objects.filter(pk=trigger.list_id).exists()
    ):
        raise InvalidInput(
            f"No list with id {trigger.list_id} exists; choose an existing list.",
            field="trigger.list_id",
            code="not_found",
        )
    for index, condition in enumerate(definition.conditions):
        if condition.value is None or condition.type not in ("owner", "relationship"):
            continue
        where = f"conditions.{index}.value"
        if condition.type == "owner":
            found = User.objects.filter(pk=condition.value).exists()
            what = "member"
        else:
            spec = fields.get(condition.object, condition.attribute)
            target = spec.target if spec is not None else "people"
            model: type[Person] | type[Company] = Company if target == "companies" else Person
            found = model.objects.filter(pk=condition.value).exists()
            what = "company" if target == "companies" else "person"
        if not found:
            raise InvalidInput(
                f"No {what} with id {condition.value} exists.", field=where, code="not_found"
            )
    check_actions(owner, definition)


def _owner_from(user: User, raw: object, current: User | None) -> User | None:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidInput("owner_id is the id of a member.", field="owner_id")
    if current is not None and raw == current.pk:
        return current
    if raw != user.pk and not user.is_admin:
        raise InvalidInput(
            "Only an admin can make someone else the owner of a workflow.",
            field="owner_id",
            code="forbidden",
        )
    owner = User.objects.filter(pk=raw, is_active=True).first() if raw > 0 else None
    if owner is None:
        raise InvalidInput(
            f"No active member with id {raw} exists.", field="owner_id", code="not_found"
        )
    return owner


def definition_of(workflow: Workflow, fields: FieldCatalog | None = None) -> Definition:
    """The stored definition, parsed against today's fields (InvalidInput if it no longer
    fits them: an attribute or an option it uses was removed)."""
    return parse_definition(workflow.definition_json, fields or field_catalog())


def _apply(workflow: Workflow, definition: Definition, owner: User | None) -> None:
    stored = definition.to_json()
    workflow.name = stored["name"]
    workflow.enabled = stored["enabled"]
    workflow.trigger_kind = definition.trigger.kind
    workflow.trigger = stored["trigger"]
    workflow.conditions = stored["conditions"]
    workflow.actions = stored["actions"]
    workflow.owner = owner


def _schedule(workflow: Workflow, definition: Definition, clock: Clock, *, moved: bool) -> None:
    trigger = definition.trigger
    if not workflow.enabled or not isinstance(trigger, Daily):
        workflow.next_run_at = None
    elif moved or workflow.next_run_at is None:
        workflow.next_run_at = next_daily_run(clock.now(), trigger.at, trigger.time_zone)


def _mapping(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "A workflow is an object with name, trigger, conditions and actions.", field=None
        )
    for key in data:
        if key not in _ALL_KEYS:
            raise InvalidInput(
                f"{key} is not a known field; remove it (known: {', '.join(_ALL_KEYS)}).",
                field=str(key),
                code="unknown_field",
            )
    return data


def create_workflow(owner: User, data: Mapping[str, Any], *, clock: Clock) -> Workflow:
    """A new workflow of ``owner`` (or, for an admin, of the member ``owner_id``)."""
    data = _mapping(data)
    fields = field_catalog()
    definition = parse_definition({k: v for k, v in data.items() if k in _DEFINITION_KEYS}, fields)
    chosen = owner if "owner_id" not in data else _owner_from(owner, data["owner_id"], None)
    assert chosen is not None
    _check_references(chosen, definition, fields)
    now = clock.now()
    workflow = Workflow(created_at=now, updated_at=now)
    _apply(workflow, definition, chosen)
    _schedule(workflow, definition, clock, moved=True)
    workflow.save()
    return workflow


def update_workflow(
    user: User, workflow_id: int | str, data: Mapping[str, Any], *, clock: Clock
) -> Workflow:
    """Change the parts of the workflow ``data`` gives (see the module's decisions)."""
    data = _mapping(data)
    with transaction.atomic():
        workflow = _visible_for_update(user, workflow_id)
        merged = {**workflow.definition_json}
        merged.update({k: v for k, v in data.items() if k in _DEFINITION_KEYS})
        fields = field_catalog()
        definition = parse_definition(merged, fields)
        owner = workflow.owner
        if "owner_id" in data:
            owner = _owner_from(user, data["owner_id"], workflow.owner)
        changes_logic = any(k in data for k in ("trigger", "conditions", "actions", "owner_id"))
        if definition.enabled or changes_logic:
            if owner is None:
                raise InvalidInput(
                    "This workflow has no owner (its owner was removed from the workspace); "
                    "choose a member as its owner first.",
                    field="owner_id",
                    code="required",
                )
            _check_references(owner, definition, fields)
        moved = workflow.trigger != definition.trigger.to_json() or not workflow.enabled
        _apply(workflow, definition, owner)
        _schedule(workflow, definition, clock, moved=moved)
        workflow.updated_at = clock.now()
        workflow.save()
    return workflow


def set_enabled(user: User, workflow_id: int | str, enabled: bool, *, clock: Clock) -> Workflow:
    """Turn the workflow on (its references checked again) or off (always allowed)."""
    return update_workflow(user, workflow_id, {"enabled": enabled}, clock=clock)


def delete_workflow(user: User, workflow_id: int | str) -> None:
    """Delete the workflow and its run log (enrollments it made are kept)."""
    get_workflow(user, workflow_id).delete()


# --- Reading --------------------------------------------------------------------------


def visible_workflows(user: User) -> QuerySet[Workflow]:
    """The workflows ``user`` may see: their own, or every one for an admin."""
    workflows = Workflow.objects.select_related("owner").order_by("name", "id")
    if user.is_admin:
        return workflows
    return workflows.filter(owner=user)


def _pk(workflow_id: int | str) -> int:
    try:
        pk = int(workflow_id)
    except (TypeError, ValueError):
        raise WorkflowNotFound(workflow_id) from None
    if not 0 < pk < 2**63:
        raise WorkflowNotFound(workflow_id)
    return pk


def get_workflow(user: User, workflow_id: int | str) -> Workflow:
    workflow = visible_workflows(user).filter(pk=_pk(workflow_id)).first()
    if workflow is None:
        raise WorkflowNotFound(workflow_id)
    return workflow


def _visible_for_update(user: User, workflow_id: int | str) -> Workflow:
    pk = _pk(workflow_id)
    rows = Workflow.objects.select_for_update().filter(pk=pk)
    if not user.is_admin:
        rows = rows.filter(owner=user)
    workflow = rows.first()
    if workflow is None:
        raise WorkflowNotFound(workflow_id)
    return workflow


def runs_of(
    user: User, workflow_id: int | str, *, outcome: str | None = None
) -> QuerySet[WorkflowRun]:
    """The workflow's runs, newest first, each with its entries (prefetched)."""
    workflow = get_workflow(user, workflow_id)
    runs = WorkflowRun.objects.filter(workflow=workflow)
    if outcome:
        runs = runs.filter(outcome=outcome)
    return runs.order_by("-started_at", "-id").prefetch_related(
        Prefetch("entries", queryset=WorkflowRunEntry.objects.order_by("id"))
    )
