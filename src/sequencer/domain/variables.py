"""Which variables an email template may use: pure rules over variable paths.

A sequence email personalises itself with *standard variables*: ``{{ person.<attribute> }}``
and ``{{ company.<attribute> }}``, where the attribute is one the workspace defines for
people or companies, and ``{{ sender.<field> }}``, one of the fixed
:data:`~sequencer.domain.sender.SENDER_VARIABLES` of whoever sends the email. Everything
else a template might name is refused before publishing, because at send time it would
silently render as nothing:

* another root (``{{ first_name }}``, ``{{ deal.value }}``) is ``unknown_variable``;
* ``{{ person }}`` on its own names no attribute (``incomplete_variable``);
* an attribute that exists only on lists is ``list_attribute_variable``: a person can be
  in many lists with a different value in each, so "the" value is undefined;
* any other attribute is ``unknown_variable``, with the available ones listed.

Segments after the attribute (``company.domains[0]``) are left alone: the attribute's
value decides whether they mean something, which only the send-time render knows.

Paths arrive as the segment lists that Liquid's static analysis produces: strings and
integers, with a nested list for a bracketed variable (``person[company.key]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sequencer.domain.sender import SENDER_VARIABLES

ROOTS: tuple[str, ...] = ("person", "company", "sender")

# Liquid's own rule for a name usable after a dot (python-liquid's RE_PROPERTY), so that
# paths are spelled the way the template would write them.
_PROPERTY = re.compile(r"[\u0080-\uFFFFa-zA-Z_][\u0080-\uFFFFa-zA-Z0-9_-]*")

# The error message lists what is available; past this many names a list stops helping.
_MAX_LISTED = 40


class VariableCatalog(Protocol):
    """The attribute slugs a workspace offers (``sequencer.crm.catalog.VariableCatalog``)."""

    @property
    def person(self) -> frozenset[str]: ...

    @property
    def company(self) -> frozenset[str]: ...

    @property
    def list_attributes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class StaticCatalog:
    """A catalog given as plain sets (tests, previews, and anything without a database)."""

    person: frozenset[str] = frozenset()
    company: frozenset[str] = frozenset()
    list_attributes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class VariableProblem:
    """Why a variable path cannot be used. ``code`` is stable; ``message`` is for people."""

    path: str
    code: str
    message: str


def format_path(segments: Sequence[object]) -> str:
    """Liquid spelling of a path: ``person.first_name``, ``person['odd key']``, ``a[0]``."""
    if not segments:
        return ""
    parts = [_format_root(segments[0])]
    for segment in segments[1:]:
        if isinstance(segment, list):
            parts.append(f"[{format_path(segment)}]")
        elif isinstance(segment, str) and _is_identifier(segment):
            parts.append(f".{segment}")
        elif isinstance(segment, str):
            parts.append(f"[{segment!r}]")
        else:
            parts.append(f"[{segment}]")
    return "".join(parts)


def available_variables(catalog: VariableCatalog) -> list[str]:
    """Every usable variable: people, companies, then the sender, each group sorted."""
    return [f"{root}.{slug}" for root in ROOTS for slug in sorted(_attributes_of(root, catalog))]


def describe_available(catalog: VariableCatalog) -> str:
    """The sentence that closes every "unknown variable" message."""
    names = available_variables(catalog)
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    suffix = f" and {more} more" if more > 0 else ""
    return f"Available variables: {shown}{suffix}."


def check_variable(segments: Sequence[object], catalog: VariableCatalog) -> VariableProblem | None:
    """``None`` when ``segments`` is a usable standard variable, else what is wrong."""
    path = format_path(segments)
    if not segments:
        return VariableProblem(path, "unknown_variable", "An empty variable names nothing.")
    root = segments[0]
    attribute = segments[1] if len(segments) > 1 else None

    if root not in ROOTS:
        if isinstance(attribute, str) and _only_on_lists(attribute, catalog):
            return _list_attribute_problem(path, attribute)
        hint = _did_you_mean(root, catalog)
        return VariableProblem(
            path,
            "unknown_variable",
            f"{{{{ {path} }}}} is not a variable; use person.<attribute>, "
            f"company.<attribute> or sender.<field>{hint}. {describe_available(catalog)}",
        )
    assert isinstance(root, str)
    if attribute is None:
        example = "name" if root == "company" else "first_name"
        return VariableProblem(
            path,
            "incomplete_variable",
            f"{{{{ {path} }}}} needs {_a_part(root)}, e.g. {{{{ {root}.{example} }}}}. "
            f"{describe_available(catalog)}",
        )
    if not isinstance(attribute, str):
        return VariableProblem(
            path,
            "unknown_variable",
            f"{{{{ {path} }}}} does not name a {root} {_part(root)}; write it as "
            f"{root}.<{_part(root)}>. {describe_available(catalog)}",
        )
    if attribute in _attributes_of(root, catalog):
        return None
    if _only_on_lists(attribute, catalog):
        return _list_attribute_problem(path, attribute)
    elsewhere = [
        f"{other}.{attribute}"
        for other in ROOTS
        if other != root and attribute in _attributes_of(other, catalog)
    ]
    hint = f" ({' and '.join(elsewhere)} exists)" if elsewhere else ""
    return VariableProblem(
        path,
        "unknown_variable",
        f"{{{{ {path} }}}} is not a {root} {_part(root)}{hint}. {describe_available(catalog)}",
    )


def check_variables(
    paths: Iterable[Sequence[object]], catalog: VariableCatalog
) -> list[VariableProblem]:
    """The problems of several paths, each distinct path reported once, in order."""
    seen: set[str] = set()
    problems: list[VariableProblem] = []
    for segments in paths:
        problem = check_variable(segments, catalog)
        if problem is not None and problem.path not in seen:
            seen.add(problem.path)
            problems.append(problem)
    return problems


def _attributes_of(root: str, catalog: VariableCatalog) -> frozenset[str]:
    if root == "sender":
        return SENDER_VARIABLES  # the same for every workspace: not in the catalog
    return catalog.person if root == "person" else catalog.company


def _part(root: str) -> str:
    """What follows the dot: a sender has fixed fields, people and companies attributes."""
    return "field" if root == "sender" else "attribute"


def _a_part(root: str) -> str:
    return "a field" if root == "sender" else "an attribute"


def _only_on_lists(attribute: str, catalog: VariableCatalog) -> bool:
    return (
        attribute in catalog.list_attributes
        and attribute not in catalog.person
        and attribute not in catalog.company
    )


def _list_attribute_problem(path: str, attribute: str) -> VariableProblem:
    return VariableProblem(
        path,
        "list_attribute_variable",
        f"{{{{ {path} }}}} uses the list attribute {attribute!r}. List attributes cannot be "
        "variables: a person can be in several lists with a different value in each. "
        "Use a person or company attribute instead.",
    )


def _did_you_mean(root: object, catalog: VariableCatalog) -> str:
    if not isinstance(root, str):
        return ""
    matches = [f"{r}.{root}" for r in ROOTS if root in _attributes_of(r, catalog)]
    return f" (did you mean {' or '.join(matches)}?)" if matches else ""


def _format_root(root: object) -> str:
    if isinstance(root, list):
        return f"[{format_path(root)}]"
    if isinstance(root, str) and _is_identifier(root):
        return root
    return f"[{root!r}]"


def _is_identifier(text: str) -> bool:
    return _PROPERTY.fullmatch(text) is not None
