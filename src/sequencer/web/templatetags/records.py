"""Template filters of the record pages: reading and showing custom attribute values."""

from __future__ import annotations

from collections.abc import Mapping

from django import template

register = template.Library()


@register.filter
def value_of(values: object, slug: str) -> object:
    """``values[slug]`` of a record's (or list entry's) attributes, or None."""
    return values.get(slug) if isinstance(values, Mapping) else None


@register.filter
def shown(value: object) -> str:
    """A stored attribute value as a person reads it ("" when there is none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
