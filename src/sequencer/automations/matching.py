"""Whether a person meets a workflow's conditions, and why not, in words.

The rule of each operator is :func:`sequencer.domain.workflows.condition_holds`; this
module reads the value a condition tests from a person (or their company) as loaded
with :data:`PERSON_PREFETCH`, so that a batch of people costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from sequencer.crm.models import Person
from sequencer.domain.workflows import (
    Condition,
    FieldCatalog,
    condition_holds,
    describe_condition,
    describe_value,
)
from sequencer.workspace.models import User

PERSON_PREFETCH = ("email_addresses", "company__domain_rows")


def people_with_fields(people: QuerySet[Person]) -> QuerySet[Person]:
    """``people`` with what conditions read loaded in a fixed number of queries."""
    return people.select_related("company").prefetch_related(*PERSON_PREFETCH)


def value_of(condition: Condition, person: Person) -> tuple[bool, Any]:
    """Whether the record the condition reads exists (a person may have no company),
    and the value of its field."""
    key = condition.attribute
    if condition.object == "companies":
        company = person.company
        if company is None:
            return False, None
        if key == "name":
            return True, company.name
        if key == "domain":
            return True, [row.domain for row in company.domain_rows.all()]
        return True, (company.attributes or {}).get(key)
    if key == "email":
        return True, [row.email for row in person.ordered_emails]
    if key == "owner":
        return True, person.owner_id
    if key in ("first_name", "last_name", "job_title", "time_zone"):
        return True, getattr(person, key)
    return True, (person.attributes or {}).get(key)


def holds_for(condition: Condition, person: Person) -> bool:
    """:func:`condition_holds` on the person's value; a person without a company fails
    every company condition but ``is_empty``."""
    exists, value = value_of(condition, person)
    if not exists:
        return condition.operator == "is_empty"
    return condition_holds(condition, value)


def member_labels(conditions: Iterable[Condition]) -> dict[int, str]:
    """Names of the members owner conditions name (one query, none without any)."""
    ids = {c.value for c in conditions if c.type == "owner" and isinstance(c.value, int)}
    if not ids:
        return {}
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}


def label_of(condition: Condition, labels: Mapping[int, str]) -> str | None:
    if condition.type == "owner" and isinstance(condition.value, int):
        return labels.get(condition.value)
    return None


def title_of(condition: Condition, fields: FieldCatalog) -> str:
    spec = fields.get(condition.object, condition.attribute)
    return spec.title if spec is not None else condition.attribute


def unmet(
    conditions: Iterable[Condition],
    person: Person,
    fields: FieldCatalog,
    labels: Mapping[int, str],
) -> str | None:
    """Why ``person`` does not meet ``conditions`` (the first that fails), or None."""
    for condition in conditions:
        if holds_for(condition, person):
            continue
        title = title_of(condition, fields)
        sentence = describe_condition(condition, title, label_of(condition, labels))
        exists, value = value_of(condition, person)
        if not exists:
            return f'Does not meet "{sentence}": {person.display_name} has no company.'
        if condition.type == "owner" and isinstance(value, int):
            shown = labels.get(value, f"#{value}")
        else:
            shown = describe_value(value)
        return f'Does not meet "{sentence}": {title.lower()} is {shown}.'
    return None
