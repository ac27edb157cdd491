"""Which CRM values a template may use, and their values for one person.

The template checker asks :func:`variable_catalog` which ``{{ person.x }}`` and
``{{ company.x }}`` names exist; the renderer asks :func:`render_context` for the
values. List attributes are listed apart because they belong to one list's entries,
not to the person, so a template must not use them as variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sequencer.crm.fields import COMPANY_VARIABLES, PERSON_VARIABLES
from sequencer.crm.models import (
    Attribute,
    AttributeType,
    Company,
    ListAttribute,
    Person,
    RecordObject,
)
from sequencer.domain.sender import SENDER_LABELS


@dataclass(frozen=True)
class VariableCatalog:
    person: frozenset[str]
    company: frozenset[str]
    list_attributes: frozenset[str]


def variable_catalog() -> VariableCatalog:
    custom: dict[str, set[str]] = {RecordObject.PEOPLE: set(), RecordObject.COMPANIES: set()}
    for obj, slug in Attribute.objects.values_list("object", "slug"):
        custom[obj].add(slug)
    return VariableCatalog(
        person=PERSON_VARIABLES | frozenset(custom[RecordObject.PEOPLE]),
        company=COMPANY_VARIABLES | frozenset(custom[RecordObject.COMPANIES]),
        list_attributes=frozenset(ListAttribute.objects.values_list("slug", flat=True)),
    )


# What people call the standard variables; custom attributes use their own title.
_STANDARD_LABELS: dict[str, dict[str, str]] = {
    "person": {
        "first_name": "First name",
        "last_name": "Last name",
        "full_name": "Full name",
        "email": "Email address",
        "job_title": "Job title",
        "time_zone": "Time zone",
    },
    "company": {"name": "Company name", "domain": "Company domain", "domains": "Company domains"},
}


@dataclass(frozen=True)
class OfferedVariable:
    """One variable a composer offers: ``person.first_name``, shown as "First name"."""

    path: str
    label: str
    group: str  # "person", "company" or "sender"


def offered_variables() -> list[OfferedVariable]:
    """Every variable an email may use: people, companies, then the sender; each group
    in label order.

    The same names the publish check accepts (:func:`variable_catalog` and the fixed
    sender fields), so a variable picked here always passes it; list attributes are never
    offered (they have no single value per person).
    """
    catalog = variable_catalog()
    titles = {
        ("person" if obj == RecordObject.PEOPLE else "company", slug): title
        for obj, slug, title in Attribute.objects.values_list("object", "slug", "title")
    }
    offered: list[OfferedVariable] = []
    for group, slugs in (("person", catalog.person), ("company", catalog.company)):
        standard = _STANDARD_LABELS[group]
        rows = [
            OfferedVariable(
                path=f"{group}.{slug}",
                label=standard.get(slug) or titles.get((group, slug)) or slug,
                group=group,
            )
            for slug in slugs
        ]
        offered.extend(sorted(rows, key=lambda row: (row.label.casefold(), row.path)))
    # The sender's fields keep their natural order: first, last and full name, email.
    offered.extend(
        OfferedVariable(path=f"sender.{field}", label=label, group="sender")
        for field, label in SENDER_LABELS.items()
    )
    return offered


def _blank_to_none(value: object) -> object:
    if value is None or value == "" or value == []:
        return None
    return value


def _display_names(target: str, ids: Iterable[object]) -> dict[int, str]:
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    if target == RecordObject.COMPANIES:
        return dict(Company.objects.filter(pk__in=wanted).values_list("pk", "name"))
    people = Person.objects.filter(pk__in=wanted).prefetch_related("email_addresses")
    return {p.pk: p.display_name for p in people}


def _custom_values(attributes: Iterable[Attribute], stored: dict[str, object]) -> dict[str, object]:
    """Every one of ``attributes``, relationships replaced by display names."""
    values: dict[str, object] = {}
    for attribute in attributes:
        value = stored.get(attribute.slug)
        if attribute.type == AttributeType.RELATIONSHIP and value is not None:
            ids: list[object] = value if isinstance(value, list) else [value]
            names = _display_names(attribute.target, ids)
            # A related record deleted since is simply left out.
            shown = [names[i] for i in ids if i in names]
            value = ", ".join(shown)
        values[attribute.slug] = _blank_to_none(value)
    return values


AttributeDefinitions = dict[str, list[Attribute]]


def attribute_definitions() -> AttributeDefinitions:
    """Both objects' custom attribute definitions, by object, in one query: read once
    for a batch of emails and given to :func:`render_context` for each."""
    definitions: AttributeDefinitions = {RecordObject.PEOPLE: [], RecordObject.COMPANIES: []}
    for attribute in Attribute.objects.all():
        definitions[attribute.object].append(attribute)
    return definitions


def render_context(
    person: Person, definitions: AttributeDefinitions | None = None, *, email: str | None = None
) -> dict[str, dict[str, object]]:
    """``{"person": {...}, "company": {...}}``; every known name present, blanks as None.
    ``definitions`` (:func:`attribute_definitions`) are read here when not given.
    ``email``, the address being written to, stands for the person's primary address,
    whose rows are then not read."""
    person_values: dict[str, object] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "full_name": person.full_name,
        "email": email if email is not None else person.primary_email,
        "job_title": person.job_title,
        "time_zone": person.time_zone,
    }
    person_values = {k: _blank_to_none(v) for k, v in person_values.items()}
    if definitions is None:
        definitions = attribute_definitions()
    person_values.update(_custom_values(definitions[RecordObject.PEOPLE], person.attributes or {}))

    company = person.company
    company_values: dict[str, object]
    if company is None:
        company_values = {name: None for name in COMPANY_VARIABLES}
        company_values.update(dict.fromkeys(a.slug for a in definitions[RecordObject.COMPANIES]))
    else:
        domains = [row.domain for row in company.domain_rows.all()]
        company_values = {
            "name": _blank_to_none(company.name),
            "domain": domains[0] if domains else None,
            "domains": domains or None,
        }
        company_values.update(
            _custom_values(definitions[RecordObject.COMPANIES], company.attributes or {})
        )
    return {"person": person_values, "company": company_values}
