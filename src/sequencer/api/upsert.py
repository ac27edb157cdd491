"""Upserts for CRM syncs: people by email address, companies by domain.

``PUT /people/by-email/{email}`` and ``PUT /companies/by-domain/{domain}`` create the
record when no one has that key, or change the one that has it (201 or 200, with
``created``). ``POST /people/upsert`` and ``POST /companies/upsert`` do the same for up to
1,000 records and answer each one, in order. Every member sees and edits every record,
as everywhere in the CRM; a read-only token is refused (sequencer.api.auth). The logic is
:mod:`sequencer.crm.upsert`.

These routes are added before the people and companies routers: ``/people/upsert``
would otherwise be taken for ``/people/{person_id}``.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from sequencer.api.companies import CompanyOut, _company, _get_company
from sequencer.api.people import PersonOut, _get_person, _person
from sequencer.crm import upsert
from sequencer.inputs import Input

router = Router(tags=["CRM"])

_PERSON_FIELDS_HELP = (
    "Fields left out keep their value (a new person gets the defaults); attributes are "
    "merged, a null value removing one."
)


class PersonFields(Input):
    email_addresses: list[Any] | None = Field(
        default=None,
        description="All of the person's addresses, the matched one among them (strings, "
        'the first primary, or {"email", "is_primary"} objects). Left out, the other '
        "addresses stay as they are; a new person has only the matched one.",
    )
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company_id: int | None = None
    company_domain: str | None = Field(
        default=None,
        description="The person's company by domain: found, or created (named "
        "company_name, else the domain). Not with company_id.",
    )
    company_name: str | None = Field(
        default=None, description="The name of a company created for company_domain."
    )
    time_zone: str | None = None
    owner_id: int | None = Field(
        default=None,
        description="The member who owns the person (workflows can send as the owner).",
    )
    attributes: dict[str, Any] | None = None


class PersonRecord(PersonFields):
    email: str = Field(description="The address the person is matched on (any case).")


class CompanyFields(Input):
    name: str | None = Field(default=None, description="Required to create a company.")
    domains: list[str] | None = Field(
        default=None,
        description="All of the company's domains, the matched one among them. Left out, "
        "the other domains stay as they are; a new company has only the matched one.",
    )
    attributes: dict[str, Any] | None = None


class CompanyRecord(CompanyFields):
    domain: str = Field(description="The domain the company is matched on (acme.com).")


class UpsertedPersonOut(Schema):
    created: bool = Field(description="True when no one had the address and the person is new.")
    person: PersonOut


class UpsertedCompanyOut(Schema):
    created: bool = Field(description="True when no company had the domain and it is new.")
    company: CompanyOut


class PeopleBatchIn(Input):
    records: list[PersonRecord] = Field(max_length=upsert.MAX_RECORDS)


class CompaniesBatchIn(Input):
    records: list[CompanyRecord] = Field(max_length=upsert.MAX_RECORDS)


class RecordErrorOut(Schema):
    code: str
    message: str
    field: str | None = Field(description="The record's field to fix, such as email.")


class OutcomeOut(Schema):
    index: int = Field(description="The record's position in the request, from 0.")
    status: Literal["created", "updated", "error"]
    id: int | None = Field(description="The record's id; null when it was refused.")
    error: RecordErrorOut | None = None


class BatchOut(Schema):
    created: int
    updated: int
    failed: int
    results: list[OutcomeOut] = Field(description="One per record, in request order.")


def _given(fields: Input) -> dict[str, Any]:
    return fields.model_dump(exclude_unset=True)


def _batch(outcomes: list[upsert.Upserted[Any]]) -> BatchOut:
    results = []
    for index, outcome in enumerate(outcomes):
        if outcome.error is not None:
            error = outcome.error
            results.append(
                OutcomeOut(
                    index=index,
                    status="error",
                    id=None,
                    error=RecordErrorOut(code=error.code, message=error.message, field=error.field),
                )
            )
        else:
            assert outcome.record is not None
            status: Literal["created", "updated"] = "created" if outcome.created else "updated"
            results.append(OutcomeOut(index=index, status=status, id=outcome.record.pk))
    return BatchOut(
        created=sum(1 for r in results if r.status == "created"),
        updated=sum(1 for r in results if r.status == "updated"),
        failed=sum(1 for r in results if r.status == "error"),
        results=results,
    )


@router.put("/people/by-email/{email}", response={200: UpsertedPersonOut, 201: UpsertedPersonOut})
def upsert_person(
    request: HttpRequest, email: str, payload: PersonFields
) -> Status[UpsertedPersonOut]:
    """Create the person with this address, or change the person who has it.

    The address is matched in any case. Answers 201 when the person is new, 200 when an
    existing one changed."""
    done = upsert.upsert_person(email, _given(payload))
    assert done.record is not None
    out = UpsertedPersonOut(created=done.created, person=_person(_get_person(done.record.pk)))
    return Status(201 if done.created else 200, out)


@router.post("/people/upsert", response=BatchOut)
def upsert_people(request: HttpRequest, payload: PeopleBatchIn) -> BatchOut:
    """Create or change up to 1,000 people, each matched on its `email`.

    Each record gets its own outcome (created, updated, or an error naming the record's
    field to fix), in request order: one refused record never stops the others."""
    records = [record.model_dump(exclude_unset=True) for record in payload.records]
    return _batch(list(upsert.upsert_people(records)))


@router.put(
    "/companies/by-domain/{domain}", response={200: UpsertedCompanyOut, 201: UpsertedCompanyOut}
)
def upsert_company(
    request: HttpRequest, domain: str, payload: CompanyFields
) -> Status[UpsertedCompanyOut]:
    """Create the company with this domain, or change the company that has it.

    Answers 201 when the company is new (then `name` is required), 200 when an existing
    one changed; attributes are merged."""
    done = upsert.upsert_company(domain, _given(payload))
    assert done.record is not None
    out = UpsertedCompanyOut(created=done.created, company=_company(_get_company(done.record.pk)))
    return Status(201 if done.created else 200, out)


@router.post("/companies/upsert", response=BatchOut)
def upsert_companies(request: HttpRequest, payload: CompaniesBatchIn) -> BatchOut:
    """Create or change up to 1,000 companies, each matched on its `domain`.

    Each record gets its own outcome, in request order: one refused record never stops
    the others."""
    records = [record.model_dump(exclude_unset=True) for record in payload.records]
    return _batch(list(upsert.upsert_companies(records)))
