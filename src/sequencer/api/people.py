"""People and their email addresses: create, search, change, remove.

Every member of the workspace sees and edits every record; the API's default
authentication is all the access control there is. The logic is in :mod:`sequencer.crm`;
this module only translates JSON to service calls and back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from sequencer.api.errors import NotFound
from sequencer.api.pagination import Page, page_of
from sequencer.crm import people as people_service
from sequencer.crm.models import Person
from sequencer.inputs import Input

router = Router(tags=["CRM"])


class EmailAddressOut(Schema):
    email: str
    is_primary: bool


class PersonIn(Input):
    email_addresses: list[Any] = Field(
        description='Strings (the first is primary) or {"email", "is_primary"} objects.'
    )
    first_name: str = ""
    last_name: str = ""
    job_title: str = ""
    company_id: int | None = None
    time_zone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    owner_id: int | None = Field(None, description="The member who owns this person.")


class PersonPatch(Input):
    email_addresses: list[Any] | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company_id: int | None = None
    time_zone: str | None = None
    attributes: dict[str, Any] | None = None
    owner_id: int | None = Field(
        None, description="The member who owns this person; null clears it."
    )


class PersonOut(Schema):
    id: int
    first_name: str
    last_name: str
    full_name: str
    email_addresses: list[EmailAddressOut] = Field(
        description="The primary address first (is_primary true), then the others in order."
    )
    job_title: str
    company_id: int | None
    time_zone: str | None
    attributes: dict[str, Any]
    owner_id: int | None = Field(description="The member who owns this person, or null.")
    created_at: datetime
    updated_at: datetime


class PersonPage(Schema):
    items: list[PersonOut]
    count: int


class PersonFilters(Page):
    q: str | None = None
    email: str | None = None
    company_id: int | None = None
    list_id: int | None = None


def _person(p: Person) -> PersonOut:
    emails = p.ordered_emails
    return PersonOut(
        id=p.pk,
        first_name=p.first_name,
        last_name=p.last_name,
        full_name=p.full_name,
        email_addresses=[EmailAddressOut(email=e.email, is_primary=e.is_primary) for e in emails],
        job_title=p.job_title,
        company_id=p.company_id,
        time_zone=p.time_zone or None,
        attributes=p.attributes or {},
        owner_id=p.owner_id,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _get_person(person_id: int) -> Person:
    person = Person.objects.filter(pk=person_id).prefetch_related("email_addresses").first()
    if person is None:
        raise NotFound("person")
    return person


@router.post("/people", response={201: PersonOut})
def create_person(request: HttpRequest, payload: PersonIn) -> Status[PersonOut]:
    person = people_service.create_person(**payload.model_dump())
    return Status(201, _person(_get_person(person.pk)))


@router.get("/people", response=PersonPage)
def list_people(request: HttpRequest, filters: Query[PersonFilters]) -> PersonPage:
    found = people_service.search_people(
        q=filters.q, email=filters.email, company_id=filters.company_id, list_id=filters.list_id
    )
    items, count = page_of(found, filters)
    return PersonPage(items=[_person(p) for p in items], count=count)


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request: HttpRequest, person_id: int) -> PersonOut:
    return _person(_get_person(person_id))


@router.patch("/people/{person_id}", response=PersonOut)
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> PersonOut:
    person = people_service.update_person(
        _get_person(person_id), **payload.model_dump(exclude_unset=True)
    )
    return _person(_get_person(person.pk))


@router.delete("/people/{person_id}", response={204: None})
def delete_person(request: HttpRequest, person_id: int) -> Status[None]:
    people_service.delete_person(_get_person(person_id))
    return Status(204, None)
