"""Managing webhook endpoints: create, change, rotate the secret, remove; send a test
event; retry a failed delivery. Settings → Webhooks and ``/api/v1/webhooks`` both call
these (after checking that the caller is an admin).

A secret is made here and handed back exactly twice: when the endpoint is created and
when the secret is rotated. Lists and pages never show it again. After a rotation the
previous secret keeps signing next to the new one for :data:`ROTATION_OVERLAP`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from sequencer import netguard
from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.webhook_events import ALL_EVENTS, TEST_EVENT, parse_events
from sequencer.domain.webhook_signing import SECRET_BYTES, format_secret
from sequencer.domain.webhook_url import url_problem
from sequencer.inputs import check_storable
from sequencer.webhooks.events import body_of, new_event_id
from sequencer.webhooks.models import (
    MAX_DESCRIPTION_CHARS,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
)
from sequencer.workspace.models import User

__all__ = [
    "ROTATION_OVERLAP",
    "Created",
    "create",
    "current_secrets",
    "remove",
    "retry",
    "rotate_secret",
    "send_test",
    "update",
]

ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def _new_secret() -> str:
    return format_secret(secrets.token_bytes(SECRET_BYTES))


def _clean_url(url: str) -> str:
    url = url.strip()
    if problem := url_problem(url):
        raise InvalidInput(problem, field="url", code="invalid_url")
    if refusal := netguard.url_refusal(url):
        raise InvalidInput(refusal, field="url", code="blocked_host")
    return url


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(
            f"Keep the description under {MAX_DESCRIPTION_CHARS} characters.",
            field="description",
            code="too_long",
        )
    try:
        check_storable(description)
    except ValueError:
        raise InvalidInput(
            "The description contains a character that cannot be stored; remove it.",
            field="description",
            code="unstorable_text",
        ) from None
    return description


def _clean_events(events: Iterable[str] | None) -> list[str]:
    if events is None:
        return [str(e) for e in ALL_EVENTS]
    try:
        chosen = parse_events(list(events))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="events", code="invalid_choice") from None
    if not chosen:
        raise InvalidInput(
            "Choose at least one event to send to this endpoint.",
            field="events",
            code="required",
        )
    return [str(e) for e in chosen]


def create(
    actor: User,
    *,
    url: str,
    description: str = "",
    events: Iterable[str] | None = None,
    enabled: bool = True,
    clock: Clock,
) -> Created:
    """A new endpoint (every event unless ``events`` says otherwise) and its secret."""
    secret = _new_secret()
    now = clock.now()
    endpoint = WebhookEndpoint.objects.create(
        url=_clean_url(url),
        description=_clean_description(description),
        events=_clean_events(events),
        enabled=enabled,
        secret=secret,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    return Created(endpoint, secret)


def update(
    endpoint_id: int,
    *,
    url: str | None = None,
    description: str | None = None,
    events: Iterable[str] | None = None,
    enabled: bool | None = None,
    clock: Clock,
) -> WebhookEndpoint:
    """Change the fields given; the others stay. ``DoesNotExist`` for an unknown id."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if url is not None:
            endpoint.url = _clean_url(url)
        if description is not None:
            endpoint.description = _clean_description(description)
        if events is not None:
            endpoint.events = _clean_events(events)
        if enabled is not None:
            endpoint.enabled = enabled
        endpoint.updated_at = clock.now()
        endpoint.save()
    return endpoint


def rotate_secret(endpoint_id: int, *, clock: Clock) -> Created:
    """A new secret; the current one keeps signing too for :data:`ROTATION_OVERLAP`
    (a second rotation within that day retires the oldest at once)."""
    now = clock.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        secret = _new_secret()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + ROTATION_OVERLAP
        endpoint.secret = secret
        endpoint.updated_at = now
        endpoint.save()
    return Created(endpoint, secret)


def current_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery sent at ``now``: the current one, and the
    previous one during the day after a rotation."""
    found = [endpoint.secret]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and now < until:
        found.append(endpoint.previous_secret)
    return found


def remove(endpoint_id: int) -> bool:
    """Delete the endpoint with its deliveries and log; whether it existed."""
    deleted, _ = WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    return bool(deleted)


def send_test(endpoint_id: int, actor: User, *, clock: Clock) -> WebhookDelivery:
    """Owe the endpoint a ``webhook.test`` event (even when it is disabled or does not
    subscribe to anything in particular): it is delivered like any other."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    now = clock.now()
    data = {"message": "A test event from Sequencer.", "sent_by": actor.email}
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=new_event_id(),
        kind=TEST_EVENT,
        body=body_of(TEST_EVENT, now, data),
        event_at=now,
        retries_from=now,
        next_attempt_at=now,
    )


def retry(endpoint_id: int, delivery_id: int, *, clock: Clock) -> WebhookDelivery:
    """Try a failed delivery again now, with a fresh day of retries; a delivery that is
    not failed is refused (``DoesNotExist`` for one not of this endpoint)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(
            pk=delivery_id, endpoint_id=endpoint_id
        )
        if delivery.state != DeliveryState.FAILED:
            raise InvalidInput(
                f"This delivery is {delivery.state}; only a failed one can be retried.",
                code="invalid_state",
            )
        now = clock.now()
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = now
        # The retry schedule counts from here: a day of attempts from this retry.
        delivery.retries_from = now
        delivery.failures = 0
        delivery.lease_owner = ""
        delivery.lease_until = None
        delivery.save()
    return delivery
