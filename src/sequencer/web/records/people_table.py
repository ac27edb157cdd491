"""The People table: every person, searched, filtered on attributes, sorted and paged.

The page costs the same queries whatever the number of rows: one count, the page's ids,
those people with their company joined, one query for their addresses, plus the
attribute and list definitions the filters offer. Sorting by name reads the
``person_name_order`` index, and the page's ids are found before the rows are read, so
the first page, a search and the last of 200 pages cost about the same at 10,000 people
as at 100.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import F, OrderBy, QuerySet
from django.http import HttpRequest, HttpResponse

from sequencer.crm.models import Attribute, Person, PersonList, RecordObject
from sequencer.crm.people import search_people
from sequencer.web.records import attribute_filters
from sequencer.web.records.selection import page_by_ids, query_without_page
from sequencer.web.viewer_zone import render_in_viewer_zone

# How many custom attributes get a column of their own (the others are on the person page).
ATTRIBUTE_COLUMNS = 3

SORTS: dict[str, tuple[str, tuple[OrderBy, ...]]] = {
    "name": (
        "Name A to Z",
        (F("last_name").asc(), F("first_name").asc(), F("pk").asc()),
    ),
    "-name": (
        "Name Z to A",
        (F("last_name").desc(), F("first_name").desc(), F("pk").desc()),
    ),
    "company": (
        "Company A to Z",
        (F("company__name").asc(nulls_last=True), F("last_name").asc(), F("pk").asc()),
    ),
    "-created": ("Newest first", (F("created_at").desc(), F("pk").desc())),
    "created": ("Oldest first", (F("created_at").asc(), F("pk").asc())),
}
DEFAULT_SORT = "name"


def sorted_people(people: QuerySet[Person], sort: str) -> QuerySet[Person]:
    _, ordering = SORTS.get(sort, SORTS[DEFAULT_SORT])
    return people.select_related("company").order_by(*ordering)


@login_required
def people(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    attributes = list(Attribute.objects.filter(object=RecordObject.PEOPLE))
    lists = list(PersonList.objects.order_by("name", "id"))
    list_id = request.GET.get("list", "")
    chosen_list = int(list_id) if list_id.isdigit() else None
    filters = attribute_filters.filters_for(attributes, request.GET)
    found = attribute_filters.apply(search_people(q=q, list_id=chosen_list), filters)
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    page = page_by_ids(sorted_people(found, sort), request)
    filtered = bool(q or chosen_list or any(f.value for f in filters))
    return render_in_viewer_zone(
        request,
        "web/records/people.html",
        {
            "section": "people",
            "page": page,
            "q": q,
            "sort": sort,
            "sorts": [(key, label) for key, (label, _) in SORTS.items()],
            "lists": lists,
            "chosen_list": chosen_list,
            "filters": filters,
            "columns": attributes[:ATTRIBUTE_COLUMNS],
            "filtered": filtered,
            "any_people": bool(page.object_list) or (filtered and Person.objects.exists()),
            "query": query_without_page(request.GET),
        },
    )
