"""Workflows, free of storage: what a definition may say, and what its parts mean.

A workflow watches the CRM and acts on people: when its *trigger* fires for a person
who meets its *conditions*, its *actions* run in order. The JSON a client sends (the
API body, the builder's form) is checked by :func:`parse_definition` against the
fields conditions may use (a :class:`FieldCatalog`, read from the database by the
caller) and becomes a :class:`Definition`; every refusal is an :class:`InvalidInput`
naming the part to fix (``trigger.list_id``, ``conditions.0.value``,
``actions.1.sequence_id``).

:func:`condition_holds` decides one condition on a record's value,
:func:`describe_condition` says it in words, and :func:`next_daily_run` finds when a
daily workflow runs next.

Decisions where the design is silent:

- ``is_not`` and ``not_contains`` are exactly the negations of ``is`` and ``contains``,
  empty values included: a person without a stage meets "Stage is not Lost", as a
  salesperson reading the sentence expects.
- ``greater_than`` and ``less_than`` never hold on an empty value (nothing is more
  than 10), nor on a value of another type than the field's.
- An unset checkbox is unchecked: "Newsletter is false" holds for it.
- Text values are compared with surrounding spaces removed, and without case.
- A value list (a person's addresses, a multi-select, a relationship to many) meets
  ``is`` and ``contains`` when one of its items does; it is empty when it has none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import parse_zone

MAX_NAME_LENGTH = 200
MAX_CONDITIONS = 10
MAX_ACTIONS = 5
MAX_TEXT_VALUE = 1_000

OBJECTS = ("people", "companies")
TRIGGER_KINDS = ("person_created", "attribute_changed", "added_to_list", "daily")
ACTION_KINDS = ("enroll", "remove")
SENDER_KINDS = ("record_owner", "member")
ADDRESSES = ("primary", "first_deliverable")

OPERATORS = (
    "is",
    "is_not",
    "contains",
    "not_contains",
    "is_empty",
    "is_not_empty",
    "greater_than",
    "less_than",
)
EMPTY_OPERATORS = ("is_empty", "is_not_empty")
# Which operators apply to which type of field (see the module docstring).
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("is", "is_not", "contains", "not_contains", *EMPTY_OPERATORS),
    "email": ("is", "is_not", "contains", "not_contains", *EMPTY_OPERATORS),
    "number": ("is", "is_not", "greater_than", "less_than", *EMPTY_OPERATORS),
    "date": ("is", "is_not", "greater_than", "less_than", *EMPTY_OPERATORS),
    "checkbox": ("is",),
    "select": ("is", "is_not", *EMPTY_OPERATORS),
    "relationship": ("is", "is_not", *EMPTY_OPERATORS),
    "owner": ("is", "is_not", *EMPTY_OPERATORS),
}
FIELD_TYPES = tuple(OPERATORS_BY_TYPE)

OPERATOR_WORDS = {
    "is": "is",
    "is_not": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "greater_than": "is more than",
    "less_than": "is less than",
}
DATE_WORDS = {"greater_than": "is after", "less_than": "is before"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


# --- The fields conditions may use ---------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may test: a built-in field or a custom attribute."""

    object: str  # "people" or "companies"
    key: str  # the condition's ``attribute``
    title: str
    type: str  # one of FIELD_TYPES
    options: tuple[str, ...] = ()
    is_multiple: bool = False
    # For relationships: what the ids point at ("people" or "companies").
    target: str = ""
    custom: bool = False

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_TYPE.get(self.type, ())


@dataclass(frozen=True)
class FieldCatalog:
    """The fields conditions may use, in the order a builder lists them."""

    fields: tuple[FieldSpec, ...] = ()

    def get(self, obj: str, key: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.object == obj and spec.key == key:
                return spec
        return None

    def of(self, obj: str) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.object == obj)


# --- The definition --------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """``object.attribute operator value``; ``type`` is the field's, from the catalog."""

    object: str
    attribute: str
    operator: str
    value: Any = None
    type: str = "text"

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "attribute": self.attribute,
            "operator": self.operator,
            "value": self.value,
        }


@dataclass(frozen=True)
class PersonCreated:
    kind: Literal["person_created"] = "person_created"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True)
class AttributeChanged:
    object: str
    attribute: str
    # On the new value; None fires on any change of the field.
    condition: Condition | None = None
    kind: Literal["attribute_changed"] = "attribute_changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object,
            "attribute": self.attribute,
            "condition": (
                None
                if self.condition is None
                else {"operator": self.condition.operator, "value": self.condition.value}
            ),
        }


@dataclass(frozen=True)
class AddedToList:
    list_id: int
    kind: Literal["added_to_list"] = "added_to_list"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "list_id": self.list_id}


@dataclass(frozen=True)
class Daily:
    at: time
    time_zone: str
    kind: Literal["daily"] = "daily"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "time": self.at.strftime("%H:%M"), "time_zone": self.time_zone}


Trigger = PersonCreated | AttributeChanged | AddedToList | Daily


@dataclass(frozen=True)
class Sender:
    kind: str  # "record_owner" or "member"
    member_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "member":
            return {"kind": self.kind, "member_id": self.member_id}
        return {"kind": self.kind}


@dataclass(frozen=True)
class Enroll:
    sequence_id: int
    sender: Sender
    address: str = "primary"
    kind: Literal["enroll"] = "enroll"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sequence_id": self.sequence_id,
            "sender": self.sender.to_json(),
            "address": self.address,
        }


@dataclass(frozen=True)
class Remove:
    sequence_id: int
    kind: Literal["remove"] = "remove"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "sequence_id": self.sequence_id}


Action = Enroll | Remove


@dataclass(frozen=True)
class Definition:
    name: str
    enabled: bool
    trigger: Trigger
    conditions: tuple[Condition, ...] = field(default_factory=tuple)
    actions: tuple[Action, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON of the definition (what is stored and answered)."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "trigger": self.trigger.to_json(),
            "conditions": [c.to_json() for c in self.conditions],
            "actions": [a.to_json() for a in self.actions],
        }

    @property
    def sequence_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(a.sequence_id for a in self.actions))


# --- Parsing ---------------------------------------------------------------------------


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _mapping(value: object, where: str, example: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} is an object such as {example}.", field=where)
    return value


def _unknown_keys(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    for key in data:
        if key not in known:
            name = f"{where}.{key}" if where else str(key)
            raise InvalidInput(
                f"{name} is not a known field; remove it (known: {', '.join(known)}).",
                field=name,
                code="unknown_field",
            )


def _choice(value: object, choices: Sequence[str], where: str, what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(
            f"{what} is one of: {', '.join(choices)}; got {_shown(value)}.",
            field=where,
            code="invalid_choice",
        )
    return value


def _id(value: object, where: str, what: str) -> int:
    if not _is_id(value):
        raise InvalidInput(f"{where} is the id of {what}, such as 7.", field=where)
    assert isinstance(value, int)
    return value


def parse_name(value: object, where: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "A workflow needs a name, such as 'Qualified leads get the intro sequence'.",
            field=where,
            code="required",
        )
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"The name is longer than {MAX_NAME_LENGTH} characters.", field=where, code="too_long"
        )
    return name


def parse_time_of_day(value: object, where: str) -> time:
    """``"09:00"`` as a time; anything else names ``where``."""
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidInput(
            f'{where} is a time of day written "HH:MM", such as "09:00"; got {_shown(value)}.',
            field=where,
        )
    return time(int(match[1]), int(match[2]))


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_value(spec: FieldSpec, operator: str, value: object, where: str) -> Any:
    """The condition's value for ``spec`` and ``operator``, as stored."""
    if operator in EMPTY_OPERATORS:
        if value is not None and value != "":
            raise InvalidInput(
                f"{operator} takes no value; remove it or set it to null.", field=where
            )
        return None
    kind = spec.type
    if kind in ("text", "email"):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                f"{spec.title} {OPERATOR_WORDS[operator]} what? Give the text to compare with.",
                field=where,
                code="required",
            )
        if len(value) > MAX_TEXT_VALUE:
            raise InvalidInput(
                f"The value is longer than {MAX_TEXT_VALUE} characters.",
                field=where,
                code="too_long",
            )
        return value.strip()
    if kind == "number":
        if not _is_number(value):
            raise InvalidInput(f"{spec.title} is a number; give a number such as 10.", field=where)
        return value
    if kind == "date":
        if not _is_date(value):
            raise InvalidInput(
                f'{spec.title} is a date; write it "YYYY-MM-DD", such as "2026-03-31".',
                field=where,
            )
        return value
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise InvalidInput(
                f"{spec.title} is a checkbox; the value is true (checked) or false.",
                field=where,
            )
        return value
    if kind == "select":
        if not isinstance(value, str) or value not in spec.options:
            choices = ", ".join(repr(o) for o in spec.options) or "(none yet)"
            raise InvalidInput(
                f"{_shown(value)} is not an option of {spec.title}; choose one of: {choices}.",
                field=where,
                code="unknown_option",
            )
        return value
    # relationship and owner: an id
    what = (
        "a member"
        if kind == "owner"
        else ("a company" if spec.target == "companies" else "a person")
    )
    return _id(value, where, what)


def parse_condition(
    data: object,
    fields: FieldCatalog,
    where: str,
    *,
    with_field: bool = True,
    spec: FieldSpec | None = None,
) -> Condition:
    """One condition; ``with_field`` False for a trigger's condition, whose field is the
    trigger's own (``spec``)."""
    example = (
        '{"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}'
        if with_field
        else '{"operator": "is", "value": "Qualified"}'
    )
    item = _mapping(data, where, example)
    known = ("object", "attribute", "operator", "value") if with_field else ("operator", "value")
    _unknown_keys(item, known, where)
    if with_field:
        obj = _choice(item.get("object"), OBJECTS, f"{where}.object", "object")
        attribute = item.get("attribute")
        spec = fields.get(obj, attribute) if isinstance(attribute, str) else None
        if spec is None:
            names = ", ".join(s.key for s in fields.of(obj))
            raise InvalidInput(
                f"{obj} have no field {_shown(attribute)}; use one of: {names}.",
                field=f"{where}.attribute",
                code="unknown_attribute",
            )
    assert spec is not None
    operator = _choice(item.get("operator"), OPERATORS, f"{where}.operator", "operator")
    if operator not in spec.operators:
        raise InvalidInput(
            f"{spec.title} cannot use {operator}; use one of: {', '.join(spec.operators)}.",
            field=f"{where}.operator",
            code="invalid_operator",
        )
    value = _check_value(spec, operator, item.get("value"), f"{where}.value")
    return Condition(spec.object, spec.key, operator, value, spec.type)


def _parse_trigger(data: object, fields: FieldCatalog) -> Trigger:
    item = _mapping(data, "trigger", '{"kind": "added_to_list", "list_id": 3}')
    kind = _choice(item.get("kind"), TRIGGER_KINDS, "trigger.kind", "trigger.kind")
    if kind == "person_created":
        _unknown_keys(item, ("kind",), "trigger")
        return PersonCreated()
    if kind == "added_to_list":
        _unknown_keys(item, ("kind", "list_id"), "trigger")
        return AddedToList(_id(item.get("list_id"), "trigger.list_id", "a list"))
    if kind == "daily":
        _unknown_keys(item, ("kind", "time", "time_zone"), "trigger")
        at = parse_time_of_day(item.get("time"), "trigger.time")
        zone = item.get("time_zone")
        parse_zone(zone if isinstance(zone, str) else "", field="trigger.time_zone")
        assert isinstance(zone, str)
        return Daily(at, zone)
    _unknown_keys(item, ("kind", "object", "attribute", "condition"), "trigger")
    obj = _choice(item.get("object"), OBJECTS, "trigger.object", "trigger.object")
    attribute = item.get("attribute")
    spec = fields.get(obj, attribute) if isinstance(attribute, str) else None
    if spec is None:
        names = ", ".join(s.key for s in fields.of(obj))
        raise InvalidInput(
            f"{obj} have no field {_shown(attribute)}; use one of: {names}.",
            field="trigger.attribute",
            code="unknown_attribute",
        )
    raw = item.get("condition")
    condition = (
        None
        if raw is None
        else parse_condition(raw, fields, "trigger.condition", with_field=False, spec=spec)
    )
    return AttributeChanged(spec.object, spec.key, condition)


def _parse_action(data: object, where: str) -> Action:
    item = _mapping(data, where, '{"kind": "enroll", "sequence_id": 7}')
    kind = _choice(item.get("kind"), ACTION_KINDS, f"{where}.kind", "An action's kind")
    if kind == "remove":
        _unknown_keys(item, ("kind", "sequence_id"), where)
        return Remove(_id(item.get("sequence_id"), f"{where}.sequence_id", "a sequence"))
    _unknown_keys(item, ("kind", "sequence_id", "sender", "address"), where)
    sequence_id = _id(item.get("sequence_id"), f"{where}.sequence_id", "a sequence")
    raw_sender = item.get("sender")
    if raw_sender is None:
        raise InvalidInput(
            'Choose who sends: {"kind": "record_owner"} (the person\'s owner) or '
            '{"kind": "member", "member_id": 4}.',
            field=f"{where}.sender",
            code="required",
        )
    sender_data = _mapping(raw_sender, f"{where}.sender", '{"kind": "record_owner"}')
    sender_kind = _choice(
        sender_data.get("kind"), SENDER_KINDS, f"{where}.sender.kind", "The sender's kind"
    )
    if sender_kind == "member":
        _unknown_keys(sender_data, ("kind", "member_id"), f"{where}.sender")
        sender = Sender(
            "member", _id(sender_data.get("member_id"), f"{where}.sender.member_id", "a member")
        )
    else:
        _unknown_keys(sender_data, ("kind",), f"{where}.sender")
        sender = Sender("record_owner")
    address = item.get("address", "primary")
    address = _choice(
        "primary" if address is None else address, ADDRESSES, f"{where}.address", "address"
    )
    return Enroll(sequence_id, sender, address)


def parse_definition(data: Mapping[str, Any], fields: FieldCatalog) -> Definition:
    """The definition ``data`` describes, or :class:`InvalidInput` naming what to fix.

    Never raises anything else, whatever JSON it is given. Whether the lists, sequences
    and members it names exist (and may be used) is for the caller to check.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "A workflow is an object with name, trigger, conditions and actions.", field=None
        )
    _unknown_keys(data, ("name", "enabled", "trigger", "conditions", "actions"), "")
    name = parse_name(data.get("name"))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled is true or false.", field="enabled")
    if data.get("trigger") is None:
        raise InvalidInput(
            'Choose what starts the workflow, such as {"kind": "added_to_list", "list_id": 3}.',
            field="trigger",
            code="required",
        )
    trigger = _parse_trigger(data.get("trigger"), fields)
    raw_conditions = data.get("conditions")
    if raw_conditions is None:
        raw_conditions = []
    if not isinstance(raw_conditions, list | tuple):
        raise InvalidInput("conditions is a list (empty for everyone).", field="conditions")
    if len(raw_conditions) > MAX_CONDITIONS:
        raise InvalidInput(
            f"A workflow has at most {MAX_CONDITIONS} conditions.",
            field="conditions",
            code="too_many",
        )
    conditions = tuple(
        parse_condition(c, fields, f"conditions.{i}") for i, c in enumerate(raw_conditions)
    )
    raw_actions = data.get("actions")
    if not isinstance(raw_actions, list | tuple) or not raw_actions:
        raise InvalidInput(
            'A workflow needs at least one action, such as {"kind": "enroll", '
            '"sequence_id": 7, "sender": {"kind": "record_owner"}}.',
            field="actions",
            code="required",
        )
    if len(raw_actions) > MAX_ACTIONS:
        raise InvalidInput(
            f"A workflow has at most {MAX_ACTIONS} actions.", field="actions", code="too_many"
        )
    actions = tuple(_parse_action(a, f"actions.{i}") for i, a in enumerate(raw_actions))
    return Definition(name, enabled, trigger, conditions, actions)


# --- Deciding conditions ---------------------------------------------------------------


def is_empty(value: object) -> bool:
    """No value: None, blank text, or an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_empty(item) for item in value)
    return False


def _items(value: object) -> list[object]:
    if isinstance(value, list | tuple | set | frozenset):
        return [item for item in value if not is_empty(item)]
    return [] if is_empty(value) else [value]


def _fold(text: str) -> str:
    return text.strip().casefold()


def _equal(kind: str, item: object, wanted: object) -> bool:
    if kind in ("text", "email"):
        return isinstance(item, str) and isinstance(wanted, str) and _fold(item) == _fold(wanted)
    if kind == "number":
        return _is_number(item) and _is_number(wanted) and item == wanted
    if kind in ("relationship", "owner"):
        return _is_id(item) and item == wanted
    return type(item) is type(wanted) and item == wanted


def _order(kind: str, item: object, wanted: object) -> int | None:
    """-1, 0 or 1 comparing ``item`` with ``wanted``; None when they do not compare."""
    if kind == "number" and _is_number(item) and _is_number(wanted):
        a, b = float(item), float(wanted)  # type: ignore[arg-type]
    elif kind == "date" and _is_date(item) and _is_date(wanted):
        a, b = item, wanted  # type: ignore[assignment]  # ISO dates sort as text
    else:
        return None
    return (a > b) - (a < b)


def condition_holds(condition: Condition, value: object) -> bool:
    """Whether a record whose field holds ``value`` meets ``condition``.

    ``value`` is the field as the record has it: text, a number, an ISO date, a bool,
    an id, or a list of these (addresses, multi-select, relationships to many).
    """
    operator, wanted, kind = condition.operator, condition.value, condition.type
    if operator == "is_empty":
        return is_empty(value)
    if operator == "is_not_empty":
        return not is_empty(value)
    if operator == "is_not":
        return not condition_holds(_with(condition, "is"), value)
    if operator == "not_contains":
        return not condition_holds(_with(condition, "contains"), value)
    if kind == "checkbox":
        return operator == "is" and (value is True) == (wanted is True)
    items = _items(value)
    if operator == "is":
        return any(_equal(kind, item, wanted) for item in items)
    if operator == "contains":
        return isinstance(wanted, str) and any(
            isinstance(item, str) and _fold(wanted) in _fold(item) for item in items
        )
    if operator in ("greater_than", "less_than"):
        sign = 1 if operator == "greater_than" else -1
        return any(_order(kind, item, wanted) == sign for item in items)
    return False


def _with(condition: Condition, operator: str) -> Condition:
    return Condition(
        condition.object, condition.attribute, operator, condition.value, condition.type
    )


def _value_words(condition: Condition, value_label: str | None) -> str:
    if value_label is not None:
        return value_label
    value = condition.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if condition.type in ("relationship", "owner") and value is not None:
        return f"#{value}"
    return str(value)


def describe_condition(condition: Condition, title: str, value_label: str | None = None) -> str:
    """The condition as a sentence: "Stage is Qualified", "Job title contains Head".

    ``value_label`` names an id's record ("Ada Admin" for member 3) when the caller
    knows it; else the id is shown as ``#3``.
    """
    operator = condition.operator
    if condition.type == "checkbox":
        return f"{title} is {'checked' if condition.value is True else 'not checked'}"
    if operator in EMPTY_OPERATORS:
        return f"{title} {OPERATOR_WORDS[operator]}"
    words = OPERATOR_WORDS[operator]
    if condition.type == "date":
        words = DATE_WORDS.get(operator, words)
    return f"{title} {words} {_value_words(condition, value_label)}"


def describe_value(value: object) -> str:
    """A record's value in words, for log messages ("empty" when it has none)."""
    if is_empty(value):
        return "empty"
    if isinstance(value, bool):
        return "checked" if value else "not checked"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in _items(value))
    return str(value)


def describe_miss(
    condition: Condition, title: str, new_value: object, value_label: str | None = None
) -> str:
    """Why a change of a watched field did not fire: "Stage changed to Lost, not
    Qualified" for ``is``; else the unmet condition after the new value."""
    now = describe_value(new_value)
    if condition.operator == "is" and condition.type != "checkbox":
        return f"{title} changed to {now}, not {_value_words(condition, value_label)}"
    return (
        f"{title} changed to {now}, which does not meet "
        f'"{describe_condition(condition, title, value_label)}"'
    )


# --- Daily runs --------------------------------------------------------------------------


def _first_instant_after_gap(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a local ``at`` on ``day`` stands for: its first occurrence when the
    clocks go back, the first instant after the gap when ``at`` falls in one."""
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # ``at`` does not exist on ``day``. With fold=1 the later offset is used, which lands
    # before the gap; with fold=0 (above) the earlier one, which lands after it. The gap
    # starts where the zone's offset changes between the two: search for that instant.
    low = wall.replace(fold=1).astimezone(UTC)
    high = instant
    if low > high:
        low, high = high, low
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def next_daily_run(after: datetime, at: time, zone: str) -> datetime:
    """The first instant strictly after ``after`` (aware) when the local time in ``zone``
    is ``at``, in UTC.

    On a day when ``at`` does not exist (clocks go forward over it), the run is at the
    first instant after the gap (02:30 on a day that jumps from 02:00 to 03:00 runs at
    03:00); on a day when ``at`` happens twice, at its first occurrence.
    """
    if after.tzinfo is None:
        raise ValueError("next_daily_run needs an aware datetime")
    tz = parse_zone(zone, field="trigger.time_zone")
    start = after.astimezone(tz).date() - timedelta(days=1)
    for offset in range(4):
        candidate = _first_instant_after_gap(start + timedelta(days=offset), at, tz)
        if candidate > after:
            return candidate
    # Unreachable for real zones (a local day lasts at most 26 hours); kept total.
    return _first_instant_after_gap(start + timedelta(days=4), at, tz)
