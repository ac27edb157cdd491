"""Deleting a person or a company, and taking people out of a list: each asks first
(GET) and acts on the answer (POST), so a stray click or a prefetching browser never
removes anything."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from sequencer.crm import lists as list_service
from sequencer.crm.companies import delete_company as delete_company_record
from sequencer.crm.models import ListEntry, Person, PersonList
from sequencer.crm.people import delete_person as delete_person_record
from sequencer.sequences.models import OPEN_STATUSES, Enrollment
from sequencer.web.ask_first import ask_then_remove
from sequencer.web.records.companies import company_or_404
from sequencer.web.records.selection import ids_from
from sequencer.web.viewer_zone import render_in_viewer_zone

# The names listed on the question; the rest are counted.
NAMES_SHOWN = 20


@login_required
def delete_person(request: HttpRequest, person_id: int) -> HttpResponse:
    person = Person.objects.filter(pk=person_id).prefetch_related("email_addresses").first()
    if person is None:
        raise Http404("No such person.")
    return ask_then_remove(
        request,
        remove=lambda: delete_person_record(person),
        done=f"Deleted {person.display_name}.",
        then="web:people",
        template="web/records/person_delete.html",
        question=lambda: {
            "section": "people",
            "person": person,
            "open_enrollments": Enrollment.objects.filter(
                person=person, status__in=OPEN_STATUSES
            ).count(),
            "list_count": ListEntry.objects.filter(person=person).count(),
        },
    )


@login_required
def delete_company(request: HttpRequest, company_id: int) -> HttpResponse:
    company = company_or_404(company_id)
    return ask_then_remove(
        request,
        remove=lambda: delete_company_record(company),
        done=f"Deleted {company.name}.",
        then="web:companies",
        template="web/records/company_delete.html",
        question=lambda: {
            "section": "companies",
            "company": company,
            "people_count": Person.objects.filter(company=company).count(),
        },
    )


@login_required
def remove_from_list(request: HttpRequest, list_id: int) -> HttpResponse:
    found = PersonList.objects.filter(pk=list_id).first()
    if found is None:
        raise Http404("No such list.")
    source = request.POST if request.method == "POST" else request.GET
    picked = ids_from(source, "entry")
    if request.method == "POST" and picked:
        removed = list_service.remove_entries(found, picked)
        noun = "person" if removed == 1 else "people"
        messages.success(request, f"Removed {removed} {noun} from {found.name}.")
        return redirect("web:list", list_id=found.pk)
    entries = list(
        found.entries.filter(pk__in=picked)
        .select_related("person")
        # A person without a name is shown by their address: read them all at once.
        .prefetch_related("person__email_addresses")
        .order_by("added_at", "id")
    )
    return render_in_viewer_zone(
        request,
        "web/records/list_remove.html",
        {
            "section": "lists",
            "list": found,
            "entries": entries,
            "shown": entries[:NAMES_SHOWN],
            "more": max(0, len(entries) - NAMES_SHOWN),
        },
        status=400 if request.method == "POST" else 200,
    )
