"""A recipient's timeline: everything that happened to one enrollment, in order.

It is assembled from what is already recorded (the enrollment, its emails and the
events read from the mailbox or the calendar), so there is no second copy to drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sequencer.domain.events import EventKind, exit_entry, is_exit_reason
from sequencer.sequences.models import EmailState, Enrollment, EnrollmentStatus

_EMAIL_ENTRIES = {
    EmailState.SENT: EventKind.EMAIL_SENT,
    EmailState.FAILED: EventKind.EMAIL_FAILED,
    EmailState.BOUNCED: EventKind.EMAIL_BOUNCED,
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
            EventKind.ENROLLED,
            f"Enrolled in version {enrollment.version.number}, to {enrollment.email}",
        )
    ]
    # Sorted here rather than by the database so that a prefetch of ``emails`` and
    # ``events`` (a page showing many enrollments) costs no query per enrollment.
    for email in sorted(enrollment.emails.all(), key=lambda e: (e.step, e.created_at)):
        kind = _EMAIL_ENTRIES.get(EmailState(email.state))
        if kind is None:
            continue
        when = email.sent_at or email.attempted_at or email.created_at
        summary = f"Email {email.step + 1}: {email.subject or '(no subject)'}"
        if email.last_error and kind != EventKind.EMAIL_SENT:
            summary += f" ({email.last_error})"
        entries.append(
            Entry(when, kind, summary, step=email.step, detail={"message_id": email.message_id})
        )
    recorded = set()
    for event in sorted(enrollment.events.all(), key=lambda e: (e.occurred_at, e.pk)):
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
    reason = enrollment.exit_reason
    if enrollment.finished_at and is_exit_reason(reason) and reason not in recorded:
        entries.append(
            Entry(
                enrollment.finished_at,
                exit_entry(reason),
                f"Exited: {enrollment.get_exit_reason_display()}",
            )
        )
    elif enrollment.status == EnrollmentStatus.COMPLETED and enrollment.finished_at:
        entries.append(Entry(enrollment.finished_at, EventKind.COMPLETED, "Completed the sequence"))
    return sorted(entries, key=lambda e: e.at)
