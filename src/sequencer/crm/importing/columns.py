"""Which column of an import file holds what: the header mapped to fields and attributes.

A column the import does not know is an error of the whole file, reported once on line 1
before anything is written: a misspelt column would otherwise be dropped silently on
every row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sequencer.crm.attributes import specs
from sequencer.crm.csvfile import FileError, header_key
from sequencer.crm.fields import RESERVED_SLUGS
from sequencer.crm.models import ListAttribute
from sequencer.crm.values import AttributeSpec

_PEOPLE_ALIASES = {
    "email_address": "email",
    "e_mail": "email",
    "primary_email": "email",
    "email_1": "email",
    "email_addresses": "emails",
    "timezone": "time_zone",
    "tz": "time_zone",
    "company_name": "company",
    "first": "first_name",
    "firstname": "first_name",
    "last": "last_name",
    "lastname": "last_name",
}
_COMPANY_ALIASES = {"domain": "domains", "company": "name", "company_name": "name"}
_PEOPLE_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "emails",
        "job_title",
        "company",
        "company_domain",
        "time_zone",
    }
)
_COMPANY_COLUMNS = frozenset({"name", "domains"})
_EXTRA_EMAIL = re.compile(r"email_(\d+)")


@dataclass(frozen=True)
class Columns:
    """Which cell of a record holds what."""

    standard: dict[str, int]
    extra_emails: list[tuple[str, int]]
    custom: dict[str, tuple[AttributeSpec, int]]

    def cell(self, cells: list[str], name: str) -> str:
        index = self.standard.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    def specs_by_slug(self) -> dict[str, AttributeSpec]:
        return {slug: spec for slug, (spec, _) in self.custom.items()}


def suggested_column(kind: str, name: str) -> str:
    """The column a header name stands for, aliases applied (``E-mail`` is ``email``)."""
    key = header_key(name)
    aliases = _PEOPLE_ALIASES if kind == "people" else _COMPANY_ALIASES
    return aliases.get(key, key)


def map_columns(kind: str, header: list[str]) -> Columns:
    """The columns of ``header`` for importing ``kind``; a FileError names what is wrong."""
    aliases = _PEOPLE_ALIASES if kind == "people" else _COMPANY_ALIASES
    known = _PEOPLE_COLUMNS if kind == "people" else _COMPANY_COLUMNS
    attribute_specs = specs(kind)
    standard: dict[str, int] = {}
    extra_emails: list[tuple[str, int]] = []
    custom: dict[str, tuple[AttributeSpec, int]] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(header):
        key = header_key(raw)
        if not key:
            continue
        key = aliases.get(key, key)
        if key in seen:
            raise FileError(1, f"The column {raw.strip()!r} appears twice.", field=key)
        seen.add(key)
        if key in known:
            standard[key] = index
        elif kind == "people" and _EXTRA_EMAIL.fullmatch(key):
            extra_emails.append((key, index))
        elif key in attribute_specs and key not in RESERVED_SLUGS[kind]:
            custom[key] = (attribute_specs[key], index)
        else:
            unknown.append(raw.strip())
    if unknown:
        raise FileError(1, _unknown_columns(kind, unknown), field=header_key(unknown[0]))
    if kind == "people" and "email" not in standard:
        raise FileError(
            1,
            "The file has no email column; every person needs a primary address in it.",
            field="email",
        )
    if kind == "companies" and not {"name", "domains"} & standard.keys():
        raise FileError(1, "The file needs a name or a domains column.", field="name")
    return Columns(standard, extra_emails, custom)


def _unknown_columns(kind: str, names: list[str]) -> str:
    listed = ", ".join(repr(n) for n in names)
    columns = _PEOPLE_COLUMNS if kind == "people" else _COMPANY_COLUMNS
    hint = ""
    in_lists = set(
        ListAttribute.objects.filter(slug__in=[header_key(n) for n in names]).values_list(
            "slug", flat=True
        )
    )
    if in_lists:
        hint = (
            f" ({', '.join(sorted(in_lists))} belong to lists, not to {kind}; import them "
            "into list entries instead.)"
        )
    return (
        f"Unknown column{'s' if len(names) > 1 else ''} {listed}: nothing was imported. "
        f"Rename or remove {'them' if len(names) > 1 else 'it'}, or create the custom "
        f"attribute first (POST /api/v1/attributes with object {kind!r}). Known columns: "
        f"{', '.join(sorted(columns))}, and the slugs of {kind} attributes.{hint}"
    )
