"""Settings → Webhooks (admins only): endpoints that hear about enrollments, emails and
exits, each with its delivery log.

The pages call :mod:`sequencer.webhooks.endpoints`, as ``/api/v1/webhooks`` does. A
secret is in the answer to the form that created or rotated it and nowhere else (the
answer is ``never_cache``; nothing goes into the session). Each page costs the same
number of queries however many endpoints, deliveries or attempts there are: the log is
paged and the failed deliveries capped.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.webhook_events import ALL_EVENTS, EVENT_LABELS
from sequencer.domain.webhook_url import MAX_URL_CHARS
from sequencer.web.settings.admin_only import admin_only, viewer
from sequencer.webhooks import endpoints
from sequencer.webhooks.models import (
    MAX_DESCRIPTION_CHARS,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

LOG_PAGE = 25
FAILED_SHOWN = 20
EVENT_CHOICES = [(str(e), f"{e} — {EVENT_LABELS[e]}") for e in ALL_EVENTS]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=MAX_URL_CHARS,
        error_messages={"required": "Enter the URL that should receive the events."},
    )
    description = forms.CharField(
        label="Description", max_length=MAX_DESCRIPTION_CHARS, required=False
    )
    events = forms.MultipleChoiceField(
        label="Events to send",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send to this endpoint."},
    )
    enabled = forms.BooleanField(label="Send events to this endpoint", required=False)


def _blank_form() -> EndpointForm:
    return EndpointForm(initial={"events": [str(e) for e in ALL_EVENTS], "enabled": True})


def _attach(form: EndpointForm, refused: InvalidInput) -> None:
    field = refused.field if refused.field in form.fields else None
    form.add_error(field, refused.message)


def _list_page(
    request: HttpRequest,
    form: EndpointForm,
    *,
    created: endpoints.Created | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/webhooks.html",
        {
            "section": "settings",
            "settings_section": "webhooks",
            "form": form,
            "endpoints": list(WebhookEndpoint.objects.order_by("pk")),
            "created": created,
            "event_count": len(ALL_EVENTS),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@never_cache  # the answer may hold a new secret: not for the browser's cache or history
@admin_only
def webhooks_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request, _blank_form())
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    data = form.cleaned_data
    try:
        created = endpoints.create(
            viewer(request),
            url=data["url"],
            description=data["description"],
            events=data["events"],
            enabled=data["enabled"],
            clock=system_clock,
        )
    except InvalidInput as refused:
        _attach(form, refused)
        return _list_page(request, form, status=400)
    return _list_page(request, _blank_form(), created=created)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if found is None:
        raise Http404("No such webhook.")
    return found


def _detail_page(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    form: EndpointForm | None = None,
    *,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    attempts = (
        WebhookAttempt.objects.filter(endpoint=endpoint).select_related("delivery").order_by("-pk")
    )
    page = Paginator(attempts, LOG_PAGE).get_page(request.GET.get("page"))
    failed = list(
        WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.FAILED)
        .order_by("-pk")
        .only("pk", "kind", "event_id", "event_at", "attempts", "last_error", "last_status")[
            :FAILED_SHOWN
        ]
    )
    pending = WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).count()
    if form is None:
        form = EndpointForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "events": list(endpoint.events),
                "enabled": endpoint.enabled,
            }
        )
    until = endpoint.previous_secret_until
    return render(
        request,
        "web/settings/webhook.html",
        {
            "section": "settings",
            "settings_section": "webhooks",
            "endpoint": endpoint,
            "form": form,
            "page": page,
            "failed": failed,
            "pending": pending,
            "secret": secret,
            "previous_until": until if until and until > system_clock.now() else None,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@never_cache
@admin_only
def webhook_page(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    if request.method != "POST":
        return _detail_page(request, endpoint)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, endpoint, form, status=400)
    data = form.cleaned_data
    try:
        endpoints.update(
            endpoint.pk,
            url=data["url"],
            description=data["description"],
            events=data["events"],
            enabled=data["enabled"],
            clock=system_clock,
        )
    except InvalidInput as refused:
        _attach(form, refused)
        return _detail_page(request, endpoint, form, status=400)
    messages.success(request, "Saved the webhook.")
    return redirect("web:settings_webhook", endpoint_id=endpoint.pk)


@require_http_methods(["GET", "POST"])
@never_cache
@admin_only
def rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    if request.method != "POST":  # reloading the page that showed the new secret
        return redirect("web:settings_webhook", endpoint_id=endpoint.pk)
    rotated = endpoints.rotate_secret(endpoint.pk, clock=system_clock)
    return _detail_page(request, rotated.endpoint, secret=rotated.secret)


@require_POST
@admin_only
def send_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    endpoints.send_test(endpoint.pk, viewer(request), clock=system_clock)
    messages.success(
        request, "A test event is on its way; its delivery appears in the log within seconds."
    )
    return redirect("web:settings_webhook", endpoint_id=endpoint.pk)


@require_POST
@admin_only
def retry(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    try:
        endpoints.retry(endpoint.pk, delivery_id, clock=system_clock)
    except WebhookDelivery.DoesNotExist:
        raise Http404("No such delivery.") from None
    except InvalidInput as refused:
        messages.info(request, refused.message)
    else:
        messages.success(request, "The delivery will be tried again within seconds.")
    return redirect("web:settings_webhook", endpoint_id=endpoint.pk)


@require_POST
@admin_only
def delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    endpoints.remove(endpoint.pk)
    messages.success(request, f"Deleted the webhook to {endpoint.url}; it gets no more events.")
    return redirect("web:settings_webhooks")
