"""The workflow builder's form: what a salesperson picked, as the definition the service takes.

The form posts plain controls (``trigger_kind``, ``conditions-0-field``,
``actions-1-sequence_id`` ...); :func:`posted` reads them back, :func:`definition` turns
them into the JSON of the workflow's definition, and :func:`place_error` puts the
service's :class:`InvalidInput` (``conditions.0.value``, ``actions.0.sequence_id``)
next to the control it names. "Add condition", "Remove" and the field selects post the
same form without saving (:func:`apply_change`), so the builder works without
JavaScript and htmx only redraws it in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from sequencer.domain.errors import InvalidInput
from sequencer.web.automations.fields import NO_VALUE, Catalog, Field

MAX_CONDITIONS = 10
MAX_ACTIONS = 5
RECORD_OWNER = "record_owner"
# The "When" choices whose part of the form asks for a field of people or of companies.
CHANGE_KINDS = {"attribute_changed_people": "people", "attribute_changed_companies": "companies"}
ANY_CHANGE = ""  # the change's operator when any new value will do


@dataclass
class Comparison:
    """A field, an operator and a value: one "Only if" row, or what a change must be."""

    prefix: str  # the names' and ids' prefix: "conditions-0", "change-people"
    field_key: str
    operator: str
    value: str
    fld: Field | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # The value select's options (checkbox, select and owner fields): see offer_values.
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """What its controls are called for a screen reader: "Condition 2", "Changed field"."""
        if self.prefix.startswith("conditions-"):
            return f"Condition {int(self.prefix.removeprefix('conditions-')) + 1}"
        return "Changed field" if self.prefix == "change-people" else "Changed company field"

    @property
    def needs_value(self) -> bool:
        return self.operator not in NO_VALUE and self.operator != ANY_CHANGE


@dataclass
class ActionRow:
    prefix: str  # "actions-0"
    kind: str  # "enroll" or "remove"
    sequence_id: str
    sender: str  # RECORD_OWNER or "member:<id>"
    address: str  # "primary" or "first_deliverable"
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class BuilderForm:
    name: str = ""
    enabled: bool = True
    owner_id: str = ""  # whose access it acts with (admins choose; others own it)
    trigger_kind: str = "added_to_list"
    list_id: str = ""
    changes: dict[str, Comparison] = field(default_factory=dict)  # by object
    time: str = "09:00"
    time_zone: str = "UTC"
    conditions: list[Comparison] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    general_error: str = ""
    focus: str = ""  # the id of the control to focus when the form is shown again

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.general_error
            or any(c.errors for c in self.conditions)
            or any(c.errors for c in self.changes.values())
            or any(a.errors for a in self.actions)
        )

    @property
    def can_add_condition(self) -> bool:
        return len(self.conditions) < MAX_CONDITIONS

    @property
    def can_add_action(self) -> bool:
        return len(self.actions) < MAX_ACTIONS


# --- Building the form ------------------------------------------------------------------


def _comparison(prefix: str, key: str, operator: str, value: str, catalog: Catalog) -> Comparison:
    """A comparison whose operator and value fit its field (reset when the field changed)."""
    obj = prefix.removeprefix("change-") if prefix.startswith("change-") else None
    fld = catalog.get(key)
    if fld is None or (obj is not None and fld.object != obj):
        offered = catalog.of(obj) if obj else list(catalog.fields)
        fld = offered[0] if offered else catalog.first
    allowed = list(fld.operators)
    if prefix.startswith("change-"):
        allowed.insert(0, ANY_CHANGE)
    if operator not in allowed:
        operator = allowed[0]
    # A value the new field does not offer (after the field was changed) is dropped.
    if fld.type in ("select", "checkbox") and value not in {v for v, _ in value_choices(fld, [])}:
        value = ""
    return Comparison(prefix, fld.key, operator, value, fld)


def value_choices(fld: Field, members: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """The options of a value select (checkbox, select and owner fields)."""
    if fld.type == "checkbox":
        return [("true", "Checked"), ("false", "Not checked")]
    if fld.type == "select":
        return [(o, o) for o in fld.options]
    if fld.type == "owner":
        return [(str(pk), name) for pk, name in members]
    return []


def offer_values(form: BuilderForm, members: list[tuple[int, str]]) -> None:
    """Give every comparison the options of its value select."""
    for row in [*form.conditions, *form.changes.values()]:
        row.choices = value_choices(row.fld, members) if row.fld else []


def _blank_changes(catalog: Catalog) -> dict[str, Comparison]:
    return {
        obj: _comparison(f"change-{obj}", "", ANY_CHANGE, "", catalog)
        for obj in ("people", "companies")
    }


def new_condition(index: int, catalog: Catalog) -> Comparison:
    return _comparison(f"conditions-{index}", catalog.first.key, "", "", catalog)


def new_action(index: int) -> ActionRow:
    return ActionRow(f"actions-{index}", "enroll", "", RECORD_OWNER, "primary")


def blank(catalog: Catalog, time_zone: str) -> BuilderForm:
    return BuilderForm(
        changes=_blank_changes(catalog), time_zone=time_zone, actions=[new_action(0)]
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def from_definition(
    name: str,
    enabled: bool,
    trigger: Mapping[str, Any],
    conditions: list[Mapping[str, Any]],
    actions: list[Mapping[str, Any]],
    catalog: Catalog,
    time_zone: str,
) -> BuilderForm:
    """The form showing a saved workflow."""
    form = blank(catalog, time_zone)
    form.name, form.enabled = name, enabled
    kind = str(trigger.get("kind", ""))
    if kind == "attribute_changed":
        obj = "companies" if trigger.get("object") == "companies" else "people"
        kind = f"attribute_changed_{obj}"
        condition = trigger.get("condition") or {}
        form.changes[obj] = _comparison(
            f"change-{obj}",
            f"{obj}:{trigger.get('attribute', '')}",
            str(condition.get("operator", ANY_CHANGE)),
            _text(condition.get("value")),
            catalog,
        )
        _flag_deleted_field(form.changes[obj], obj, str(trigger.get("attribute", "")), catalog)
    form.trigger_kind = kind
    form.list_id = _text(trigger.get("list_id"))
    form.time = str(trigger.get("time", form.time))
    form.time_zone = str(trigger.get("time_zone", form.time_zone))
    form.conditions = [
        _comparison(
            f"conditions-{i}",
            f"{c.get('object', 'people')}:{c.get('attribute', '')}",
            str(c.get("operator", "")),
            _text(c.get("value")),
            catalog,
        )
        for i, c in enumerate(conditions)
    ]
    for row, condition in zip(form.conditions, conditions, strict=True):
        obj = str(condition.get("object", "people"))
        _flag_deleted_field(row, obj, str(condition.get("attribute", "")), catalog)
    form.actions = [_action_row(i, a) for i, a in enumerate(actions)] or [new_action(0)]
    if form.has_errors:
        form.general_error = (
            "This workflow uses a field that was deleted, so it does not run; "
            "choose another field below and save."
        )
    return form


def _flag_deleted_field(row: Comparison, obj: str, attribute: str, catalog: Catalog) -> None:
    """A saved comparison whose field was deleted since shows another field: say so next
    to it, rather than let the workflow be saved with a field nobody chose."""
    if catalog.find(obj, attribute) is None:
        row.errors["field"] = (
            f"The field this used ({attribute}) was deleted; choose another field"
            + (" or remove the condition." if row.prefix.startswith("conditions-") else ".")
        )


def _action_row(index: int, action: Mapping[str, Any]) -> ActionRow:
    sender = action.get("sender") or {}
    chosen = f"member:{sender.get('member_id')}" if sender.get("kind") == "member" else RECORD_OWNER
    return ActionRow(
        f"actions-{index}",
        "remove" if action.get("kind") == "remove" else "enroll",
        _text(action.get("sequence_id")),
        chosen,
        "first_deliverable" if action.get("address") == "first_deliverable" else "primary",
    )


def _indexes(data: QueryDict, group: str, part: str) -> list[int]:
    found = {
        int(m[1]) for key in data if (m := re.fullmatch(rf"{group}-(\d+)-{part}", key)) is not None
    }
    return sorted(found)


def posted(data: QueryDict, catalog: Catalog) -> BuilderForm:
    """The form as it was sent (rows renumbered from 0 in the order they came)."""
    form = BuilderForm(
        name=data.get("name", ""),
        enabled=data.get("enabled") == "on",
        owner_id=data.get("owner_id", ""),
        trigger_kind=data.get("trigger_kind", ""),
        list_id=data.get("list_id", ""),
        time=data.get("time", ""),
        time_zone=data.get("time_zone", ""),
    )
    for obj in ("people", "companies"):
        prefix = f"change-{obj}"
        form.changes[obj] = _comparison(
            prefix,
            data.get(f"{prefix}-field", ""),
            data.get(f"{prefix}-operator", ANY_CHANGE),
            data.get(f"{prefix}-value", ""),
            catalog,
        )
    form.conditions = [
        _comparison(
            f"conditions-{n}",
            data.get(f"conditions-{i}-field", ""),
            data.get(f"conditions-{i}-operator", ""),
            data.get(f"conditions-{i}-value", ""),
            catalog,
        )
        for n, i in enumerate(_indexes(data, "conditions", "field")[:MAX_CONDITIONS])
    ]
    form.actions = [
        ActionRow(
            f"actions-{n}",
            data.get(f"actions-{i}-kind", "enroll"),
            data.get(f"actions-{i}-sequence_id", ""),
            data.get(f"actions-{i}-sender", RECORD_OWNER),
            data.get(f"actions-{i}-address", "primary"),
        )
        for n, i in enumerate(_indexes(data, "actions", "kind")[:MAX_ACTIONS])
    ]
    return form


# --- Add, remove, redraw ---------------------------------------------------------------


def _renumber(form: BuilderForm) -> None:
    for i, row in enumerate(form.conditions):
        row.prefix = f"conditions-{i}"
    for i, action in enumerate(form.actions):
        action.prefix = f"actions-{i}"


def _position(data: QueryDict, name: str) -> int | None:
    value = data.get(name, "")
    return int(value) if value.isdigit() else None


def apply_change(form: BuilderForm, data: QueryDict, catalog: Catalog) -> bool:
    """Apply "Add condition", "Remove", ... if that is what was clicked; False for Save."""
    if "add_condition" in data:
        if form.can_add_condition:
            form.conditions.append(new_condition(len(form.conditions), catalog))
            form.focus = f"{form.conditions[-1].prefix}-field"
        return True
    if "add_action" in data:
        if form.can_add_action:
            form.actions.append(new_action(len(form.actions)))
            form.focus = f"{form.actions[-1].prefix}-kind"
        return True
    removed = _position(data, "remove_condition")
    if removed is not None:
        if removed < len(form.conditions):
            del form.conditions[removed]
        _renumber(form)
        form.focus = "add-condition"
        return True
    removed = _position(data, "remove_action")
    if removed is not None:
        if removed < len(form.actions) and len(form.actions) > 1:
            del form.actions[removed]
        _renumber(form)
        form.focus = "add-action"
        return True
    if "refresh" in data:
        changed = data.get("changed", "")
        form.focus = changed if re.fullmatch(r"[\w-]{1,60}", changed) else ""
        return True
    return False


# --- To the service and back --------------------------------------------------------------


def _typed(fld: Field | None, text: str) -> Any:
    """The JSON value of what was typed or picked, as the definition holds it."""
    text = text.strip()
    if fld is None:
        return text
    if fld.type == "checkbox":
        return {"true": True, "false": False}.get(text, text)
    if fld.type == "number":
        for number in (int, float):
            try:
                return number(text)
            except ValueError:
                continue
        return text
    if fld.type in ("owner", "relationship") and text.isdigit():
        return int(text)
    return text


def _id_or_none(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def _compared(row: Comparison) -> dict[str, Any]:
    return {
        "operator": row.operator,
        "value": _typed(row.fld, row.value) if row.needs_value else None,
    }


def _trigger(form: BuilderForm) -> dict[str, Any]:
    kind = form.trigger_kind
    if kind in CHANGE_KINDS:
        obj = CHANGE_KINDS[kind]
        change = form.changes[obj]
        attribute = change.fld.attribute if change.fld else change.field_key
        return {
            "kind": "attribute_changed",
            "object": obj,
            "attribute": attribute,
            "condition": None if change.operator == ANY_CHANGE else _compared(change),
        }
    if kind == "added_to_list":
        return {"kind": kind, "list_id": _id_or_none(form.list_id)}
    if kind == "daily":
        return {"kind": kind, "time": form.time.strip()[:5], "time_zone": form.time_zone}
    return {"kind": kind}


def _action(row: ActionRow) -> dict[str, Any]:
    if row.kind == "remove":
        return {"kind": "remove", "sequence_id": _id_or_none(row.sequence_id)}
    if row.sender.startswith("member:"):
        sender: dict[str, Any] = {
            "kind": "member",
            "member_id": _id_or_none(row.sender.removeprefix("member:")),
        }
    else:
        sender = {"kind": RECORD_OWNER}
    return {
        "kind": "enroll",
        "sequence_id": _id_or_none(row.sequence_id),
        "sender": sender,
        "address": row.address,
    }


def definition(form: BuilderForm) -> dict[str, Any]:
    """The definition the service validates and saves."""
    return {
        "name": form.name,
        "enabled": form.enabled,
        "trigger": _trigger(form),
        "conditions": [
            {
                "object": row.fld.object if row.fld else "people",
                "attribute": row.fld.attribute if row.fld else row.field_key,
                **_compared(row),
            }
            for row in form.conditions
        ],
        "actions": [_action(row) for row in form.actions],
    }


_ROW = re.compile(r"(conditions|actions)\.(\d+)(?:\.(\w+))?(?:\.(\w+))?")
_CONDITION_PART = {
    "object": "field",
    "attribute": "field",
    "operator": "operator",
    "value": "value",
}
_ACTION_PART = {
    "kind": "kind",
    "sequence_id": "sequence_id",
    "sender": "sender",
    "address": "address",
}
_TRIGGER_PART = {
    "kind": "trigger_kind",
    "list_id": "list_id",
    "time": "time",
    "time_zone": "time_zone",
}
_TOP_LEVEL = ("name", "enabled", "owner_id")


# What to say instead of the API's words ("actions.0.sequence_id is the id of a
# sequence, such as 7.") when the message names the field by its path: the control next
# to which it shows was left empty or holds something the page never offers.
_PLAIN_WORDS = {
    "list_id": "Choose the list.",
    "sequence_id": "Choose a sequence.",
    "member_id": "Choose who sends the emails.",
    "sender": "Choose who sends the emails.",
    "value": "Fill in the value to compare with.",
    "time": "Give a time of day, such as 09:00.",
    "time_zone": "Choose a time zone.",
    "address": "Choose which address to write to.",
    "kind": "Choose what to do.",
    "operator": "Choose how to compare.",
}


def _plain(path: str, message: str) -> str:
    if not path or path not in message:
        return message
    return _PLAIN_WORDS.get(path.rsplit(".", 1)[-1], message)


def place_error(form: BuilderForm, error: InvalidInput) -> None:
    """Put ``error`` next to the control its field path names; else at the form's top."""
    path = error.field or ""
    message = _plain(path, error.message)
    if path in _TOP_LEVEL:
        form.errors[path] = message
    elif path == "trigger" or path.startswith("trigger."):
        _place_trigger_error(form, path.removeprefix("trigger").lstrip("."), message)
    elif (match := _ROW.fullmatch(path)) is not None:
        _place_row_error(form, match, message)
    elif path in ("conditions", "actions"):
        form.errors[path] = message
    else:
        form.general_error = message
    form.focus = _first_error_control(form)


def _place_trigger_error(form: BuilderForm, part: str, message: str) -> None:
    if part.split(".")[0] in ("object", "attribute", "condition") and (
        form.trigger_kind in CHANGE_KINDS
    ):
        change = form.changes[CHANGE_KINDS[form.trigger_kind]]
        if part.startswith("condition.value"):
            change.errors["value"] = message
        elif part.startswith("condition"):
            change.errors["operator"] = message
        else:
            change.errors["field"] = message
        return
    form.errors[_TRIGGER_PART.get(part, "trigger_kind")] = message


def _place_row_error(form: BuilderForm, match: re.Match[str], message: str) -> None:
    group, index, part = match[1], int(match[2]), match[3] or ""
    if group == "conditions" and index < len(form.conditions):
        form.conditions[index].errors[_CONDITION_PART.get(part, "field")] = message
    elif group == "actions" and index < len(form.actions):
        form.actions[index].errors[_ACTION_PART.get(part, "sequence_id")] = message
    else:
        form.errors[group] = message


def _first_error_control(form: BuilderForm) -> str:
    for key in ("name", "owner_id"):
        if key in form.errors:
            return key
    for key in ("trigger_kind", "list_id", "time", "time_zone"):
        if key in form.errors:
            return key
    for change in form.changes.values():
        for part in ("field", "operator", "value"):
            if part in change.errors:
                return f"{change.prefix}-{part}"
    for row in form.conditions:
        for part in ("field", "operator", "value"):
            if part in row.errors:
                return f"{row.prefix}-{part}"
    for action in form.actions:
        for part in ("kind", "sequence_id", "sender", "address"):
            if part in action.errors:
                return f"{action.prefix}-{part}"
    return ""
