"""Connecting a Gmail or Microsoft 365 mailbox by signing in at the provider.

``connect`` sends the browser to the provider's consent page; ``callback`` is where the
provider sends it back with a one-time code. The ``state`` parameter carries a signed
(member, provider, nonce); the nonce and the PKCE verifier wait in the member's session
and are taken out on first use, so a replayed or foreign answer finds nothing and is
refused. The flow itself lives in :mod:`sequencer.mail.oauth`.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.mail import mailboxes, oauth
from sequencer.mail.models import Provider
from sequencer.mail.providers.errors import ProviderError
from sequencer.web.members import signed_in_member

# Session key -> {nonce: {"provider", "verifier"}}: a member may have a few sign-ins open
# in several tabs; each answer consumes only its own.
SESSION_KEY = "mailbox_oauth_pending"
_MAX_PENDING = 5
_PROVIDERS = {"gmail": Provider.GMAIL, "microsoft": Provider.MICROSOFT}


def redirect_uri() -> str:
    """The callback URL, as registered at the provider (from SEQUENCER_BASE_URL: the
    address the browser uses, which the server cannot always tell behind a proxy)."""
    return f"{settings.BASE_URL}{reverse('web:mailbox_oauth_callback')}"


def _refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "web/mailbox_oauth_error.html", {"message": message}, status=status)


@require_GET
@login_required
def connect(request: HttpRequest, provider: str) -> HttpResponse:
    chosen = _PROVIDERS.get(provider)
    if chosen is None:
        return _refused(request, f"{provider!r} is not a provider that signs in with OAuth.", 404)
    nonce = secrets.token_urlsafe(16)
    state = oauth.sign_state(signed_in_member(request).pk, chosen, nonce)
    try:
        auth = oauth.authorization_request(
            chosen,
            redirect_uri=redirect_uri(),
            state=state,
            login_hint=request.GET.get("login_hint") or None,
        )
    except oauth.OAuthError as exc:
        return _refused(request, exc.message, 503)
    except ProviderError as exc:
        return _refused(request, exc.message, 502)
    pending: dict[str, Any] = dict(request.session.get(SESSION_KEY) or {})
    while len(pending) >= _MAX_PENDING:
        pending.pop(next(iter(pending)))
    pending[nonce] = {"provider": chosen, "verifier": auth.code_verifier}
    request.session[SESSION_KEY] = pending
    return redirect(auth.url)


@require_GET
@login_required
def callback(request: HttpRequest) -> HttpResponse:
    try:
        state = oauth.read_state(request.GET.get("state", ""))
    except oauth.OAuthError as exc:
        return _refused(request, exc.message)
    pending: dict[str, Any] = dict(request.session.get(SESSION_KEY) or {})
    started = pending.pop(str(state["n"]), None)
    request.session[SESSION_KEY] = pending
    user = signed_in_member(request)
    if started is None or state["u"] != user.pk or started["provider"] != state["p"]:
        return _refused(
            request,
            "This sign-in answer was already used, or was started by someone else or in "
            "another browser. Start connecting the mailbox again.",
        )
    provider = str(state["p"])
    label = Provider(provider).label
    if request.GET.get("error"):
        # RFC 6749 §4.1.2.1: the member declined, or the provider refused the request.
        detail = request.GET.get("error_description") or request.GET["error"]
        return _refused(request, f"{label} did not connect the mailbox: {detail}")
    code = request.GET.get("code")
    if not code:
        return _refused(request, f"{label} sent no authorization code back.")
    try:
        grant = oauth.exchange_code(
            provider,
            code=code,
            redirect_uri=redirect_uri(),
            code_verifier=started["verifier"],
            clock=system_clock,
        )
        mailbox, created = mailboxes.connect_oauth_mailbox(user, provider, grant, system_clock)
    except oauth.OAuthError as exc:
        return _refused(request, exc.message)
    except InvalidInput as exc:
        return _refused(request, exc.message)
    except ProviderError as exc:
        return _refused(request, exc.message, 502)
    verb = "Connected" if created else "Reconnected"
    messages.success(request, f"{verb} {mailbox.email} ({label}).")
    return redirect("web:home")
