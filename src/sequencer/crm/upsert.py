"""Upserts for CRM syncs: people matched by email address, companies by domain.

A sync pushes what another system knows without first asking what Sequencer has: each
record names its key (a person's address, a company's domain) and is created when no
record has that key, or changes the one that has it. Values go through the same checks
as everywhere else (:mod:`sequencer.crm.people`, :mod:`sequencer.crm.companies`,
:func:`sequencer.crm.attributes.check_record_values`), so a sync cannot store what the
API or the import would refuse.

The batch form answers each record on its own, in request order: one bad record is
refused with its field and message, and never stops the others (each is written in its
own savepoint, so a failed one leaves no half-written record behind).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import IntegrityError, transaction

from sequencer.crm import companies as company_service
from sequencer.crm import people as people_service
from sequencer.crm.domains import normalize_domain
from sequencer.crm.emails import normalize_email
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person
from sequencer.crm.unset import UNSET, Unset
from sequencer.domain.errors import InvalidInput

MAX_RECORDS = 1000

# What a person's upsert may set besides its key; left out, a field keeps its value.
PERSON_FIELDS = frozenset(
    {
        "email_addresses",
        "first_name",
        "last_name",
        "job_title",
        "company_id",
        "company_domain",
        "company_name",
        "time_zone",
        "owner_id",
        "attributes",
    }
)
COMPANY_FIELDS = frozenset({"name", "domains", "attributes"})

R = TypeVar("R", Person, Company)


@dataclass(frozen=True)
class Upserted(Generic[R]):
    """One record's outcome: the record and whether it is new, or why it was refused."""

    record: R | None
    created: bool = False
    error: InvalidInput | None = None


def _unknown_fields(fields: Mapping[str, object], known: frozenset[str]) -> None:
    for name in fields:
        if name not in known:
            raise InvalidInput(
                f"{name} is not a field that can be set here; known: {', '.join(sorted(known))}.",
                field=name,
                code="unknown_field",
            )


def _given(fields: Mapping[str, object], name: str) -> object | Unset:
    return fields.get(name, UNSET)


# -- people ------------------------------------------------------------------------------


def person_with_email(address: object) -> Person | None:
    """The person who has ``address`` (in any case), or ``None``.

    Addresses are stored normalised (lower-cased), so the normalised address is looked
    up as it is: an exact match reads the unique index, where a case-insensitive one
    would read the whole table for each record of a batch."""
    key = normalize_email(address, field="email")
    row = EmailAddress.objects.filter(email=key).select_related("person").first()
    return row.person if row is not None else None


def _same_address(raw: object, key: str) -> bool:
    try:
        return normalize_email(raw) == key
    except InvalidInput:
        return False  # check_emails names what is wrong with it


def _addresses_with_key(email: str, fields: Mapping[str, object]) -> object | Unset:
    """The person's addresses if the record gives them; they must keep its key."""
    given = _given(fields, "email_addresses")
    if given is UNSET or given is None:
        return UNSET
    if not isinstance(given, list | tuple):
        return given  # check_emails names what is wrong with it
    keys = [item.get("email") if isinstance(item, Mapping) else item for item in given]
    if not any(_same_address(k, email) for k in keys):
        raise InvalidInput(
            f"email_addresses must include {email}, the address this record is matched on "
            "(leave email_addresses out to keep the person's other addresses as they are).",
            field="email_addresses",
            code="missing_key",
        )
    return given


def _company_by_domain(fields: Mapping[str, object]) -> object | Unset:
    """The company id a record names through ``company_domain`` (found, else created
    with ``company_name`` or the domain as its name), or what ``company_id`` says."""
    domain = _given(fields, "company_domain")
    company_id = _given(fields, "company_id")
    if domain is UNSET or domain is None:
        if "company_name" in fields and fields["company_name"] not in (None, ""):
            raise InvalidInput(
                "company_name names a company created for company_domain; give "
                "company_domain too (or company_id for a known company).",
                field="company_domain",
                code="required",
            )
        return company_id
    if company_id is not UNSET and company_id is not None:
        raise InvalidInput(
            "Give either company_id or company_domain, not both.",
            field="company_domain",
            code="ambiguous",
        )
    wanted = normalize_domain(domain, field="company_domain")
    found = CompanyDomain.objects.filter(domain=wanted).values_list("company_id", flat=True)
    if found:
        return found[0]
    name = fields.get("company_name")
    if name in (None, ""):
        name = wanted
    created = company_service.create_company(
        company_service.check_name(name, field="company_name"), [wanted]
    )
    return created.pk


def upsert_person(email: object, fields: Mapping[str, object]) -> Upserted[Person]:
    """Create the person with ``email`` or change the person who has it.

    ``fields`` may hold any of :data:`PERSON_FIELDS`; a field left out keeps its value
    (on creation: its default), ``attributes`` merge as in an update. Raises
    :class:`InvalidInput` naming the field to fix; nothing is written then.
    """
    key = normalize_email(email, field="email")
    _unknown_fields(fields, PERSON_FIELDS)
    with transaction.atomic():
        addresses = _addresses_with_key(key, fields)
        company_id = _company_by_domain(fields)
        values: dict[str, object] = {
            name: fields[name]
            for name in (
                "first_name",
                "last_name",
                "job_title",
                "time_zone",
                "owner_id",
                "attributes",
            )
            if name in fields
        }
        if company_id is not UNSET:
            values["company_id"] = company_id
        existing = person_with_email(key)
        if existing is not None:
            if addresses is not UNSET:
                values["email_addresses"] = addresses
            return Upserted(people_service.update_person(existing, **values), created=False)
        values["email_addresses"] = [key] if addresses is UNSET else addresses
        return Upserted(people_service.create_person(**values), created=True)


# -- companies ---------------------------------------------------------------------------


def company_with_domain(domain: str) -> Company | None:
    row = CompanyDomain.objects.filter(domain=domain).select_related("company").first()
    return row.company if row is not None else None


def _domains_with_key(
    key: str, fields: Mapping[str, object], company: Company | None
) -> object | Unset:
    """The company's domains if the record gives them; they must keep its key."""
    given = _given(fields, "domains")
    if given is UNSET or given is None:
        return UNSET
    if isinstance(given, list | tuple) and key not in company_service.check_domains(
        list(given), company
    ):
        raise InvalidInput(
            f"domains must include {key}, the domain this record is matched on "
            "(leave domains out to keep the company's other domains as they are).",
            field="domains",
            code="missing_key",
        )
    return given


def upsert_company(domain: object, fields: Mapping[str, object]) -> Upserted[Company]:
    """Create the company with ``domain`` or change the company that has it.

    ``fields`` may hold ``name`` (required to create), ``domains`` (all of its domains,
    the key among them) and ``attributes`` (merged)."""
    key = normalize_domain(domain, field="domain")
    _unknown_fields(fields, COMPANY_FIELDS)
    with transaction.atomic():
        existing = company_with_domain(key)
        domains = _domains_with_key(key, fields, existing)
        if existing is not None:
            values: dict[str, object] = {
                name: fields[name] for name in ("name", "attributes") if name in fields
            }
            if domains is not UNSET:
                values["domains"] = domains
            return Upserted(company_service.update_company(existing, **values), created=False)
        created = company_service.create_company(
            fields.get("name"),
            [key] if domains is UNSET else domains,
            fields.get("attributes"),
        )
        return Upserted(created, created=True)


# -- batches -----------------------------------------------------------------------------


def _one(
    write: Callable[[object, Mapping[str, object]], Upserted[R]],
    key: object,
    fields: Mapping[str, object],
) -> Upserted[R]:
    try:
        return write(key, fields)
    except InvalidInput as refused:
        return Upserted(None, error=refused)
    except IntegrityError:
        # Another writer took the key between the check and the insert.
        return Upserted(
            None,
            error=InvalidInput(
                "Another request changed this record at the same moment; send it again.",
                code="conflict",
            ),
        )


def _check_batch(records: Sequence[object]) -> None:
    if len(records) > MAX_RECORDS:
        raise InvalidInput(
            f"Send at most {MAX_RECORDS} records at once; split the rest into more requests.",
            field="records",
            code="too_many",
        )


def _fields_besides(record: Mapping[str, object], key: str) -> dict[str, object]:
    return {name: value for name, value in record.items() if name != key}


def upsert_people(records: Sequence[Mapping[str, object]]) -> list[Upserted[Person]]:
    """Each record's outcome, in order; each record holds ``email`` and its fields."""
    _check_batch(records)
    outcomes: list[Upserted[Person]] = []
    for record in records:
        outcomes.append(_one(upsert_person, record.get("email"), _fields_besides(record, "email")))
    return outcomes


def upsert_companies(records: Sequence[Mapping[str, object]]) -> list[Upserted[Company]]:
    """Each record's outcome, in order; each record holds ``domain`` and its fields."""
    _check_batch(records)
    outcomes: list[Upserted[Company]] = []
    for record in records:
        key = record.get("domain")
        outcomes.append(_one(upsert_company, key, _fields_besides(record, "domain")))
    return outcomes
