"""API tokens: each member creates, lists and revokes their own.

The API lists and revokes only the caller's own tokens, admins included, so this page
does the same. A new token's secret is in the answer to the form that created it and
nowhere else: it is never stored (only its digest is) nor put in the session.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sequencer.web.settings.admin_only import viewer
from sequencer.workspace import services
from sequencer.workspace.models import TokenScope

SCOPE_HINTS = {
    TokenScope.READ_WRITE: "Everything you can do: read, create, change and delete.",
    TokenScope.READ_ONLY: "Only reads data, for reports and dashboards: it cannot change "
    "anything, even if it leaks.",
}


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=200,
        required=True,
        error_messages={"required": "Give the token a name, such as the script that uses it."},
    )
    scope = forms.ChoiceField(
        label="Access",
        choices=TokenScope.choices,
        initial=TokenScope.READ_WRITE,
        required=False,
        error_messages={"invalid_choice": "Choose Read and write or Read only."},
    )

    def clean_scope(self) -> str:
        # Left out (an older form, a script): read and write, as before scopes existed.
        return self.cleaned_data.get("scope") or TokenScope.READ_WRITE


def _page(
    request: HttpRequest,
    form: TokenForm,
    secret: str = "",
    status: int = 200,
    secret_read_only: bool = False,
) -> HttpResponse:
    tokens = list(viewer(request).api_tokens.order_by("-created_at", "-pk"))
    return render(
        request,
        "web/settings/tokens.html",
        {
            "section": "settings",
            "settings_section": "tokens",
            "form": form,
            "tokens": tokens,
            "secret": secret,
            "secret_read_only": secret_read_only,
            "scopes": [
                (value, label, SCOPE_HINTS[TokenScope(value)])
                for value, label in TokenScope.choices
            ],
            "chosen_scope": form["scope"].value() or TokenScope.READ_WRITE,
            "read_only": TokenScope.READ_ONLY,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@never_cache  # the answer may hold a new secret: not for the browser's cache or history
@login_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    token, secret = services.create_token(
        viewer(request), form.cleaned_data["name"], form.cleaned_data["scope"]
    )
    read_only = token.scope == TokenScope.READ_ONLY
    return _page(request, TokenForm(), secret=secret, secret_read_only=read_only)


@require_POST
@login_required
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = viewer(request)
    name = user.api_tokens.filter(pk=token_id).values_list("name", flat=True).first()
    if name is None or not services.revoke_token(user, token_id):
        raise Http404("No such token.")
    messages.success(request, f"Revoked “{name or 'Unnamed token'}”: it no longer works.")
    return redirect("web:settings_tokens")
