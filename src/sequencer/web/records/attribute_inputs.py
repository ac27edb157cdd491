"""The custom attributes of a person's or a company's form: one input each, shown as
typed text, read back into the JSON value the CRM checks, and each error put next to
its own input."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from sequencer.crm.attributes import check_record_values
from sequencer.crm.models import Attribute
from sequencer.domain.errors import InvalidInput


@dataclass
class AttributeInput:
    attribute: Attribute
    value: str
    error: str = ""

    @property
    def id(self) -> str:
        return f"attr-{self.attribute.slug}"


def attribute_text(attribute: Attribute, value: object) -> str:
    if value is None:
        return ""
    if attribute.type == "checkbox":
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def inputs_for(
    attributes: list[Attribute], values: dict[str, object] | None
) -> list[AttributeInput]:
    """The inputs of a record's form, filled with its values (empty for a new record)."""
    return [AttributeInput(a, attribute_text(a, (values or {}).get(a.slug))) for a in attributes]


def posted_inputs(data: QueryDict, attributes: list[Attribute]) -> list[AttributeInput]:
    return [AttributeInput(a, data.get(f"attr-{a.slug}", "")) for a in attributes]


def typed(attribute: Attribute, text: str) -> object:
    """The JSON value the CRM expects for what was typed (None clears the attribute)."""
    text = text.strip()
    if not text:
        return None
    kind = attribute.type
    if kind == "checkbox":
        return {"yes": True, "no": False}.get(text, text)
    if kind == "number":
        for number in (int, float):
            try:
                return number(text)
            except ValueError:
                continue
        raise InvalidInput(
            f"{attribute.title} is a number, such as 42 or 3.5.", field=attribute.slug
        )
    if kind == "relationship":
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise InvalidInput(
                f"{attribute.title} holds record ids separated by commas, such as 12, 34.",
                field=attribute.slug,
            )
        ids = [int(p) for p in parts]
        return ids if attribute.is_multiple else (ids[0] if ids else None)
    return text


def checked_values(
    record_object: str, items: list[AttributeInput], current: dict[str, object] | None
) -> tuple[dict[str, object] | None, str]:
    """The values to give the service, or None when an input needs a change (its error is
    set on it); the second part is an error that belongs to no single input."""
    values: dict[str, object] = {}
    for item in items:
        try:
            values[item.attribute.slug] = typed(item.attribute, item.value)
        except InvalidInput as exc:
            item.error = exc.message
    if any(item.error for item in items):
        return None, ""
    try:
        check_record_values(record_object, values, current)
    except InvalidInput as exc:
        return None, "" if place_error(items, exc) else exc.message
    return values, ""


def place_error(items: list[AttributeInput], exc: InvalidInput) -> bool:
    """Puts a service error on the input its field names; False if it names none."""
    slug = (exc.field or "").removeprefix("attributes.").split(".")[0]
    for item in items:
        if item.attribute.slug == slug:
            item.error = exc.message
            return True
    return False
