"""The notifications menu in the shell: what a member must know, and invitations to answer.

The bell shows how many notifications are unread; opening it loads the panel (htmx)
and marks what it shows as read. Invitations to delegated sending addressed to the
member are listed first with **Accept** and **Decline**, answered through the same
delegation service as ``POST /api/v1/delegation/invitations/{id}/accept``. The panel
costs the same few queries whatever the number of notifications or invitations.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.sequences import delegation
from sequencer.web.members import signed_in_member
from sequencer.workspace.models import Notification, User

# The newest this many are shown; older ones are kept, but a menu is not an archive.
SHOWN = 20


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def _context(user: User) -> dict[str, Any]:
    shown = list(Notification.objects.filter(user=user).order_by("-created_at", "-pk")[:SHOWN])
    return {
        "invitations": delegation.pending_invitations(user),
        "notifications": shown,
        "unread_notifications": 0,
        "status": "",
        "problem": "",
    }


def _mark_read(user: User, shown: list[Notification]) -> None:
    unread = [n.pk for n in shown if n.read_at is None]
    if unread:
        Notification.objects.filter(pk__in=unread).update(read_at=system_clock.now())


def _from_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
@login_required
def panel(request: HttpRequest) -> HttpResponse:
    """The panel's content (htmx) or, without JavaScript, a page of its own."""
    member = signed_in_member(request)
    context = _context(member)
    # Rendered as unread (highlighted) this once, then stored as read.
    _mark_read(member, context["notifications"])
    if _from_htmx(request):
        return render(request, "web/_notifications.html#panel_update", context)
    return render(request, "web/notifications.html", context | {"section": "notifications"})


def _answered(request: HttpRequest, status: str, problem: str = "") -> HttpResponse:
    if not _from_htmx(request):
        if problem:
            messages.error(request, problem)
        else:
            messages.success(request, status)
        return redirect("web:notifications")
    context = _context(signed_in_member(request)) | {"status": status, "problem": problem}
    return render(request, "web/_notifications.html#panel_update", context)


@require_POST
@login_required
def accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    member = signed_in_member(request)
    try:
        found = delegation.accept_invitation(member, invitation_id, clock=system_clock)
    except delegation.InvitationNotFound:
        raise Http404("No such invitation for you.") from None
    except InvalidInput as refused:
        return _answered(request, "", problem=f"Not accepted: {refused.message}")
    sequence = found.row.sequence
    where = found.mailbox.email if found.mailbox is not None else "your default mailbox"
    return _answered(
        request,
        f"Accepted: teammates can now send “{sequence.display_name}” as you, from {where}. "
        "Change the mailbox in the sequence's Settings tab.",
    )


@require_POST
@login_required
def decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        delegation.decline_invitation(signed_in_member(request), invitation_id)
    except delegation.InvitationNotFound:
        raise Http404("No such invitation for you.") from None
    return _answered(request, "Declined: nobody can send that sequence as you.")
