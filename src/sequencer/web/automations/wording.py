"""A workflow's definition in a salesperson's words.

"When a person is added to Qualified leads", "Only if Job title contains “Head”",
"Enroll in Intro, sent by the record's owner". The ids a definition holds (lists,
sequences, members) are turned into names read for all shown workflows at once
(:func:`names_for`), so a page of workflows costs the same queries as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sequencer.crm.models import PersonList
from sequencer.sequences.models import Sequence as EmailSequence
from sequencer.web.automations.fields import NO_VALUE, Catalog, Field
from sequencer.workspace.models import User

TRIGGER_KINDS: list[tuple[str, str]] = [
    ("person_created", "A person is created"),
    ("attribute_changed_people", "A person's field changes"),
    ("attribute_changed_companies", "A company's field changes"),
    ("added_to_list", "A person is added to a list"),
    ("daily", "Every day at…"),
]


@dataclass
class Names:
    lists: dict[int, str] = field(default_factory=dict)
    sequences: dict[int, str] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)

    def list_name(self, list_id: object) -> str:
        return self.lists.get(_id(list_id), "a list that was deleted")

    def sequence_name(self, sequence_id: object) -> str:
        return self.sequences.get(_id(sequence_id), "a sequence that was deleted")

    def member_name(self, member_id: object) -> str:
        return self.members.get(_id(member_id), "a former member")


def _id(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def member_label(user: User) -> str:
    return user.name or user.email


def names_for(definitions: Iterable[tuple[Mapping, Sequence[Mapping], Sequence[Mapping]]]) -> Names:
    """The names of every list, sequence and member the definitions refer to (3 queries)."""
    list_ids: set[int] = set()
    sequence_ids: set[int] = set()
    member_ids: set[int] = set()
    for trigger, conditions, actions in definitions:
        if trigger.get("kind") == "added_to_list":
            list_ids.add(_id(trigger.get("list_id")))
        if trigger.get("attribute") == "owner":
            member_ids.add(_id((trigger.get("condition") or {}).get("value")))
        for condition in conditions:
            if condition.get("attribute") == "owner":
                member_ids.add(_id(condition.get("value")))
        for action in actions:
            sequence_ids.add(_id(action.get("sequence_id")))
            sender = action.get("sender") or {}
            if sender.get("kind") == "member":
                member_ids.add(_id(sender.get("member_id")))
    names = Names()
    if list_ids:
        names.lists = dict(PersonList.objects.filter(pk__in=list_ids).values_list("pk", "name"))
    if sequence_ids:
        names.sequences = {
            s.pk: s.display_name for s in EmailSequence.objects.filter(pk__in=sequence_ids)
        }
    if member_ids:
        names.members = {u.pk: member_label(u) for u in User.objects.filter(pk__in=member_ids)}
    return names


def value_words(fld: Field | None, value: Any, names: Names) -> str:
    if fld is not None and fld.type == "checkbox":
        return "checked" if value is True else "not checked"
    if fld is not None and fld.type == "owner":
        return names.member_name(value)
    if isinstance(value, str) and fld is not None and fld.type in ("text", "email"):
        return f"“{value}”"
    return str(value)


def condition_words(
    fld: Field | None, attribute: str, operator: str, value: Any, names: Names
) -> str:
    """ "Job title contains “Head”", "Stage is Qualified", "Owner is empty"."""
    title = fld.label if fld else attribute
    words = fld.operator_words(operator) if fld else operator.replace("_", " ")
    if operator in NO_VALUE:
        return f"{title} {words}"
    return f"{title} {words} {value_words(fld, value, names)}"


def trigger_words(trigger: Mapping, catalog: Catalog, names: Names) -> str:
    """ "When a person is added to Qualified leads", "Every day at 09:00 (...)"."""
    text = _trigger_words(trigger, catalog, names)
    return text if text.startswith("Every") else f"When {text}"


def trigger_clause(trigger: Mapping, catalog: Catalog, names: Names) -> str:
    """The trigger after a "When" label: "A person is added to Qualified leads"."""
    text = _trigger_words(trigger, catalog, names)
    return text[:1].upper() + text[1:]


def in_sentence(title: str) -> str:
    """A field's title inside a sentence: "Job title" → "job title", "Company name" →
    "name" (after "a company's"); acronyms such as "VIP" stay as they are."""
    title = title.removeprefix("Company ").strip() or title
    if len(title) > 1 and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def _trigger_words(trigger: Mapping, catalog: Catalog, names: Names) -> str:
    kind = trigger.get("kind")
    if kind == "person_created":
        return "a person is created"
    if kind == "added_to_list":
        return f"a person is added to {names.list_name(trigger.get('list_id'))}"
    if kind == "daily":
        return f"Every day at {trigger.get('time', '')} ({trigger.get('time_zone', '')} time)"
    if kind == "attribute_changed":
        obj = trigger.get("object", "people")
        attribute = str(trigger.get("attribute", ""))
        fld = catalog.find(obj, attribute)
        whose = "a person's" if obj == "people" else "a company's"
        text = f"{whose} {in_sentence(fld.title if fld else attribute)} changes"
        condition = trigger.get("condition") or None
        if condition:
            operator = condition.get("operator", "")
            if operator == "is":
                text += f" to {value_words(fld, condition.get('value'), names)}"
            else:
                said = fld.operator_words(operator) if fld else operator
                if operator in NO_VALUE:
                    text += f" and now {said}"
                else:
                    text += f" and now {said} {value_words(fld, condition.get('value'), names)}"
        if obj == "companies":
            text += " (for each of its people)"
        return text
    return "something happens"


def conditions_words(conditions: Sequence[Mapping], catalog: Catalog, names: Names) -> list[str]:
    return [
        condition_words(
            catalog.find(c.get("object", "people"), str(c.get("attribute", ""))),
            str(c.get("attribute", "")),
            str(c.get("operator", "")),
            c.get("value"),
            names,
        )
        for c in conditions
    ]


def action_words(action: Mapping, names: Names, *, viewer_id: int, detailed: bool) -> str:
    """ "Enroll in Intro" (the list), or with its sender and address (the workflow page)."""
    sequence = names.sequence_name(action.get("sequence_id"))
    if action.get("kind") == "remove":
        return f"Remove from {sequence}"
    text = f"Enroll in {sequence}"
    if not detailed:
        return text
    sender = action.get("sender") or {}
    if sender.get("kind") == "member":
        member_id = sender.get("member_id")
        who = "you" if member_id == viewer_id else names.member_name(member_id)
        text += f", sent by {who}"
    else:
        text += ", sent by the person's owner"
    if action.get("address") == "first_deliverable":
        text += ", to their first address that has not bounced"
    else:
        text += ", to their primary address"
    return text
