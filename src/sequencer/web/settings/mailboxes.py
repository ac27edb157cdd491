"""Settings, Mailboxes: the member's mailboxes (an admin's: everyone's), connecting an
SMTP + IMAP account, the connection test, the default mailbox, limits and state.

Every read and change goes through :mod:`sequencer.mail.mailboxes`, as the API's
``/api/v1/mailboxes`` endpoints do: a mailbox the member may not see is a 404, limits
are an admin's to change (403 otherwise, and the page offers no form). Saved passwords
and tokens are never written into a page: their fields are empty, and blank keeps them.
Google and Microsoft 365 mailboxes connect through the OAuth sign-in
(:mod:`sequencer.web.mailbox_oauth`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.pacing import MailboxLimits
from sequencer.mail import mailboxes
from sequencer.mail.mailbox_input import MailboxChanges
from sequencer.mail.models import Mailbox, MailboxStatus, Provider, Security
from sequencer.mail.proof import proven_words
from sequencer.mail.providers.base import ConnectionReport
from sequencer.web.members import signed_in_member
from sequencer.web.settings import mailbox_form
from sequencer.web.settings.connection_report import ReportView, report_view
from sequencer.workspace.models import User

SECTION = "mailboxes"
_LIMIT_FIELDS = ("per_hour", "per_day", "min_spacing_seconds")
DEFAULT_LIMITS = MailboxLimits()


def _visible(viewer: User, mailbox_id: int) -> Mailbox:
    mailbox = mailboxes.mailbox_for(viewer, mailbox_id)
    if mailbox is None:
        raise Http404("No such mailbox.")
    return mailbox


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _view_of(report: ConnectionReport, mailbox: Mailbox) -> ReportView:
    return report_view(
        report,
        smtp_security=mailbox.smtp_security,
        api=mailbox.provider in (Provider.GMAIL, Provider.MICROSOFT),
    )


def _base(request: HttpRequest) -> dict[str, Any]:
    return {"section": "settings", "settings_section": SECTION}


# -- the list ---------------------------------------------------------------------------


@require_GET
@login_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return redirect("web:settings_mailboxes")


@require_GET
@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    viewer = signed_in_member(request)
    shown = list(mailboxes.visible_mailboxes(viewer).order_by("owner__email", "email", "id"))
    own = [m for m in shown if m.owner_id == viewer.pk]
    context = _base(request) | {
        "mailboxes": shown,
        "own": own,
        "default_mailbox": next((m for m in own if m.is_default), None),
        "google_ready": bool(settings.GOOGLE_CLIENT_ID),
        "microsoft_ready": bool(settings.MICROSOFT_CLIENT_ID),
        "defaults": DEFAULT_LIMITS,
    }
    return render(request, "web/settings/mailboxes.html", context)


@require_POST
@login_required
def choose_default(request: HttpRequest) -> HttpResponse:
    """The member's own default mailbox (an admin's choice for others is per mailbox)."""
    viewer = signed_in_member(request)
    raw = request.POST.get("mailbox_id", "")
    mailbox = (
        mailboxes.list_mailboxes(viewer).filter(pk=int(raw)).first() if raw.isdigit() else None
    )
    if mailbox is None:
        raise Http404("No such mailbox of yours.")
    mailboxes.update_mailbox(viewer, mailbox, MailboxChanges(is_default=True))
    messages.success(request, f"{mailbox.email} is now your default mailbox.")
    return redirect("web:settings_mailboxes")


# -- connecting an SMTP + IMAP account ---------------------------------------------------


_SECRETS = ("smtp_password", "imap_password", "access_token")


def _posted_values(request: HttpRequest) -> dict[str, str]:
    """What the member typed, to show again: never the secrets."""
    post = request.POST if request.method == "POST" else {}
    return {
        name: str(post.get(name, ""))
        for name in mailbox_form.FIELD_ORDER
        if name not in _SECRETS and name in post
    }


def _new_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    errors = extra.pop("errors", {})
    f = mailbox_form.fields(_posted_values(request), errors)
    return (
        _base(request)
        | {
            "f": f,
            "servers": mailbox_form.servers(f),
            "errors": errors,
            "auth": request.POST.get("auth", mailbox_form.AUTH_PASSWORD),
            "securities": Security.choices,
            "report": None,
        }
        | extra
    )


@login_required
def mailbox_new(request: HttpRequest) -> HttpResponse:
    """The Connect form; posting it connects the mailbox and tests it at once."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    if request.method == "GET":
        return render(request, "web/settings/mailbox_new.html", _new_context(request))
    viewer = signed_in_member(request)
    new, errors = mailbox_form.parse_new(request.POST)
    if new is not None:
        try:
            mailbox = mailboxes.create_mailbox(viewer, new)
        except InvalidInput as refused:
            errors = mailbox_form.errors_of(refused)
    if errors or new is None:
        context = _new_context(
            request, errors=errors, focus=mailbox_form.first_error(errors), secrets_again=True
        )
        return render(request, "web/settings/mailbox_new.html", context, status=400)
    # The first test right away: it finds the Sent folder and proves the address.
    report = mailboxes.check_mailbox(mailbox, system_clock)
    if report.ok:
        messages.success(request, f"Connected {mailbox.email}; the connection test passed.")
    else:
        messages.error(
            request,
            f"Connected {mailbox.email}, but the connection test failed: fix the settings "
            "below and test again.",
        )
    return _render_detail(request, viewer, mailbox, report=report, status=200)


@require_POST
@login_required
def test_new(request: HttpRequest) -> HttpResponse:
    """Test connection on the Connect form, before anything is saved (htmx: the result
    and the field errors only, so the passwords typed stay in the form)."""
    viewer = signed_in_member(request)
    new, errors = mailbox_form.parse_new(request.POST)
    view = None
    if new is not None:
        try:
            report = mailboxes.check_new_mailbox(viewer, new, system_clock)
        except InvalidInput as refused:
            errors = mailbox_form.errors_of(refused)
        else:
            security = (new.smtp.security if new.smtp and new.smtp.security else "") or (
                Security.TLS if new.smtp and new.smtp.port == 465 else Security.STARTTLS
            )
            view = report_view(report, smtp_security=str(security))
    context = _new_context(request, errors=errors, report=view, tested=True)
    if _is_htmx(request):
        return render(request, "web/settings/mailbox_new.html#test_update", context)
    context["focus"] = mailbox_form.first_error(errors)
    context["secrets_again"] = True
    return render(request, "web/settings/mailbox_new.html", context)


# -- one mailbox -------------------------------------------------------------------------


def _saved_values(mailbox: Mailbox) -> dict[str, str]:
    """The form's values as saved, secrets left out."""
    values = {"email": mailbox.email, "display_name": mailbox.display_name}
    for kind in ("smtp", "imap"):
        host = getattr(mailbox, f"{kind}_host")
        values[f"{kind}_host"] = host
        values[f"{kind}_port"] = str(getattr(mailbox, f"{kind}_port") or "") if host else ""
        values[f"{kind}_security"] = getattr(mailbox, f"{kind}_security") if host else ""
        values[f"{kind}_username"] = getattr(mailbox, f"{kind}_username")
    limits = {
        "per_hour": mailbox.per_hour,
        "per_day": mailbox.per_day,
        "min_spacing_seconds": mailbox.min_spacing_seconds,
    }
    return values | {k: str(v) for k, v in limits.items()}


def _detail_context(
    request: HttpRequest, viewer: User, mailbox: Mailbox, **extra: Any
) -> dict[str, Any]:
    errors = extra.pop("errors", {})
    values = _saved_values(mailbox) | extra.pop("values", {})
    f = mailbox_form.fields(values, errors)
    return (
        _base(request)
        | {
            "mailbox": mailbox,
            "viewer": viewer,
            "is_admin": viewer.is_admin,
            "own": mailbox.owner_id == viewer.pk,
            "api_provider": mailbox.provider in (Provider.GMAIL, Provider.MICROSOFT),
            "oauth_signed_in": bool(mailbox.oauth_tokens),
            "provider_label": Provider(mailbox.provider).label,
            "f": f,
            "servers": mailbox_form.servers(f),
            "has_password": {
                "smtp": bool(mailbox.smtp_password),
                "imap": bool(mailbox.imap_password),
            },
            "securities": Security.choices,
            "defaults": DEFAULT_LIMITS,
            "proof": proven_words(mailbox) if mailbox.address_proven else None,
            "warnings": mailboxes.mailbox_warnings(mailbox),
            "paused_by_engine": mailbox.status == MailboxStatus.PAUSED
            and mailbox.status_reason != "Paused by its owner.",
            "errors": errors,
            "report": None,
        }
        | extra
    )


def _render_detail(
    request: HttpRequest,
    viewer: User,
    mailbox: Mailbox,
    *,
    report: ConnectionReport | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    view = _view_of(report, mailbox) if report is not None else None
    context = _detail_context(request, viewer, mailbox, report=view, **extra)
    return render(request, "web/settings/mailbox.html", context, status=status)


@require_GET
@login_required
def mailbox_detail(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    return _render_detail(request, viewer, _visible(viewer, mailbox_id))


@require_POST
@login_required
def mailbox_test(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    mailbox = _visible(viewer, mailbox_id)
    report = mailboxes.check_mailbox(mailbox, system_clock)
    if _is_htmx(request):
        context = _detail_context(request, viewer, mailbox, report=_view_of(report, mailbox))
        return render(request, "web/settings/mailbox.html#test_result", context)
    return _render_detail(request, viewer, mailbox, report=report)


def _save_changes(
    request: HttpRequest,
    viewer: User,
    mailbox: Mailbox,
    parsed: tuple[MailboxChanges | None, dict[str, str]],
    *,
    posted: dict[str, str],
    saved: str,
) -> HttpResponse:
    """Store a form's parsed changes and come back to the mailbox saying ``saved``; or show
    the form again (400) with what was posted and the problems, the service's included."""
    changes, errors = parsed
    if changes is not None:
        try:
            mailboxes.update_mailbox(viewer, mailbox, changes)
        except InvalidInput as refused:
            errors = mailbox_form.errors_of(refused)
            mailbox.refresh_from_db()
    if errors:
        return _render_detail(
            request,
            viewer,
            mailbox,
            status=400,
            errors=errors,
            values=posted,
            focus=mailbox_form.first_error(errors),
        )
    messages.success(request, saved)
    return redirect("web:settings_mailbox", mailbox_id=mailbox.pk)


@require_POST
@login_required
def mailbox_servers(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    mailbox = _visible(viewer, mailbox_id)
    return _save_changes(
        request,
        viewer,
        mailbox,
        mailbox_form.parse_servers(request.POST, mailbox),
        posted=_posted_values(request),
        saved="Server settings saved. Test the connection to check them.",
    )


@require_POST
@login_required
def mailbox_limits(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    mailbox = _visible(viewer, mailbox_id)
    if not viewer.is_admin:
        raise PermissionDenied("Only workspace admins can change a mailbox's sending limits.")
    return _save_changes(
        request,
        viewer,
        mailbox,
        mailbox_form.parse_limits(request.POST),
        posted={k: str(request.POST.get(k, "")) for k in _LIMIT_FIELDS},
        saved="Sending limits saved.",
    )


@require_POST
@login_required
def mailbox_state(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """Resume a paused mailbox, or pause an active one."""
    viewer = signed_in_member(request)
    mailbox = _visible(viewer, mailbox_id)
    action = request.POST.get("action")
    if action not in ("resume", "pause"):
        return _render_detail(request, viewer, mailbox, status=400)
    changes = MailboxChanges(status="active" if action == "resume" else "paused")
    mailboxes.update_mailbox(viewer, mailbox, changes)
    if action == "resume":
        messages.success(request, f"{mailbox.email} is sending again; its waiting emails go out.")
    else:
        messages.success(
            request, f"{mailbox.email} is paused: its emails wait until you resume it."
        )
    if request.POST.get("next") == "list":
        return redirect("web:settings_mailboxes")
    return redirect("web:settings_mailbox", mailbox_id=mailbox.pk)


@require_POST
@login_required
def mailbox_default(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    mailbox = _visible(viewer, mailbox_id)
    mailboxes.update_mailbox(viewer, mailbox, MailboxChanges(is_default=True))
    whose = "your" if mailbox.owner_id == viewer.pk else f"{mailbox.owner}'s"
    messages.success(request, f"{mailbox.email} is now {whose} default mailbox.")
    return redirect("web:settings_mailbox", mailbox_id=mailbox.pk)
