"""How a sequence is doing, per step and overall.

An outcome (a reply, an unsubscribe, a meeting, a spam complaint) is counted against the
last email the recipient had been sent when it happened: that is the email that worked,
or did not.
Rates are out of the emails sent (per step) or the recipients reached (overall).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Max

from sequencer.domain.events import EventKind
from sequencer.sequences.models import EmailState, Enrollment, ScheduledEmail, Sequence

OUTCOMES = (
    EventKind.REPLIED,
    EventKind.BOUNCED,
    EventKind.UNSUBSCRIBED,
    EventKind.MEETING_BOOKED,
    EventKind.COMPLAINED,
)


@dataclass
class Figures:
    sent: int = 0
    replied: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    meetings: int = 0
    complained: int = 0  # marked an email as spam

    def rates(self) -> dict[str, float | None]:
        def rate(n: int) -> float | None:
            return round(n / self.sent, 4) if self.sent else None

        return {
            "reply_rate": rate(self.replied),
            "bounce_rate": rate(self.bounced),
            "unsubscribe_rate": rate(self.unsubscribed),
            "meeting_rate": rate(self.meetings),
            "complaint_rate": rate(self.complained),
        }


@dataclass
class SequenceStats:
    enrolled: int
    active: int
    completed: int
    overall: Figures  # ``sent`` here counts recipients reached, not emails
    emails_sent: int
    steps: list[Figures] = field(default_factory=list)


_FIELD = {
    EventKind.REPLIED: "replied",
    EventKind.BOUNCED: "bounced",
    EventKind.UNSUBSCRIBED: "unsubscribed",
    EventKind.MEETING_BOOKED: "meetings",
    EventKind.COMPLAINED: "complained",
}


def sequence_stats(sequence: Sequence, step_count: int) -> SequenceStats:
    emails = ScheduledEmail.objects.filter(enrollment__sequence=sequence)
    sent_rows = emails.filter(sent_at__isnull=False)
    steps = [Figures() for _ in range(step_count)]

    def at(step: int) -> Figures:
        while step >= len(steps):  # an older version may have had more steps
            steps.append(Figures())
        return steps[step]

    for row in sent_rows.values("step").annotate(n=Count("id")):
        at(row["step"]).sent = row["n"]
    # A bounce belongs to the email that bounced, whether refused while sending or
    # reported later by a delivery status notification.
    for row in emails.filter(state=EmailState.BOUNCED).values("step").annotate(n=Count("id")):
        at(row["step"]).bounced = row["n"]

    last_sent = dict(
        sent_rows.values("enrollment_id")
        .annotate(last=Max("step"))
        .values_list("enrollment_id", "last")
    )
    overall = Figures(sent=len(last_sent))
    enrollments = Enrollment.objects.filter(sequence=sequence)
    for enrollment_id, reason in enrollments.filter(exit_reason__in=OUTCOMES).values_list(
        "id", "exit_reason"
    ):
        name = _FIELD[EventKind(reason)]
        setattr(overall, name, getattr(overall, name) + 1)
        step = last_sent.get(enrollment_id)
        if name != "bounced" and step is not None:
            figure = at(step)
            setattr(figure, name, getattr(figure, name) + 1)
    statuses = Counter(enrollments.values_list("status", flat=True))
    return SequenceStats(
        enrolled=sum(statuses.values()),
        active=statuses.get("active", 0) + statuses.get("paused", 0),
        completed=statuses.get("completed", 0),
        overall=overall,
        emails_sent=sum(f.sent for f in steps),
        steps=steps,
    )
