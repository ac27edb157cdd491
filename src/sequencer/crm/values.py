"""What a custom attribute value may be: the one place that decides, by attribute type.

Pure functions, no database: :func:`check_value` accepts a JSON value from the API,
:func:`parse_cell` turns the text of a CSV cell into such a value. Whether the records
a relationship points at exist is for the caller to check (it needs the database);
:func:`referenced_ids` tells it which ids to look for.

Errors carry the attribute's slug as their field; callers nest it under their own
prefix (``attributes`` or ``values``) with :meth:`InvalidInput.under`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sequencer.domain.errors import InvalidInput

TYPES = ("text", "number", "date", "checkbox", "select", "relationship")
MAX_TEXT_LENGTH = 10_000

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "yes", "y", "1", "x", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_OBJECT_NOUN = {"people": ("person", "people"), "companies": ("company", "companies")}


@dataclass(frozen=True)
class AttributeSpec:
    """The part of an attribute definition that value checking needs."""

    slug: str
    type: str
    options: tuple[str, ...] = ()
    target: str = ""
    is_multiple: bool = False


def expected(spec: AttributeSpec) -> str:
    """What a value of ``spec`` looks like, in words, for error messages."""
    if spec.type == "text":
        return "text (a JSON string)"
    if spec.type == "number":
        return "a number such as 42 or 3.5"
    if spec.type == "date":
        return 'a date written "YYYY-MM-DD", such as "2025-03-31"'
    if spec.type == "checkbox":
        return "true or false"
    if spec.type == "select":
        return "one of: " + ", ".join(repr(o) for o in spec.options)
    one, many = _OBJECT_NOUN.get(spec.target, ("record", "records"))
    if spec.is_multiple:
        return f"a list of ids of {many}, such as [12, 34]"
    return f"the id of a {one}, such as 12"


def _wrong(spec: AttributeSpec, value: object) -> InvalidInput:
    shown = repr(value) if not isinstance(value, str) else f'"{value}"'
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(
        f"{spec.slug} expects {expected(spec)}; got {shown}.", field=spec.slug, code="wrong_type"
    )


def _check_id(spec: AttributeSpec, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _wrong(spec, value)
    return value


def check_value(spec: AttributeSpec, value: object) -> object:
    """The value to store for ``spec``, or None when ``value`` clears the attribute.

    Raises :class:`InvalidInput` (field = the slug) when the value has the wrong type.
    """
    if value is None:
        return None
    kind = spec.type
    if kind == "text":
        if not isinstance(value, str):
            raise _wrong(spec, value)
        if len(value) > MAX_TEXT_LENGTH:
            raise InvalidInput(
                f"{spec.slug} is longer than {MAX_TEXT_LENGTH} characters; shorten it.",
                field=spec.slug,
                code="too_long",
            )
        return value if value.strip() else None
    if kind == "number":
        # bool is an int in Python, but true is not a number to a person.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(spec, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _wrong(spec, value)
        return value
    if kind == "date":
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise _wrong(spec, value)
        try:
            date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f'{spec.slug}: "{value}" is not a day of the calendar; '
                'write a real date as "YYYY-MM-DD".',
                field=spec.slug,
                code="wrong_type",
            ) from None
        return value
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise _wrong(spec, value)
        return value
    if kind == "select":
        if not isinstance(value, str):
            raise _wrong(spec, value)
        if value not in spec.options:
            raise InvalidInput(
                f'"{value}" is not an option of {spec.slug}; choose one of: '
                + ", ".join(repr(o) for o in spec.options)
                + ", or add the option to the attribute first.",
                field=spec.slug,
                code="unknown_option",
            )
        return value
    if kind == "relationship":
        if spec.is_multiple:
            if not isinstance(value, list):
                raise _wrong(spec, value)
            # Order kept, repeats dropped: the same record twice means it once.
            ids = list(dict.fromkeys(_check_id(spec, v) for v in value))
            return ids or None
        return _check_id(spec, value)
    raise InvalidInput(f"{spec.slug} has an unknown type {kind!r}.", field=spec.slug)


def referenced_ids(spec: AttributeSpec, value: object) -> list[int]:
    """The record ids a checked relationship value points at (none for other types)."""
    if spec.type != "relationship" or value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int)]
    return [value] if isinstance(value, int) else []


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def split_cell(text: str) -> list[str]:
    """The ``;``-separated parts of a cell, trimmed, empty parts left out."""
    return [part.strip() for part in text.split(";") if part.strip()]


def parse_cell(spec: AttributeSpec, text: str) -> object:
    """The typed value written as ``text`` in a CSV cell; None for an empty cell.

    Relationship cells become a list of their ``;``-separated parts (ids, or an email
    address / domain the importer resolves), so for them the result is not yet final.
    """
    text = text.strip()
    if not text:
        return None
    kind = spec.type
    if kind == "number":
        number = _number(text)
        if number is None:
            raise _wrong(spec, text)
        return number
    if kind == "checkbox":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidInput(
            f'{spec.slug} expects yes or no (true/false, 1/0); got "{text}".',
            field=spec.slug,
            code="wrong_type",
        )
    if kind == "select":
        # People type options by hand in spreadsheets; the case they use is no error.
        for option in spec.options:
            if option.lower() == text.lower():
                return option
        return check_value(spec, text)
    if kind == "relationship":
        parts = split_cell(text)
        if not spec.is_multiple and len(parts) > 1:
            raise InvalidInput(
                f"{spec.slug} holds one record only; got {len(parts)}.",
                field=spec.slug,
                code="wrong_type",
            )
        return parts
    return check_value(spec, text)


def relationship_from_ids(spec: AttributeSpec, ids: Sequence[int]) -> object:
    """The stored value of a relationship given the ids of its records."""
    return check_value(spec, list(ids) if spec.is_multiple else (ids[0] if ids else None))
