"""Webhook endpoints, their deliveries and the log of attempts (admins only).

The secret is in the answer that creates an endpoint and in the answer that rotates it,
never anywhere else. See :mod:`sequencer.domain.webhook_events` for the events and their
payloads, and :mod:`sequencer.domain.webhook_signing` for how deliveries are signed.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.api.pagination import Page
from sequencer.clock import system_clock
from sequencer.domain.webhook_events import ALL_EVENTS, EVENT_LABELS
from sequencer.inputs import Input
from sequencer.webhooks import endpoints
from sequencer.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sequencer.workspace.models import User

router = Router(tags=["Webhooks"])

_EVENTS_HELP = "Event names to send; all of them when left out (see GET /webhooks/events)."


class EventOut(Schema):
    name: str
    description: str


class WebhookIn(Input):
    url: str = Field(description="Where to POST events: an http:// or https:// URL.")
    description: str = ""
    events: list[str] | None = Field(None, description=_EVENTS_HELP)
    enabled: bool = True


class WebhookPatch(Input):
    url: str | None = None
    description: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    previous_secret_valid_until: datetime | None = Field(
        description="After a rotation, until when the previous secret signs too."
    )


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret; shown in this answer only.")


class SecretOut(Schema):
    id: int
    secret: str = Field(description="The new signing secret; shown in this answer only.")
    previous_secret_valid_until: datetime | None


class DeliveryOut(Schema):
    id: int
    event_id: str = Field(description="The webhook-id header, the same on every attempt.")
    type: str
    state: str = Field(description="pending, delivered or failed")
    attempts: int
    event_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int


class AttemptOut(Schema):
    id: int
    delivery_id: int
    event_id: str
    type: str
    number: int
    attempted_at: datetime
    status_code: int | None
    response_excerpt: str = Field(description="The start of the receiver's answer (1 KB).")
    error: str
    duration_ms: int
    succeeded: bool


class AttemptPage(Schema):
    items: list[AttemptOut]
    count: int


def _admin(request: HttpRequest) -> User:
    user = caller(request)
    if not user.is_admin:
        raise Forbidden("Only workspace admins can manage webhooks; ask an admin.")
    return user


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if found is None:
        raise NotFound("webhook")
    return found


def _previous_until(endpoint: WebhookEndpoint) -> datetime | None:
    until = endpoint.previous_secret_until
    return until if until is not None and until > system_clock.now() else None


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.pk,
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events),
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        previous_secret_valid_until=_previous_until(endpoint),
    )


def _delivery(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.pk,
        event_id=row.event_id,
        type=row.kind,
        state=row.state,
        attempts=row.attempts,
        event_at=row.event_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_status=row.last_status,
        last_error=row.last_error,
    )


def _attempt(row: WebhookAttempt) -> AttemptOut:
    return AttemptOut(
        id=row.pk,
        delivery_id=row.delivery_id,
        event_id=row.delivery.event_id,
        type=row.delivery.kind,
        number=row.number,
        attempted_at=row.attempted_at,
        status_code=row.status_code,
        response_excerpt=row.response_excerpt,
        error=row.error,
        duration_ms=row.duration_ms,
        succeeded=row.succeeded,
    )


@router.get("/webhooks/events", response=list[EventOut])
def list_events(request: HttpRequest) -> list[EventOut]:
    """The events an endpoint can subscribe to, and what a delivery looks like.

    Each event is POSTed as JSON: `{"type": "email.sent", "timestamp": "<ISO 8601>",
    "data": {...}}`. `data` always has `enrollment_id`, `sequence` (`id`, `name`),
    `person_id`, `recipient_email`, `mailbox_email` and `status`;
    `enrollment.created` adds `enrolled_at` and `first_email_due_at`; `email.sent` adds
    `email` (`id`, `step` counted from 1, `subject`, `message_id`, `sent_at`); the exit
    events (`recipient.replied`, `recipient.unsubscribed`, `email.bounced`,
    `meeting.booked`, each followed by `recipient.exited` for the same exit; and
    `recipient.exited` alone for a removal or a spam complaint) add `exit_reason` and
    `exited_at`, and `email.bounced` the `step` that bounced.

    Headers (Standard Webhooks): `webhook-id` (the same on every retry: ignore one you
    already handled), `webhook-timestamp` (seconds since the epoch; refuse one more than
    5 minutes off), `webhook-signature`: `v1,<base64 HMAC-SHA256>` over
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of the
    secret after `whsec_`; several, space-separated, during the 24 hours after a
    rotation. Any 2xx answer counts as delivered; anything else is retried after 5 s,
    5 min, 30 min, 2 h, 5 h and 10 h, until a day after the event."""
    _admin(request)
    return [EventOut(name=str(e), description=EVENT_LABELS[e]) for e in ALL_EVENTS]


@router.get("/webhooks", response=list[WebhookOut])
def list_webhooks(request: HttpRequest) -> list[WebhookOut]:
    """Every endpoint (without secrets)."""
    _admin(request)
    return [_out(e) for e in WebhookEndpoint.objects.order_by("pk")]


@router.post("/webhooks", response={201: WebhookCreatedOut})
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status[WebhookCreatedOut]:
    """A new endpoint; the answer holds its secret, which is never shown again."""
    created = endpoints.create(
        _admin(request),
        url=payload.url,
        description=payload.description,
        events=payload.events,
        enabled=payload.enabled,
        clock=system_clock,
    )
    out = _out(created.endpoint)
    return Status(201, WebhookCreatedOut(**out.model_dump(), secret=created.secret))


@router.get("/webhooks/{webhook_id}", response=WebhookOut)
def get_webhook(request: HttpRequest, webhook_id: int) -> WebhookOut:
    _admin(request)
    return _out(_endpoint(webhook_id))


@router.patch("/webhooks/{webhook_id}", response=WebhookOut)
def update_webhook(request: HttpRequest, webhook_id: int, payload: WebhookPatch) -> WebhookOut:
    """Change the fields given; the others stay as they are."""
    _admin(request)
    _endpoint(webhook_id)
    return _out(
        endpoints.update(
            webhook_id,
            url=payload.url,
            description=payload.description,
            events=payload.events,
            enabled=payload.enabled,
            clock=system_clock,
        )
    )


@router.delete("/webhooks/{webhook_id}", response={204: None})
def delete_webhook(request: HttpRequest, webhook_id: int) -> Status[None]:
    """Remove the endpoint with its pending deliveries and its log."""
    _admin(request)
    if not endpoints.remove(webhook_id):
        raise NotFound("webhook")
    return Status(204, None)


@router.post("/webhooks/{webhook_id}/rotate-secret", response=SecretOut)
def rotate_secret(request: HttpRequest, webhook_id: int) -> SecretOut:
    """A new secret (in this answer only); the previous one signs too for 24 hours."""
    _admin(request)
    _endpoint(webhook_id)
    rotated = endpoints.rotate_secret(webhook_id, clock=system_clock)
    return SecretOut(
        id=webhook_id,
        secret=rotated.secret,
        previous_secret_valid_until=_previous_until(rotated.endpoint),
    )


@router.post("/webhooks/{webhook_id}/test", response={201: DeliveryOut})
def send_test_event(request: HttpRequest, webhook_id: int) -> Status[DeliveryOut]:
    """Queue a ``webhook.test`` event for the endpoint (delivered within seconds)."""
    user = _admin(request)
    _endpoint(webhook_id)
    return Status(201, _delivery(endpoints.send_test(webhook_id, user, clock=system_clock)))


@router.get("/webhooks/{webhook_id}/deliveries", response=DeliveryPage)
def list_deliveries(request: HttpRequest, webhook_id: int, page: Query[Page]) -> DeliveryPage:
    """The endpoint's deliveries, newest first."""
    _admin(request)
    _endpoint(webhook_id)
    start, end = page.bounds
    rows = WebhookDelivery.objects.filter(endpoint_id=webhook_id).order_by("-pk")
    return DeliveryPage(items=[_delivery(r) for r in rows[start:end]], count=rows.count())


@router.get("/webhooks/{webhook_id}/attempts", response=AttemptPage)
def list_attempts(request: HttpRequest, webhook_id: int, page: Query[Page]) -> AttemptPage:
    """Every attempt at the endpoint's deliveries, newest first: the delivery log."""
    _admin(request)
    _endpoint(webhook_id)
    start, end = page.bounds
    rows = (
        WebhookAttempt.objects.filter(endpoint_id=webhook_id)
        .select_related("delivery")
        .order_by("-pk")
    )
    return AttemptPage(items=[_attempt(r) for r in rows[start:end]], count=rows.count())


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response=DeliveryOut)
def retry_delivery(request: HttpRequest, webhook_id: int, delivery_id: int) -> DeliveryOut:
    """Try a failed delivery again now, with a fresh day of retries."""
    _admin(request)
    if not WebhookDelivery.objects.filter(pk=delivery_id, endpoint_id=webhook_id).exists():
        raise NotFound("delivery")
    return _delivery(endpoints.retry(webhook_id, delivery_id, clock=system_clock))
