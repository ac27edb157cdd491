"""The sequences list: what a member can see, with its recipients and last publish.

The page costs the same number of queries whatever the number of rows: the last
publish comes from a subquery, creators from a join, levels from one grants query, and
the recipient counts from one grouped query over the listed sequences' enrollments.

The counts are not correlated subqueries of the list's query: PostgreSQL plans those
once for any sequence, and when one sequence holds most enrollments it expects every
sequence to, and scans the whole enrollments table once per listed sequence. The grouped
query reads only the listed sequences' enrollments, from the (sequence, status) index.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from sequencer.clock import system_clock
from sequencer.domain.lifecycle import EnrollmentStatus
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, authoring
from sequencer.sequences.models import Enrollment, Sequence, SequenceStatus, SequenceVersion
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.guard import access_answers
from sequencer.workspace.models import User

PAGE_SIZE = 50
# Recipients still on their way through the sequence (a paused one resumes later).
IN_PROGRESS = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
ORDERINGS = {
    "created": (F("created_at").desc(), F("pk").desc()),
    "published": (F("last_published_at").desc(nulls_last=True), F("pk").desc()),
}


class ListFilters(forms.Form):
    sort = forms.ChoiceField(
        label="Sort by",
        choices=[("created", "Date created"), ("published", "Last published")],
        required=False,
    )
    creator = forms.TypedChoiceField(label="Created by", coerce=int, required=False)
    archived = forms.BooleanField(label="Show archived", required=False)

    def __init__(self, data: Any, creators: list[User]) -> None:
        super().__init__(data)
        self.fields["creator"].choices = [("", "Anyone")] + [  # type: ignore[attr-defined]
            (u.pk, str(u)) for u in creators
        ]


def _rows(visible: QuerySet[Sequence]) -> QuerySet[Sequence]:
    latest = SequenceVersion.objects.filter(sequence=OuterRef("pk")).order_by("-number")
    return visible.select_related("created_by").annotate(
        last_published_at=Subquery(latest.values("published_at")[:1]),
    )


def _count_recipients(listed: list[Sequence]) -> None:
    """Set ``active_recipients`` and ``total_recipients`` on each listed sequence."""
    counts: dict[int, tuple[int, int]] = {
        row["sequence_id"]: (row["active"], row["total"])
        for row in Enrollment.objects.filter(sequence_id__in=[s.pk for s in listed])
        .order_by()
        .values("sequence_id")
        .annotate(total=Count("pk"), active=Count("pk", filter=Q(status__in=IN_PROGRESS)))
    }
    for sequence in listed:
        active, total = counts.get(sequence.pk, (0, 0))
        sequence.active_recipients = active  # type: ignore[attr-defined]
        sequence.total_recipients = total  # type: ignore[attr-defined]


@login_required
def sequence_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_member(request)
    visible = access.visible_sequences(user)
    creators = list(
        User.objects.filter(created_sequences__in=visible).distinct().order_by("name", "email")
    )
    filters = ListFilters(request.GET or None, creators)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    rows = _rows(visible)
    if not wanted.get("archived"):
        rows = rows.exclude(status=SequenceStatus.ARCHIVED)
    if wanted.get("creator"):
        rows = rows.filter(created_by_id=wanted["creator"])
    sort = wanted.get("sort") or "created"
    page = Paginator(rows.order_by(*ORDERINGS[sort]), PAGE_SIZE).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    _count_recipients(listed)
    levels = access.levels_for(user, listed)
    return render(
        request,
        "web/sequences/list.html",
        {
            "section": "sequences",
            "filters": filters,
            "page": page,
            "rows": [(s, levels[s.pk] >= Level.READ_WRITE) for s in listed],
            "filtered": bool(wanted.get("creator")),
            "any_visible": bool(listed) or visible.exists(),
            "query": _query_without_page(request),
        },
    )


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_POST
@login_required
def new_sequence(request: HttpRequest) -> HttpResponse:
    created = authoring.create_sequence(signed_in_member(request), clock=system_clock)
    return redirect("web:sequence_editor", sequence_id=created.pk)


def _back_to_list(request: HttpRequest) -> HttpResponse:
    # Back to the list as it was filtered (the query string only ever follows this path).
    query = request.POST.get("return_query", "")
    url = reverse("web:sequences")
    return redirect(f"{url}?{query}" if query else url)


@require_POST
@login_required
@access_answers
def duplicate_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    copy = authoring.duplicate(signed_in_member(request), sequence_id, clock=system_clock)
    messages.success(request, f"Duplicated as “{copy.display_name}”.")
    return _back_to_list(request)


@require_POST
@login_required
@access_answers
def archive_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    archived = authoring.archive(signed_in_member(request), sequence_id, clock=system_clock)
    messages.success(request, f"Archived “{archived.display_name}”.")
    return _back_to_list(request)


@require_POST
@login_required
@access_answers
def unarchive_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    restored = authoring.unarchive(signed_in_member(request), sequence_id, clock=system_clock)
    messages.success(request, f"Unarchived “{restored.display_name}”.")
    return _back_to_list(request)
