"""The Companies table and a company's page, whose People tab selects people to enroll.

Both cost a fixed number of queries: people are counted in a subquery, domains and
addresses come from one prefetch each.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse

from sequencer.crm.companies import domains_of, search_companies
from sequencer.crm.models import Attribute, Company, Person, RecordObject
from sequencer.crm.people import search_people
from sequencer.web.records.people_table import ATTRIBUTE_COLUMNS
from sequencer.web.records.selection import page_of, query_without_page
from sequencer.web.viewer_zone import render_in_viewer_zone


def _people_count() -> Coalesce:
    counted = (
        Person.objects.filter(company=OuterRef("pk"))
        .order_by()
        .values("company")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@login_required
def companies(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    rows = search_companies(q=q).annotate(people_count=_people_count())
    page = page_of(rows, request)
    return render_in_viewer_zone(
        request,
        "web/records/companies.html",
        {
            "section": "companies",
            "page": page,
            "q": q,
            "any_companies": bool(page.object_list) or (bool(q) and Company.objects.exists()),
            "query": query_without_page(request.GET),
        },
    )


def company_or_404(company_id: int) -> Company:
    found = Company.objects.filter(pk=company_id).prefetch_related("domain_rows").first()
    if found is None:
        raise Http404("No such company.")
    return found


@login_required
def company(request: HttpRequest, company_id: int) -> HttpResponse:
    """The People tab: the company's people, to select and enroll."""
    found = company_or_404(company_id)
    people = search_people(company_id=found.pk).select_related("company")
    people = people.order_by("last_name", "first_name", "id")
    page = page_of(people, request)
    return render_in_viewer_zone(
        request,
        "web/records/company.html",
        {
            "section": "companies",
            "company": found,
            "domains": domains_of(found),
            "tab": "people",
            "page": page,
            "columns": list(Attribute.objects.filter(object=RecordObject.PEOPLE))[
                :ATTRIBUTE_COLUMNS
            ],
            "query": query_without_page(request.GET),
        },
    )


@login_required
def company_details(request: HttpRequest, company_id: int) -> HttpResponse:
    found = company_or_404(company_id)
    attributes = [
        (a, (found.attributes or {}).get(a.slug))
        for a in Attribute.objects.filter(object=RecordObject.COMPANIES)
    ]
    return render_in_viewer_zone(
        request,
        "web/records/company.html",
        {
            "section": "companies",
            "company": found,
            "domains": domains_of(found),
            "tab": "details",
            "attributes": attributes,
        },
    )
