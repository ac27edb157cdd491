"""Lists: the lists, a list's entries with its own attributes, and adding people to one.

People are added either from the list (a search to pick them) or from a selection made
in the People table ("Add to list", which asks which list). Entries are selected and
enrolled as ``/enroll/?list=<id>&entry=<id>...``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from sequencer.crm import list_additions
from sequencer.crm import lists as list_service
from sequencer.crm.models import Person, PersonList
from sequencer.crm.people import search_people
from sequencer.domain.errors import InvalidInput
from sequencer.web.records.selection import ids_from, page_of, query_without_page
from sequencer.web.viewer_zone import render_in_viewer_zone

# People offered by the search on a list's "Add people" page.
SEARCH_LIMIT = 25


@login_required
def lists(request: HttpRequest) -> HttpResponse:
    rows = PersonList.objects.annotate(entry_count=Count("entries")).order_by("name", "id")
    page = page_of(rows, request)
    return render_in_viewer_zone(
        request,
        "web/records/lists.html",
        {"section": "lists", "page": page, "query": query_without_page(request.GET)},
    )


@login_required
def new_list(request: HttpRequest) -> HttpResponse:
    name, error = "", ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            created = list_service.create_list(name)
        except InvalidInput as exc:
            error = exc.message
        else:
            messages.success(request, f"Created the list “{created.name}”.")
            return redirect("web:list", list_id=created.pk)
    return render_in_viewer_zone(
        request,
        "web/records/list_new.html",
        {"section": "lists", "name": name, "error": error},
        status=400 if error else 200,
    )


def _list(list_id: int) -> PersonList:
    found = PersonList.objects.filter(pk=list_id).prefetch_related("attributes").first()
    if found is None:
        raise Http404("No such list.")
    return found


@login_required
def person_list(request: HttpRequest, list_id: int) -> HttpResponse:
    found = _list(list_id)
    entries = (
        list_service.entries_of(found)
        .select_related("person", "person__company")
        .prefetch_related("person__email_addresses")
    )
    page = page_of(entries, request)
    return render_in_viewer_zone(
        request,
        "web/records/list.html",
        {
            "section": "lists",
            "list": found,
            "columns": list(found.attributes.all()),
            "page": page,
            "query": query_without_page(request.GET),
        },
    )


def _add(person_list: PersonList, person_ids: list[int]) -> tuple[int, int]:
    """Add the people not in the list yet: (how many were added, how many already were)."""
    done = list_additions.add_people(person_list, person_ids)
    return done.count(list_additions.ADDED), done.count(list_additions.ALREADY)


def _added_message(request: HttpRequest, person_list: PersonList, added: int, had: int) -> None:
    text = f"Added {added} {'person' if added == 1 else 'people'} to “{person_list.name}”."
    if had:
        text += f" {had} {'was' if had == 1 else 'were'} already in it."
    messages.success(request, text)


@login_required
def add_people(request: HttpRequest, list_id: int) -> HttpResponse:
    """Search for people and add the ones picked to this list."""
    found = _list(list_id)
    if request.method == "POST":
        picked = ids_from(request.POST, "person")
        if picked:
            added, had = _add(found, picked)
            _added_message(request, found, added, had)
            return redirect("web:list", list_id=found.pk)
    q = request.GET.get("q", "").strip()
    results: list[Person] = []
    members: set[int] = set()
    if q:
        results = list(search_people(q=q).select_related("company")[:SEARCH_LIMIT])
        members = set(
            found.entries.filter(person__in=[p.pk for p in results]).values_list(
                "person_id", flat=True
            )
        )
    return render_in_viewer_zone(
        request,
        "web/records/list_add.html",
        {
            "section": "lists",
            "list": found,
            "q": q,
            "results": [(p, p.pk in members) for p in results],
            "nothing_picked": request.method == "POST",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def add_selection(request: HttpRequest) -> HttpResponse:
    """ "Add to list" from the People table: the people selected, and which list."""
    source = request.POST if request.method == "POST" else request.GET
    picked = ids_from(source, "person")
    people = list(Person.objects.filter(pk__in=picked).prefetch_related("email_addresses"))
    all_lists = list(PersonList.objects.order_by("name", "id"))
    errors: dict[str, str] = {}
    if request.method == "POST" and people:
        target, errors = _target_list(request, all_lists)
        if target is not None:
            added, had = _add(target, [p.pk for p in people])
            _added_message(request, target, added, had)
            return redirect("web:list", list_id=target.pk)
    return render_in_viewer_zone(
        request,
        "web/records/add_to_list.html",
        {
            "section": "people",
            "people": people,
            "lists": all_lists,
            "errors": errors,
            "chosen": source.get("list", ""),
            "new_name": source.get("new_name", ""),
        },
        status=400 if errors else 200,
    )


def _target_list(
    request: HttpRequest, all_lists: list[PersonList]
) -> tuple[PersonList | None, dict[str, str]]:
    chosen = request.POST.get("list", "")
    if chosen == "new":
        try:
            return list_service.create_list(request.POST.get("new_name", "")), {}
        except InvalidInput as exc:
            return None, {"new_name": exc.message}
    for candidate in all_lists:
        if str(candidate.pk) == chosen:
            return candidate, {}
    return None, {"list": "Choose a list, or a new list and its name."}
