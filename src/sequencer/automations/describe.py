"""Workflows in words, for pages and logs: "When a person is added to the list Q3
prospects", "Job title contains Head", "Enroll in Intro, sent by the person's owner".

:func:`describe_many` names the lists, sequences and members of any number of
workflows in a fixed number of queries, so a page listing workflows does not make more
queries for more rows. A stored definition that no longer parses (a field it uses was
deleted) is described from its JSON as well as can be, never refused here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sequencer.automations.models import Workflow
from sequencer.automations.workflows import field_catalog
from sequencer.crm.models import PersonList
from sequencer.domain.errors import InvalidInput
from sequencer.domain.workflows import (
    Condition,
    FieldCatalog,
    describe_condition,
    parse_condition,
)
from sequencer.sequences.models import Sequence
from sequencer.workspace.models import User

__all__ = ["Described", "describe_many", "describe_workflow"]


@dataclass(frozen=True)
class Described:
    trigger: str
    conditions: list[str]
    actions: list[str]


@dataclass(frozen=True)
class _Names:
    lists: Mapping[int, str]
    sequences: Mapping[int, str]
    members: Mapping[int, str]


def _ids(values: Iterable[object]) -> set[int]:
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


def _names(workflows: list[Workflow]) -> _Names:
    list_ids = _ids(w.trigger.get("list_id") for w in workflows if isinstance(w.trigger, dict))
    sequence_ids = _ids(
        a.get("sequence_id") for w in workflows for a in w.actions if isinstance(a, dict)
    )
    member_ids = _ids(
        (a.get("sender") or {}).get("member_id")
        for w in workflows
        for a in w.actions
        if isinstance(a, dict) and isinstance(a.get("sender"), dict)
    )
    member_ids |= _ids(
        c.get("value")
        for w in workflows
        for c in [*w.conditions, (w.trigger or {}).get("condition") or {}]
        if isinstance(c, dict) and c.get("attribute", (w.trigger or {}).get("attribute")) == "owner"
    )
    return _Names(
        lists=dict(PersonList.objects.filter(pk__in=list_ids).values_list("pk", "name"))
        if list_ids
        else {},
        sequences=dict(Sequence.objects.filter(pk__in=sequence_ids).values_list("pk", "name"))
        if sequence_ids
        else {},
        members={u.pk: str(u) for u in User.objects.filter(pk__in=member_ids)}
        if member_ids
        else {},
    )


def _condition(
    data: object, fields: FieldCatalog, names: _Names, *, trigger: Mapping[str, Any] | None = None
) -> str:
    try:
        if trigger is None:
            condition = parse_condition(data, fields, "condition")
        else:
            spec = fields.get(str(trigger.get("object")), str(trigger.get("attribute")))
            if spec is None:
                raise InvalidInput("gone")
            condition = parse_condition(data, fields, "condition", with_field=False, spec=spec)
    except InvalidInput:
        return "A condition on a field that no longer exists"
    return _sentence(condition, fields, names)


def _sentence(condition: Condition, fields: FieldCatalog, names: _Names) -> str:
    spec = fields.get(condition.object, condition.attribute)
    title = spec.title if spec is not None else condition.attribute
    label = None
    if condition.type == "owner" and isinstance(condition.value, int):
        label = names.members.get(condition.value)
    return describe_condition(condition, title, label)


def _trigger(trigger: Mapping[str, Any], fields: FieldCatalog, names: _Names) -> str:
    kind = trigger.get("kind")
    if kind == "person_created":
        return "When a person is created"
    if kind == "added_to_list":
        list_id = trigger.get("list_id")
        name = names.lists.get(list_id) if isinstance(list_id, int) else None
        return f"When a person is added to the list {name or 'that was deleted'}"
    if kind == "daily":
        return f"Every day at {trigger.get('time')} ({trigger.get('time_zone')})"
    obj, attribute = str(trigger.get("object")), str(trigger.get("attribute"))
    spec = fields.get(obj, attribute)
    title = spec.title if spec is not None else attribute
    text = (
        f"When a company's {title} changes (for each of its people)"
        if obj == "companies"
        else f"When a person's {title} changes"
    )
    condition = trigger.get("condition")
    if isinstance(condition, Mapping):
        text += f", if {_condition(condition, fields, names, trigger=trigger)}"
    return text


def _action(action: Mapping[str, Any], names: _Names) -> str:
    sequence_id = action.get("sequence_id")
    sequence = names.sequences.get(sequence_id) if isinstance(sequence_id, int) else None
    shown = sequence or "a sequence that was deleted"
    if action.get("kind") == "remove":
        return f"Remove from {shown}"
    sender = action.get("sender") or {}
    if sender.get("kind") == "member":
        member_id = sender.get("member_id")
        who = names.members.get(member_id) if isinstance(member_id, int) else None
        by = f"sent by {who or 'a member who left'}"
    else:
        by = "sent by the person's owner"
    text = f"Enroll in {shown}, {by}"
    if action.get("address") == "first_deliverable":
        text += ", to their first address that has not bounced"
    return text


def describe_many(
    workflows: Iterable[Workflow], fields: FieldCatalog | None = None
) -> dict[int, Described]:
    """Each workflow in words, by id (a fixed number of queries whatever their number)."""
    rows = list(workflows)
    fields = fields or field_catalog()
    names = _names(rows)
    return {
        w.pk: Described(
            trigger=_trigger(w.trigger or {}, fields, names),
            conditions=[_condition(c, fields, names) for c in w.conditions or []],
            actions=[_action(a, names) for a in w.actions or [] if isinstance(a, Mapping)],
        )
        for w in rows
    }


def describe_workflow(workflow: Workflow, fields: FieldCatalog | None = None) -> Described:
    return describe_many([workflow], fields)[workflow.pk]
