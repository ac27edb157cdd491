"""Suppressions: who must not be emailed by whom, and lifting one (admins only).

Lifting goes through :func:`sequencer.sequences.suppression.lift`, like
``POST /api/v1/suppressions/{id}/lift``, which leaves an audit entry. The page asks for
a reason (the API's optional ``note``): whoever reads the audit log later must learn
why the address may be emailed again.

The page costs the same number of queries whatever the number of suppressions or
lifts: the members named come from joins, and both lists are paged or capped.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.sequences import suppression
from sequencer.sequences.models import Suppression
from sequencer.web.settings.admin_only import admin_only, viewer
from sequencer.workspace.models import AuditEntry

PAGE_SIZE = 50
AUDIT_SHOWN = 50
LIFTED = "suppression.lifted"
# Why an address is suppressed, in words (the stored reasons are event names).
REASONS = {
    "unsubscribed": "Unsubscribed",
    "asked_to_stop": "Asked to stop",
    "bounced": "Bounced",
}


def reason_label(reason: str) -> str:
    return REASONS.get(reason, reason.replace("_", " ").capitalize())


class SearchForm(forms.Form):
    q = forms.CharField(label="Search by address", required=False, max_length=254)
    lifted = forms.BooleanField(label="Include lifted", required=False)


class LiftForm(forms.Form):
    note = forms.CharField(
        label="Reason for lifting",
        max_length=1000,
        error_messages={
            "required": "Say why this address may be emailed again; the audit log keeps it."
        },
    )


def _rows(search: dict[str, Any]) -> Any:
    rows = Suppression.objects.select_related("member", "lifted_by")
    if not search.get("lifted"):
        rows = rows.filter(lifted_at__isnull=True)
    query = (search.get("q") or "").strip().lower()
    if query:
        rows = rows.filter(recipient_email__icontains=query)
    return rows.order_by("-created_at", "-pk")


def _page(
    request: HttpRequest,
    *,
    failed: tuple[int, LiftForm, Suppression] | None = None,
    status: int = 200,
) -> HttpResponse:
    # After a refused lift, the list is drawn as it was searched when the form was sent.
    params = request.GET if failed is None else QueryDict(request.POST.get("return_query", ""))
    search = SearchForm(params or None)
    wanted = search.cleaned_data if search.is_valid() else {}
    page = Paginator(_rows(wanted), PAGE_SIZE).get_page(params.get("page"))
    audit = list(
        AuditEntry.objects.filter(action=LIFTED)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:AUDIT_SHOWN]
    )
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "web/settings/suppressions.html",
        {
            "section": "settings",
            "settings_section": "suppressions",
            "search": search,
            "searched": bool((wanted.get("q") or "").strip()),
            "page": page,
            "rows": [(row, reason_label(row.reason)) for row in page.object_list],
            "audit": [
                (entry, reason_label(str(entry.detail.get("reason", "")))) for entry in audit
            ],
            "failed_id": failed[0] if failed else None,
            "failed_form": failed[1] if failed else None,
            "failed_row": failed[2] if failed else None,
            "query": query.urlencode(),
        },
        status=status,
    )


@require_GET
@admin_only
def suppressions_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@admin_only
def lift(request: HttpRequest, suppression_id: int) -> HttpResponse:
    row = Suppression.objects.filter(pk=suppression_id).first()
    if row is None:
        raise Http404("No such suppression.")
    form = LiftForm(request.POST)
    if not form.is_valid():
        return _page(request, failed=(suppression_id, form, row), status=400)
    if row.lifted_at is not None:
        messages.info(request, f"{row.recipient_email} was lifted already.")
    else:
        suppression.lift(
            row.pk, viewer(request), note=form.cleaned_data["note"].strip(), clock=system_clock
        )
        messages.success(
            request,
            f"Lifted: {row.recipient_email} may be emailed from {row.sender_email} again.",
        )
    back = request.POST.get("return_query", "")
    url = reverse("web:settings_suppressions")
    return redirect(f"{url}?{back}" if back else url)
