"""Companies: create, find by name or domain, change, remove.

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
from sequencer.crm import companies as company_service
from sequencer.crm.companies import domains_of
from sequencer.crm.models import Company
from sequencer.domain.errors import InvalidInput
from sequencer.inputs import Input

router = Router(tags=["CRM"])


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
