"""What an attribute definition (of people, companies or a list) may be. Pure checks."""

from __future__ import annotations

import re

from sequencer.crm.values import TYPES
from sequencer.domain.errors import InvalidInput

OBJECTS = ("people", "companies")
# Single underscores only: a double one would read as a lookup in Django's JSON queries.
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_SLUG_LENGTH = 63
MAX_OPTIONS = 500


def check_slug(slug: object, field: str = "slug") -> str:
    if not isinstance(slug, str) or not slug:
        raise InvalidInput("A slug is required, such as industry_segment.", field=field)
    if len(slug) > MAX_SLUG_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInput(
            f"{slug!r} is not a valid slug: use lower-case letters, digits and single _, "
            f"starting with a letter, at most {MAX_SLUG_LENGTH} characters (such as deal_stage).",
            field=field,
            code="invalid_slug",
        )
    return slug


def check_title(title: object, field: str = "title") -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("A title is required, such as 'Deal stage'.", field=field)
    title = title.strip()
    if len(title) > 200:
        raise InvalidInput("The title is longer than 200 characters.", field=field)
    return title


def check_object(obj: object, field: str = "object") -> str:
    if obj not in OBJECTS:
        raise InvalidInput(
            f"{obj!r} is not an object; use 'people' or 'companies'.",
            field=field,
            code="invalid_object",
        )
    assert isinstance(obj, str)
    return obj


def check_type(kind: object, allowed: tuple[str, ...] = TYPES, field: str = "type") -> str:
    if kind not in allowed:
        raise InvalidInput(
            f"{kind!r} is not an attribute type; use one of: {', '.join(allowed)}.",
            field=field,
            code="invalid_type",
        )
    assert isinstance(kind, str)
    return kind


def check_options(kind: str, options: object, field: str = "options") -> tuple[str, ...]:
    """The options of a select (trimmed, in order); none for any other type."""
    if kind != "select":
        if options:
            raise InvalidInput(
                f"Only select attributes have options; a {kind} attribute has none.",
                field=field,
            )
        return ()
    if not isinstance(options, list) or not options:
        raise InvalidInput(
            'A select attribute needs a list of options, such as ["Lead", "Customer"].',
            field=field,
            code="options_required",
        )
    if len(options) > MAX_OPTIONS:
        raise InvalidInput(f"A select has at most {MAX_OPTIONS} options.", field=field)
    seen: set[str] = set()
    checked: list[str] = []
    for i, option in enumerate(options):
        if not isinstance(option, str) or not option.strip():
            raise InvalidInput("An option is a non-empty string.", field=f"{field}.{i}")
        option = option.strip()
        if option.lower() in seen:
            raise InvalidInput(
                f"The option {option!r} is listed twice.", field=f"{field}.{i}", code="duplicate"
            )
        seen.add(option.lower())
        checked.append(option)
    return tuple(checked)


def check_target(kind: str, target: object, is_multiple: object) -> tuple[str, bool]:
    """The target object and multiplicity of a relationship; ("", False) for other types."""
    if kind != "relationship":
        if target:
            raise InvalidInput(
                f"Only relationship attributes have a target; a {kind} attribute has none.",
                field="target",
            )
        if is_multiple:
            raise InvalidInput(
                "Only relationship attributes can hold several values.", field="is_multiple"
            )
        return "", False
    if target not in OBJECTS:
        raise InvalidInput(
            "A relationship needs a target: 'people' or 'companies'.",
            field="target",
            code="invalid_target",
        )
    assert isinstance(target, str)
    return target, bool(is_multiple)
