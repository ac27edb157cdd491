"""Settings, Signatures: named signatures per mailbox, one of them its default.

A thin layer over :mod:`sequencer.mail.signatures` (the API's
``/api/v1/mailboxes/{id}/signatures``): the HTML is sanitised there when saved, as step
bodies are, and a signature is reached through its mailbox, so one of a mailbox the
member may not see is a 404. The body is written in the composer's editor
(``composer.js``), without variables: a signature is the same for every recipient.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sequencer.domain.errors import InvalidInput
from sequencer.mail import mailboxes
from sequencer.mail import signatures as services
from sequencer.mail.models import Mailbox, Signature
from sequencer.workspace.models import User

SECTION = "signatures"


def _viewer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


def _mailbox(viewer: User, mailbox_id: int) -> Mailbox:
    mailbox = mailboxes.mailbox_for(viewer, mailbox_id)
    if mailbox is None:
        raise Http404("No such mailbox.")
    return mailbox


def _signature(viewer: User, signature_id: int) -> Signature:
    """The signature, if its mailbox is one the member may see (else a 404)."""
    signature = (
        Signature.objects.filter(pk=signature_id, mailbox__in=mailboxes.visible_mailboxes(viewer))
        .select_related("mailbox__owner")
        .first()
    )
    if signature is None:
        raise Http404("No such signature.")
    return signature


@require_GET
@login_required
def signature_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    shown = list(
        mailboxes.visible_mailboxes(viewer)
        .order_by("owner__email", "email", "id")
        .prefetch_related(Prefetch("signatures", queryset=Signature.objects.order_by("name", "id")))
    )
    context = {"section": "settings", "settings_section": SECTION, "mailboxes": shown}
    return render(request, "web/settings/signatures.html", context)


def _form(
    request: HttpRequest,
    mailbox: Mailbox,
    signature: Signature | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    if values is None:
        values = {
            "name": signature.name if signature else "",
            "body_html": signature.body_html if signature else "",
            "is_default": signature.is_default if signature else not mailbox.signatures.exists(),
        }
    context = {
        "section": "settings",
        "settings_section": SECTION,
        "mailbox": mailbox,
        "signature": signature,
        "values": values,
        "errors": errors or {},
    }
    return render(request, "web/settings/signature_form.html", context, status=status)


def _posted(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": request.POST.get("name", ""),
        "body_html": request.POST.get("body_html", ""),
        "is_default": "is_default" in request.POST,
    }


def _as_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Ticked "default" makes it the default; unticked is no change, as a mailbox keeps
    a default while it has signatures (another becomes it by being made the default)."""
    return {**values, "is_default": True if values["is_default"] else None}


def _refused(exc: InvalidInput) -> dict[str, str]:
    return {exc.field or "form": exc.message.replace("body_html", "The signature")}


@login_required
def signature_new(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = _viewer(request)
    mailbox = _mailbox(viewer, mailbox_id)
    if request.method == "GET":
        return _form(request, mailbox, None)
    if request.method != "POST":
        return HttpResponse(status=405)
    values = _posted(request)
    try:
        # Unticked leaves it to the service: a mailbox's first signature is its default.
        signature = services.create_signature(mailbox, _as_changes(values))
    except InvalidInput as exc:
        return _form(request, mailbox, None, values=values, errors=_refused(exc), status=400)
    messages.success(request, f"Signature “{signature.name}” saved for {mailbox.email}.")
    return redirect("web:settings_signatures")


@login_required
def signature_edit(request: HttpRequest, signature_id: int) -> HttpResponse:
    viewer = _viewer(request)
    signature = _signature(viewer, signature_id)
    if request.method == "GET":
        return _form(request, signature.mailbox, signature)
    if request.method != "POST":
        return HttpResponse(status=405)
    values = _posted(request)
    try:
        services.update_signature(signature, _as_changes(values))
    except InvalidInput as exc:
        return _form(
            request, signature.mailbox, signature, values=values, errors=_refused(exc), status=400
        )
    messages.success(request, f"Signature “{signature.name}” saved.")
    return redirect("web:settings_signatures")


@require_POST
@login_required
def signature_default(request: HttpRequest, signature_id: int) -> HttpResponse:
    signature = _signature(_viewer(request), signature_id)
    services.update_signature(signature, {"is_default": True})
    messages.success(
        request, f"“{signature.name}” is now the default signature of {signature.mailbox.email}."
    )
    return redirect("web:settings_signatures")


@require_POST
@login_required
def signature_delete(request: HttpRequest, signature_id: int) -> HttpResponse:
    signature = _signature(_viewer(request), signature_id)
    name = signature.name
    services.delete_signature(signature)
    messages.success(request, f"Signature “{name}” deleted.")
    return redirect("web:settings_signatures")
