"""Lists of people, with list-level attributes on each entry.

Every member of the workspace sees and edits every record; the API's default
authentication is all the access control there is. The logic is in :mod:`sequencer.crm`;
this module only translates JSON to service calls and back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from sequencer.api.errors import NotFound
from sequencer.api.pagination import Page, page_of
from sequencer.crm import list_additions
from sequencer.crm import lists as list_service
from sequencer.crm.models import (
    ListEntry,
    PersonList,
)
from sequencer.inputs import Input

router = Router(tags=["CRM"])


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


class ListFilters(Page):
    person_id: int | None = Field(
        default=None, description="Only the lists this person is in (as the person page shows)."
    )


@router.get("/lists", response=ListPage)
def list_lists(request: HttpRequest, page: Query[ListFilters]) -> ListPage:
    found = _lists()
    if page.person_id is not None:
        lists_of_person = ListEntry.objects.filter(person_id=page.person_id)
        found = found.filter(pk__in=lists_of_person.values("person_list_id"))
    items, count = page_of(found.order_by("name", "id"), page)
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


class PeopleToAddIn(Input):
    person_ids: list[int] = Field(max_length=list_additions.MAX_PEOPLE)


class AdditionOut(Schema):
    person_id: int
    status: list_additions.Status
    entry_id: int | None = Field(description="The person's entry; null for no_such_person.")


class AdditionsOut(Schema):
    added: int
    already_in_list: int
    no_such_person: int
    results: list[AdditionOut] = Field(
        description="One per person, in request order (a repeated id is answered once)."
    )


@router.post("/lists/{list_id}/add-people", response=AdditionsOut)
def add_people(request: HttpRequest, list_id: int, payload: PeopleToAddIn) -> AdditionsOut:
    """Add up to 1,000 people to the list at once (the web app's "Add to list").

    People already in the list are left as they are, and ids of no person are skipped:
    each is answered on its own, in request order."""
    done = list_additions.add_people(_get_list(list_id), payload.person_ids)
    return AdditionsOut(
        added=done.count(list_additions.ADDED),
        already_in_list=done.count(list_additions.ALREADY),
        no_such_person=done.count(list_additions.MISSING),
        results=[
            AdditionOut(person_id=o.person_id, status=o.status, entry_id=o.entry_id)
            for o in done.outcomes
        ],
    )


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
