"""CRM records: attributes, companies, people, lists, imports.

Every member of the workspace sees and edits every record; the API's default
authentication is all the access control there is. The logic is in
:mod:`sequencer.crm`; this module only translates JSON to service calls and back.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Literal

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from sequencer.api.errors import NotFound
from sequencer.api.pagination import Page, page_of
from sequencer.crm import attributes as attribute_service
from sequencer.crm import companies as company_service
from sequencer.crm import lists as list_service
from sequencer.crm import people as people_service
from sequencer.crm.companies import domains_of
from sequencer.crm.importing import ImportReport, import_csv
from sequencer.crm.models import (
    Attribute,
    Company,
    ListEntry,
    Person,
    PersonList,
)
from sequencer.domain.errors import InvalidInput
from sequencer.inputs import Input

router = Router(tags=["CRM"])


# --- Attributes ---------------------------------------------------------------------------


class AttributeIn(Input):
    object: str
    slug: str
    title: str
    type: str
    options: list[str] | None = None
    target: str | None = None
    is_multiple: bool = False


class AttributePatch(Input):
    title: str | None = None
    options: list[str] | None = None


class AttributeOut(Schema):
    id: int
    object: str
    slug: str
    title: str
    type: str
    options: list[str]
    target: str | None
    is_multiple: bool
    created_at: datetime


def _attribute(a: Attribute) -> AttributeOut:
    return AttributeOut(
        id=a.pk,
        object=a.object,
        slug=a.slug,
        title=a.title,
        type=a.type,
        options=list(a.options or ()),
        target=a.target or None,
        is_multiple=a.is_multiple,
        created_at=a.created_at,
    )


def _get_attribute(attribute_id: int) -> Attribute:
    attribute = Attribute.objects.filter(pk=attribute_id).first()
    if attribute is None:
        raise NotFound("attribute")
    return attribute


@router.post("/attributes", response={201: AttributeOut})
def create_attribute(request: HttpRequest, payload: AttributeIn) -> Status[AttributeOut]:
    attribute = attribute_service.create_attribute(
        payload.object,
        payload.slug,
        payload.title,
        payload.type,
        options=payload.options,
        target=payload.target,
        is_multiple=payload.is_multiple,
    )
    return Status(201, _attribute(attribute))


@router.get("/attributes", response=list[AttributeOut])
def list_attributes(
    request: HttpRequest, object: Literal["people", "companies"] | None = None
) -> list[AttributeOut]:
    attributes = Attribute.objects.order_by("object", "id")
    if object is not None:
        attributes = attributes.filter(object=object)
    return [_attribute(a) for a in attributes]


@router.get("/attributes/{attribute_id}", response=AttributeOut)
def get_attribute(request: HttpRequest, attribute_id: int) -> AttributeOut:
    return _attribute(_get_attribute(attribute_id))


@router.patch("/attributes/{attribute_id}", response=AttributeOut)
def update_attribute(
    request: HttpRequest, attribute_id: int, payload: AttributePatch
) -> AttributeOut:
    attribute = attribute_service.update_attribute(
        _get_attribute(attribute_id), title=payload.title, options=payload.options
    )
    return _attribute(attribute)


@router.delete("/attributes/{attribute_id}", response={204: None})
def delete_attribute(request: HttpRequest, attribute_id: int) -> Status[None]:
    attribute_service.delete_attribute(_get_attribute(attribute_id))
    return Status(204, None)


# --- Companies ----------------------------------------------------------------------------


class CompanyIn(Input):
    name: str
    domains: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


class CompanyPatch(Input):
    name: str | None = None
    domains: list[str] | None = None
    attributes: dict[str, Any] | None = None


class CompanyOut(Schema):
    id: int
    name: str
    domains: list[str]
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CompanyPage(Schema):
    items: list[CompanyOut]
    count: int


class CompanyFilters(Page):
    q: str | None = None
    domain: str | None = None


def _company(c: Company) -> CompanyOut:
    return CompanyOut(
        id=c.pk,
        name=c.name,
        domains=domains_of(c),
        attributes=c.attributes or {},
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _get_company(company_id: int) -> Company:
    company = Company.objects.filter(pk=company_id).prefetch_related("domain_rows").first()
    if company is None:
        raise NotFound("company")
    return company


@router.post("/companies", response={201: CompanyOut})
def create_company(request: HttpRequest, payload: CompanyIn) -> Status[CompanyOut]:
    company = company_service.create_company(payload.name, payload.domains, payload.attributes)
    return Status(201, _company(_get_company(company.pk)))


@router.get("/companies", response=CompanyPage)
def list_companies(request: HttpRequest, filters: Query[CompanyFilters]) -> CompanyPage:
    found = company_service.search_companies(q=filters.q, domain=filters.domain)
    items, count = page_of(found, filters)
    return CompanyPage(items=[_company(c) for c in items], count=count)


@router.get("/companies/{company_id}", response=CompanyOut)
def get_company(request: HttpRequest, company_id: int) -> CompanyOut:
    return _company(_get_company(company_id))


@router.patch("/companies/{company_id}", response=CompanyOut)
def update_company(request: HttpRequest, company_id: int, payload: CompanyPatch) -> CompanyOut:
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise InvalidInput("A company needs a name; it cannot be null.", field="name")
    company = company_service.update_company(_get_company(company_id), **changes)
    return _company(_get_company(company.pk))


@router.delete("/companies/{company_id}", response={204: None})
def delete_company(request: HttpRequest, company_id: int) -> Status[None]:
    company_service.delete_company(_get_company(company_id))
    return Status(204, None)


# --- People -------------------------------------------------------------------------------


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


class PersonPatch(Input):
    email_addresses: list[Any] | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company_id: int | None = None
    time_zone: str | None = None
    attributes: dict[str, Any] | None = None


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


# --- Lists --------------------------------------------------------------------------------


class ListAttributeIn(Input):
    slug: str
    title: str | None = None
    type: str
    options: list[str] | None = None


class ListAttributeOut(Schema):
    id: int
    slug: str
    title: str
    type: str
    options: list[str]


class ListIn(Input):
    name: str
    attributes: list[ListAttributeIn] = Field(default_factory=list)


class ListPatch(Input):
    name: str | None = None
    attributes: list[ListAttributeIn] | None = Field(
        default=None,
        description="The list's attributes from now on: those left out are removed, "
        "with the values entries gave them.",
    )


class ListOut(Schema):
    id: int
    name: str
    attributes: list[ListAttributeOut]
    entry_count: int
    created_at: datetime


class ListPage(Schema):
    items: list[ListOut]
    count: int


class EntryIn(Input):
    person_id: int
    values: dict[str, Any] = Field(default_factory=dict)


class EntryPatch(Input):
    values: dict[str, Any]


class EntryOut(Schema):
    id: int
    list_id: int
    person_id: int
    values: dict[str, Any]
    added_at: datetime


class EntryPage(Schema):
    items: list[EntryOut]
    count: int


def _lists() -> QuerySet[PersonList]:
    return PersonList.objects.annotate(entry_count=Count("entries")).prefetch_related("attributes")


def _list(pl: PersonList) -> ListOut:
    return ListOut(
        id=pl.pk,
        name=pl.name,
        attributes=[
            ListAttributeOut(
                id=a.pk, slug=a.slug, title=a.title, type=a.type, options=list(a.options or ())
            )
            for a in pl.attributes.all()
        ],
        entry_count=getattr(pl, "entry_count", 0),
        created_at=pl.created_at,
    )


def _get_list(list_id: int) -> PersonList:
    person_list = _lists().filter(pk=list_id).first()
    if person_list is None:
        raise NotFound("list")
    return person_list


def _entry(e: ListEntry) -> EntryOut:
    return EntryOut(
        id=e.pk,
        list_id=e.person_list_id,
        person_id=e.person_id,
        values=e.values or {},
        added_at=e.added_at,
    )


def _get_entry(list_id: int, entry_id: int) -> ListEntry:
    entry = (
        ListEntry.objects.filter(pk=entry_id, person_list_id=list_id)
        .select_related("person_list")
        .first()
    )
    if entry is None:
        raise NotFound("list entry")
    return entry


def _definitions(items: list[ListAttributeIn] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [item.model_dump() for item in items]


@router.post("/lists", response={201: ListOut})
def create_list(request: HttpRequest, payload: ListIn) -> Status[ListOut]:
    person_list = list_service.create_list(payload.name, _definitions(payload.attributes))
    return Status(201, _list(_get_list(person_list.pk)))


@router.get("/lists", response=ListPage)
def list_lists(request: HttpRequest, page: Query[Page]) -> ListPage:
    items, count = page_of(_lists().order_by("name", "id"), page)
    return ListPage(items=[_list(pl) for pl in items], count=count)


@router.get("/lists/{list_id}", response=ListOut)
def get_list(request: HttpRequest, list_id: int) -> ListOut:
    return _list(_get_list(list_id))


@router.patch("/lists/{list_id}", response=ListOut)
def update_list(request: HttpRequest, list_id: int, payload: ListPatch) -> ListOut:
    changes: dict[str, Any] = {}
    fields = payload.model_fields_set
    if "name" in fields:
        changes["name"] = payload.name
    if "attributes" in fields:
        changes["attributes"] = _definitions(payload.attributes) or []
    list_service.update_list(_get_list(list_id), **changes)
    return _list(_get_list(list_id))


@router.delete("/lists/{list_id}", response={204: None})
def delete_list(request: HttpRequest, list_id: int) -> Status[None]:
    list_service.delete_list(_get_list(list_id))
    return Status(204, None)


@router.post("/lists/{list_id}/entries", response={201: EntryOut})
def add_entry(request: HttpRequest, list_id: int, payload: EntryIn) -> Status[EntryOut]:
    entry = list_service.add_entry(_get_list(list_id), payload.person_id, payload.values)
    return Status(201, _entry(entry))


@router.get("/lists/{list_id}/entries", response=EntryPage)
def list_entries(request: HttpRequest, list_id: int, page: Query[Page]) -> EntryPage:
    items, count = page_of(list_service.entries_of(_get_list(list_id)), page)
    return EntryPage(items=[_entry(e) for e in items], count=count)


@router.get("/lists/{list_id}/entries/{entry_id}", response=EntryOut)
def get_entry(request: HttpRequest, list_id: int, entry_id: int) -> EntryOut:
    return _entry(_get_entry(list_id, entry_id))


@router.patch("/lists/{list_id}/entries/{entry_id}", response=EntryOut)
def update_entry(
    request: HttpRequest, list_id: int, entry_id: int, payload: EntryPatch
) -> EntryOut:
    return _entry(list_service.update_entry(_get_entry(list_id, entry_id), payload.values))


@router.delete("/lists/{list_id}/entries/{entry_id}", response={204: None})
def delete_entry(request: HttpRequest, list_id: int, entry_id: int) -> Status[None]:
    list_service.delete_entry(_get_entry(list_id, entry_id))
    return Status(204, None)


# --- CSV imports --------------------------------------------------------------------------


class ImportErrorOut(Schema):
    line: int
    message: str
    field: str | None


class ImportOut(Schema):
    created: int
    updated: int
    failed: int
    errors: list[ImportErrorOut]


def _import(request: HttpRequest, kind: str, file: UploadedFile | None) -> ImportOut:
    if file is not None:
        stream: Any = file
    elif request.content_type in {"text/csv", "text/plain", "application/csv"}:
        stream = io.BytesIO(request.body)
    else:
        raise InvalidInput(
            "Send the CSV file as the multipart field 'file', or as the request body with "
            "Content-Type: text/csv.",
            field="file",
            code="required",
        )
    report: ImportReport = import_csv(kind, stream)
    return ImportOut(
        created=report.created,
        updated=report.updated,
        failed=report.failed,
        errors=[
            ImportErrorOut(line=e.line, message=e.message, field=e.field) for e in report.errors
        ],
    )


@router.post("/imports/people", response=ImportOut)
def import_people(request: HttpRequest, file: File[UploadedFile | None] = None) -> ImportOut:
    """Create or update people from a CSV file (matched on any of their addresses)."""
    return _import(request, "people", file)


@router.post("/imports/companies", response=ImportOut)
def import_companies(request: HttpRequest, file: File[UploadedFile | None] = None) -> ImportOut:
    """Create or update companies from a CSV file (matched on domain, else on name)."""
    return _import(request, "companies", file)
