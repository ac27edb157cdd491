"""What the sequences package tells webhooks, in the shapes
:mod:`sequencer.domain.webhook_events` documents.

Each function is called inside the transaction of the change it reports (enrolling,
:func:`~sequencer.sequences.lifecycle.record_sent`,
:func:`~sequencer.sequences.lifecycle.exit_enrollment`). The payloads are built lazily:
with no endpoint subscribed, announcing costs one small query and builds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sequencer.domain.lifecycle import EmailState
from sequencer.domain.webhook_events import WebhookEvent, events_for_exit
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.webhooks.events import publish, publish_each

__all__ = ["enrolled", "exited", "sent"]

_HANDED_OVER = (EmailState.SENT, EmailState.SENDING, EmailState.UNKNOWN, EmailState.BOUNCED)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _about(enrollment: Enrollment, mailbox_email: str) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment.pk,
        "sequence": {"id": enrollment.sequence_id, "name": enrollment.sequence.name},
        "person_id": enrollment.person_id,
        "recipient_email": enrollment.email,
        "mailbox_email": mailbox_email,
        "status": enrollment.status,
    }


def enrolled(created: Iterable[tuple[Enrollment, ScheduledEmail]], mailbox_email: str) -> int:
    """``enrollment.created`` for each new enrollment with its first email."""

    def item(enrollment: Enrollment, first: ScheduledEmail) -> Any:
        return lambda: {
            **_about(enrollment, mailbox_email),
            "enrolled_at": _iso(enrollment.enrolled_at),
            "first_email_due_at": _iso(first.due_at),
        }

    return publish_each(
        WebhookEvent.ENROLLMENT_CREATED,
        ((item(e, first), e.enrolled_at) for e, first in created),
    )


def sent(
    enrollment: Enrollment,
    email: ScheduledEmail,
    sent_at: datetime,
    endpoints: list[int] | None = None,
) -> int:
    """``email.sent`` for ``email`` (its enrollment's sequence loaded), to ``endpoints``
    when the engine read them for its batch."""
    return publish(
        WebhookEvent.EMAIL_SENT,
        lambda: {
            **_about(enrollment, email.mailbox.email),
            "email": {
                "id": email.pk,
                "step": email.step + 1,
                "subject": email.subject,
                "message_id": email.message_id,
                "sent_at": _iso(sent_at),
            },
        },
        sent_at,
        endpoints,
    )


def _last_step(enrollment: Enrollment) -> int | None:
    step = (
        ScheduledEmail.objects.filter(enrollment=enrollment, state__in=_HANDED_OVER)
        .order_by("-step")
        .values_list("step", flat=True)
        .first()
    )
    return step + 1 if step is not None else None


def exited(enrollment: Enrollment, reason: str, at: datetime) -> int:
    """The events of an exit for ``reason``: its own event (replied, unsubscribed,
    bounced, meeting booked) if it has one, then ``recipient.exited``."""
    published = 0
    for kind in events_for_exit(reason):

        def data(kind: WebhookEvent = kind) -> dict[str, Any]:
            found = {
                **_about(enrollment, enrollment.mailbox.email),
                "exit_reason": reason,
                "exited_at": _iso(at),
            }
            if kind == WebhookEvent.EMAIL_BOUNCED:
                found["step"] = _last_step(enrollment)
            return found

        published += publish(kind, data, at)
    return published
