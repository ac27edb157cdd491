"""The fields a workflow's conditions may test, as the builder offers them.

The catalog comes from :func:`sequencer.automations.workflows.field_catalog` (built-in
person and company fields first, then every custom attribute); this module gives each
field the key the form posts (``people:job_title``), the label a salesperson reads
("Job title", "Company · Industry") and the operators that make sense for its type.
"""

from __future__ import annotations

from dataclasses import dataclass

from sequencer.automations import workflows
from sequencer.domain.workflows import (
    DATE_WORDS,
    EMPTY_OPERATORS,
    OPERATOR_WORDS,
    OPERATORS_BY_TYPE,
    FieldSpec,
)

# Operators that compare with nothing: the value control is not needed.
NO_VALUE = frozenset(EMPTY_OPERATORS)


@dataclass(frozen=True)
class Field:
    object: str  # "people" or "companies"
    attribute: str  # "job_title", "owner", a custom attribute's slug
    title: str  # "Job title"
    type: str  # one of OPERATORS_BY_TYPE
    options: tuple[str, ...] = ()
    multiple: bool = False

    @property
    def key(self) -> str:
        return f"{self.object}:{self.attribute}"

    @property
    def label(self) -> str:
        """What the field is called in a sentence or a select: companies' fields say so."""
        if self.object == "people" or self.title.lower().startswith("company"):
            return self.title
        return f"Company · {self.title}"

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_TYPE.get(self.type, OPERATORS_BY_TYPE["text"])

    def operator_words(self, operator: str) -> str:
        if self.type == "date" and operator in DATE_WORDS:
            return DATE_WORDS[operator]
        return OPERATOR_WORDS.get(operator, operator)

    def operator_choices(self) -> list[tuple[str, str]]:
        return [(op, self.operator_words(op)) for op in self.operators]


@dataclass(frozen=True)
class Catalog:
    fields: tuple[Field, ...]

    def get(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def find(self, obj: str, attribute: str) -> Field | None:
        return self.get(f"{obj}:{attribute}")

    def of(self, obj: str) -> list[Field]:
        return [f for f in self.fields if f.object == obj]

    @property
    def first(self) -> Field:
        return self.fields[0]


def _field(spec: FieldSpec) -> Field:
    return Field(
        object=spec.object,
        attribute=spec.key,
        title=spec.title,
        type=spec.type,
        options=tuple(spec.options),
        multiple=spec.is_multiple,
    )


def catalog() -> Catalog:
    """The workspace's fields, read once per page."""
    return Catalog(tuple(_field(spec) for spec in workflows.field_catalog().fields))
