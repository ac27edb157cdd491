"""The events Sequencer tells other systems about through webhooks, named once here.

Every delivery's body is one JSON object, the *envelope*::

    {
      "type": "email.sent",                       # one of WebhookEvent
      "timestamp": "2026-03-02T10:00:00+00:00",   # when it happened (ISO 8601, UTC)
      "data": {...}                               # what happened, below
    }

``data`` of every recipient event (all but the test event) describes the enrollment::

    "enrollment_id": 12,
    "sequence": {"id": 3, "name": "Q3 outreach"},
    "person_id": 40,
    "recipient_email": "ada@initech.test",
    "mailbox_email": "alice@example.test",        # the sending mailbox
    "status": "active"                            # the enrollment's status after the change

and each event adds:

========================  ==================================================================
event                     fires when, and what ``data`` adds
========================  ==================================================================
enrollment.created        a person is enrolled in a sequence (web, API or CLI); adds
                          ``enrolled_at`` and ``first_email_due_at``
email.sent                an email of a sequence was accepted by the mailbox's provider;
                          adds ``email``: ``{"id", "step", "subject", "message_id",
                          "sent_at"}`` (``step`` counts from 1)
email.bounced             a permanent bounce ended the enrollment (while sending, or a
                          bounce report read from the mailbox); adds ``step`` (from 1, the
                          last email handed over, or null), ``exit_reason`` and ``exited_at``
recipient.replied         a reply ended the enrollment (also a reply asking to stop)
recipient.unsubscribed    an unsubscribe ended it (the link, the mailto, or one seen right
                          before sending)
meeting.booked            a meeting booked with the recipient ended it
recipient.exited          every exit, whatever the reason (also ``removed`` by a member and
                          ``complained``); adds ``exit_reason`` and ``exited_at``
========================  ==================================================================

The four exit-specific events (bounced, replied, unsubscribed, meeting booked) carry the
same ``exit_reason`` and ``exited_at`` and are published right before
``recipient.exited`` for the same exit, so a receiver subscribes to whichever suits it.
An exit of an enrollment that had already ended publishes nothing. The values never
change: receivers store them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "ALL_EVENTS",
    "EVENT_LABELS",
    "TEST_EVENT",
    "WebhookEvent",
    "envelope",
    "events_for_exit",
    "parse_events",
]


class WebhookEvent(StrEnum):
    ENROLLMENT_CREATED = "enrollment.created"
    EMAIL_SENT = "email.sent"
    EMAIL_BOUNCED = "email.bounced"
    RECIPIENT_REPLIED = "recipient.replied"
    RECIPIENT_EXITED = "recipient.exited"
    RECIPIENT_UNSUBSCRIBED = "recipient.unsubscribed"
    MEETING_BOOKED = "meeting.booked"


ALL_EVENTS: tuple[WebhookEvent, ...] = tuple(WebhookEvent)

# Sent by "Send test event" only; no endpoint subscribes to it.
TEST_EVENT = "webhook.test"

#: How Settings → Webhooks names each event, next to its checkbox.
EVENT_LABELS: Mapping[WebhookEvent, str] = MappingProxyType(
    {
        WebhookEvent.ENROLLMENT_CREATED: "A person is enrolled in a sequence",
        WebhookEvent.EMAIL_SENT: "An email is sent",
        WebhookEvent.EMAIL_BOUNCED: "An email bounces",
        WebhookEvent.RECIPIENT_REPLIED: "A recipient replies",
        WebhookEvent.RECIPIENT_EXITED: "A recipient leaves a sequence, for any reason",
        WebhookEvent.RECIPIENT_UNSUBSCRIBED: "A recipient unsubscribes",
        WebhookEvent.MEETING_BOOKED: "A meeting is booked",
    }
)

# The exit reasons (sequencer.domain.events.ExitReason values) that have an event of
# their own besides recipient.exited.
_EXIT_EVENTS: Mapping[str, WebhookEvent] = MappingProxyType(
    {
        "replied": WebhookEvent.RECIPIENT_REPLIED,
        "unsubscribed": WebhookEvent.RECIPIENT_UNSUBSCRIBED,
        "bounced": WebhookEvent.EMAIL_BOUNCED,
        "meeting_booked": WebhookEvent.MEETING_BOOKED,
    }
)


def events_for_exit(reason: str) -> tuple[WebhookEvent, ...]:
    """The events an exit for ``reason`` publishes, in order: the reason's own event (if
    it has one), then ``recipient.exited``."""
    own = _EXIT_EVENTS.get(reason)
    exited = WebhookEvent.RECIPIENT_EXITED
    return (own, exited) if own is not None else (exited,)


def envelope(kind: str, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object a delivery's body holds."""
    if at.tzinfo is None:
        raise ValueError("an event's time must be aware")
    return {"type": str(kind), "timestamp": at.isoformat(), "data": dict(data)}


def parse_events(values: list[str] | tuple[str, ...]) -> tuple[WebhookEvent, ...]:
    """The events named in ``values`` in their defined order, without repeats; an unknown
    name raises ``ValueError`` naming it."""
    wanted = set()
    for value in values:
        try:
            wanted.add(WebhookEvent(value))
        except ValueError:
            names = ", ".join(ALL_EVENTS)
            raise ValueError(f"“{value}” is not an event; choose among {names}.") from None
    return tuple(e for e in ALL_EVENTS if e in wanted)
