"""Filtering records on their custom attributes, from the query string.

``a.<slug>=<value>`` keeps the records whose attribute equals the value (a select option,
"yes"/"no" for a checkbox, a number or a date), or contains it for text attributes. The
slugs come from the attribute definitions only, so nothing else reaches a JSON lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.http import QueryDict

from sequencer.crm.models import Attribute

PREFIX = "a."
# Relationships point at records by id: not something a person filters on by typing.
FILTERABLE = ("text", "number", "date", "checkbox", "select")


@dataclass(frozen=True)
class AttributeFilter:
    attribute: Attribute
    value: str

    @property
    def param(self) -> str:
        return PREFIX + self.attribute.slug

    @property
    def choices(self) -> list[tuple[str, str]]:
        """The values offered in a drop-down (empty for free text)."""
        if self.attribute.type == "select":
            return [(o, o) for o in self.attribute.options or ()]
        if self.attribute.type == "checkbox":
            return [("yes", "Yes"), ("no", "No")]
        return []

    @property
    def input_type(self) -> str:
        return {"number": "number", "date": "date"}.get(self.attribute.type, "search")


def filters_for(attributes: list[Attribute], query: QueryDict) -> list[AttributeFilter]:
    return [
        AttributeFilter(a, query.get(PREFIX + a.slug, "").strip())
        for a in attributes
        if a.type in FILTERABLE
    ]


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def apply(records: QuerySet[Any], filters: list[AttributeFilter]) -> QuerySet[Any]:
    for f in filters:
        if not f.value:
            continue
        slug, kind = f.attribute.slug, f.attribute.type
        key = f"_attr_{slug}"
        if kind == "text":
            records = records.annotate(**{key: KeyTextTransform(slug, "attributes")}).filter(
                **{f"{key}__icontains": f.value}
            )
            continue
        wanted: object
        if kind == "checkbox":
            wanted = {"yes": True, "no": False}.get(f.value)
        elif kind == "number":
            wanted = _number(f.value)
        else:
            wanted = f.value
        if wanted is None:
            return records.none()
        records = records.annotate(**{key: KeyTransform(slug, "attributes")}).filter(
            **{key: wanted}
        )
    return records
