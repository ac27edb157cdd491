"""The sequences list: what a member can see, with its recipients and last publish.

The page costs the same number of queries whatever the number of rows: counts and the
last publish come from subqueries, creators from a join, levels from one grants query.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from sequencer.clock import system_clock
from sequencer.domain.lifecycle import EnrollmentStatus
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, authoring
from sequencer.sequences.models import Enrollment, Sequence, SequenceStatus, SequenceVersion
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


def _count(status: tuple[str, ...] | None = None) -> Coalesce:
    rows = Enrollment.objects.filter(sequence=OuterRef("pk"))
    if status is not None:
        rows = rows.filter(status__in=status)
    counted = rows.order_by().values("sequence").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _rows(visible: QuerySet[Sequence]) -> QuerySet[Sequence]:
    latest = SequenceVersion.objects.filter(sequence=OuterRef("pk")).order_by("-number")
    return visible.select_related("created_by").annotate(
        active_recipients=_count(IN_PROGRESS),
        total_recipients=_count(),
        last_published_at=Subquery(latest.values("published_at")[:1]),
    )


@login_required
def sequence_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
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
    assert isinstance(request.user, User)
    created = authoring.create_sequence(request.user, clock=system_clock)
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
    assert isinstance(request.user, User)
    copy = authoring.duplicate(request.user, sequence_id, clock=system_clock)
    messages.success(request, f"Duplicated as “{copy.display_name}”.")
    return _back_to_list(request)


@require_POST
@login_required
@access_answers
def archive_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    assert isinstance(request.user, User)
    archived = authoring.archive(request.user, sequence_id, clock=system_clock)
    messages.success(request, f"Archived “{archived.display_name}”.")
    return _back_to_list(request)


@require_POST
@login_required
@access_answers
def unarchive_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    assert isinstance(request.user, User)
    restored = authoring.unarchive(request.user, sequence_id, clock=system_clock)
    messages.success(request, f"Unarchived “{restored.display_name}”.")
    return _back_to_list(request)
