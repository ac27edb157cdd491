"""Settings, AI (admins only): which model writes AI text, and how much it may write.

Saving goes through :func:`sequencer.workspace.ai_settings.update`, as
``PATCH /api/v1/workspace/settings`` does. The API key is write-only here too: the page
says a key is saved and never puts it back into the HTML; a blank key field keeps it.
While the built-in model is chosen, the server's fields are neither checked nor
changed (they are hidden, and kept for switching back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sequencer.ai.figures import recent_figures
from sequencer.clock import system_clock
from sequencer.domain import ai_settings as rules
from sequencer.domain.ai_settings import Provider
from sequencer.web.settings.admin_only import admin_only, viewer
from sequencer.workspace import ai_settings
from sequencer.workspace.ai_settings import AiSettingsChange, AiSettingsState, InvalidSettings

SERVER_FIELDS = ("base_url", "model", "api_key", "api_version")
NUMBER_FIELDS = {
    "max_tries": rules.MAX_TRIES_RANGE,
    "max_phrase_chars": rules.PHRASE_CHARS_RANGE,
    "max_paragraph_chars": rules.PARAGRAPH_CHARS_RANGE,
}


def _field(name: str, value: object, errors: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "value": "" if value is None else value, "error": errors.get(name, "")}


def _page(
    request: HttpRequest,
    state: AiSettingsState,
    *,
    values: Mapping[str, object] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    shown: dict[str, object] = {
        name: getattr(state.settings, name) for name in ai_settings.PLAIN_FIELDS
    }
    shown["provider"] = state.settings.provider.value
    shown.update(values or {})
    context = {
        "section": "settings",
        "settings_section": "ai",
        "providers": [(p.value, p.label) for p in Provider],
        "provider": shown["provider"],
        "f": {
            name: _field(name, shown.get(name, ""), errors)
            for name in (*ai_settings.PLAIN_FIELDS, "api_key")
        },
        "provider_error": errors.get("provider", ""),
        "errors": errors,
        # The first refused field takes the focus, in the page's order.
        "focus": next(
            (n for n in ("provider", *ai_settings.PLAIN_FIELDS, "api_key") if n in errors), ""
        ),
        "api_key_set": state.api_key_set,
        "remove_key": bool(values and values.get("remove_api_key")),
        "key_typed": bool(values and values.get("key_typed")),
        "ranges": NUMBER_FIELDS,
        "recent": recent_figures(system_clock),
    }
    return render(request, "web/settings/ai.html", context, status=status)


def _parse(post: Mapping[str, str]) -> tuple[AiSettingsChange | None, dict[str, str]]:
    """The change the form asks for, or the errors by field found before the rules."""
    errors: dict[str, str] = {}
    given: dict[str, Any] = {"provider": post.get("provider", "")}
    for name, (low, high) in NUMBER_FIELDS.items():
        raw = post.get(name, "").strip()
        if raw.isdigit() and len(raw) <= 6:
            given[name] = int(raw)
        else:
            errors[name] = f"Enter a whole number from {low} to {high:,}."
    if given["provider"] != Provider.LOCAL.value:
        for name in ("base_url", "model", "api_version"):
            given[name] = post.get(name, "")
        key = post.get("api_key", "").strip()
        if key:
            given["api_key"] = key
        elif post.get("remove_api_key"):
            given["api_key"] = ""
    change = AiSettingsChange(**given)
    if errors:
        # The rules still judge every field that did read, so all errors show at once.
        found = ai_settings.problems_of(change)
        return None, {**{p.field or "form": p.message for p in found}, **errors}
    return change, errors


@require_http_methods(["GET", "POST"])
@admin_only
def ai_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, ai_settings.current())
    change, errors = _parse(request.POST)
    if change is not None:
        try:
            ai_settings.update(viewer(request), change)
        except InvalidSettings as refused:
            errors = {p.field or "form": p.message for p in refused.problems}
        else:
            messages.success(request, "AI settings saved.")
            return redirect("web:settings_ai")
    # The key typed is not written back: a refused form asks for it again.
    values: dict[str, object] = {
        name: request.POST.get(name, "") for name in ai_settings.PLAIN_FIELDS
    }
    values["remove_api_key"] = request.POST.get("remove_api_key", "")
    values["key_typed"] = bool(request.POST.get("api_key", "").strip())
    return _page(request, ai_settings.current(), values=values, errors=errors, status=400)
