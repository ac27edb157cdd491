"""A recipient's timeline: everything that happened to one enrollment, in order.

It is assembled from what is already recorded (the enrollment, its emails and the
events read from the mailbox or the calendar), so there is no second copy to drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sequencer.sequences.models import EmailState, Enrollment

_EMAIL_ENTRIES = {
    EmailState.SENT: "email_sent",
    EmailState.FAILED: "email_failed",
    EmailState.BOUNCED: "email_bounced",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    summary: str
    step: int | None = None
    inbound_message_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def timeline(enrollment: Enrollment) -> list[Entry]:
    entries = [
        Entry(
            enrollment.enrolled_at,
            "enrolled",
            f"Enrolled in version {enrollment.version.number}, to {enrollment.email}",
        )
    ]
    for email in enrollment.emails.order_by("step", "created_at"):
        kind = _EMAIL_ENTRIES.get(EmailState(email.state))
        if kind is None:
            continue
        when = email.sent_at or email.attempted_at or email.created_at
        summary = f"Email {email.step + 1}: {email.subject or '(no subject)'}"
        if email.last_error and kind != "email_sent":
            summary += f" ({email.last_error})"
        entries.append(
            Entry(when, kind, summary, step=email.step, detail={"message_id": email.message_id})
        )
    recorded = set()
    for event in enrollment.events.order_by("occurred_at", "id"):
        recorded.add(event.kind)
        entries.append(
            Entry(
                event.occurred_at,
                event.kind,
                event.get_kind_display(),
                inbound_message_id=event.inbound_message_id,
                detail=event.detail,
            )
        )
    # Exits without an event of their own (removed by a member, unsubscribed by link).
    if enrollment.finished_at and enrollment.exit_reason and enrollment.exit_reason not in recorded:
        entries.append(
            Entry(
                enrollment.finished_at,
                f"exited_{enrollment.exit_reason}",
                f"Exited: {enrollment.get_exit_reason_display()}",
            )
        )
    elif enrollment.status == "completed" and enrollment.finished_at:
        entries.append(Entry(enrollment.finished_at, "completed", "Completed the sequence"))
    return sorted(entries, key=lambda e: e.at)
