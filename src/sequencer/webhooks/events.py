"""Publishing an event: one outbox row per endpoint that wants it.

:func:`publish` is called inside the transaction that makes the change it reports, so
the event exists if and only if the change was committed; the delivery loop
(:mod:`sequencer.webhooks.delivery`) sends it afterwards, outside any sending path.

With no enabled endpoint (the usual case) a publish costs one query on a small indexed
table and writes nothing; the payload is only built when someone wants it, which is why
``data`` may be a function.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sequencer.domain.webhook_events import WebhookEvent, envelope
from sequencer.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = ["Data", "new_event_id", "publish", "publish_each", "subscribers"]

Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def new_event_id() -> str:
    """A webhook-id: unique per event, stable across retries."""
    return f"msg_{uuid.uuid4().hex}"


def subscribers(kind: str) -> list[int]:
    """The ids of the enabled endpoints that want ``kind`` (one query)."""
    rows = WebhookEndpoint.objects.filter(enabled=True).values_list("pk", "events")
    return [pk for pk, events in rows if kind in (events or [])]


def body_of(kind: str, at: datetime, data: Mapping[str, Any]) -> str:
    # Compact and key-sorted: the bytes are signed and stored once, sent as they are.
    return json.dumps(envelope(kind, at, data), separators=(",", ":"), sort_keys=True)


def _rows(endpoints: list[int], kind: str, at: datetime, data: Data) -> list[WebhookDelivery]:
    given = data() if callable(data) else data
    body = body_of(kind, at, given)
    event_id = new_event_id()
    return [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=event_id,
            kind=kind,
            body=body,
            event_at=at,
            retries_from=at,
            next_attempt_at=at,
        )
        for endpoint_id in endpoints
    ]


def publish(
    kind: WebhookEvent, data: Data, at: datetime, endpoints: list[int] | None = None
) -> int:
    """Owe ``kind`` (with ``data``, or what ``data()`` returns) to every enabled endpoint
    that wants it (``endpoints``, when the caller read :func:`subscribers` for a batch of
    events); how many deliveries were written."""
    if endpoints is None:
        endpoints = subscribers(kind)
    if not endpoints:
        return 0
    return len(WebhookDelivery.objects.bulk_create(_rows(endpoints, kind, at, data)))


def publish_each(kind: WebhookEvent, items: Iterable[tuple[Data, datetime]]) -> int:
    """:func:`publish` for many events of one kind, reading the endpoints once."""
    endpoints = subscribers(kind)
    if not endpoints:
        return 0
    rows = [row for data, at in items for row in _rows(endpoints, kind, at, data)]
    return len(WebhookDelivery.objects.bulk_create(rows))
