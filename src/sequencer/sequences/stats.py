"""How a sequence is doing, per step and overall.

An outcome (a reply, an unsubscribe, a meeting, a spam complaint) is counted against the
last email the recipient had been sent when it happened: that is the email that worked,
or did not.
Rates are out of the emails sent (per step) or the recipients reached (overall).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery

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


def sequence_stats(sequence: Sequence, step_count: int, *, reach: bool = True) -> SequenceStats:
    """The sequence's figures. ``reach=False`` leaves out how many recipients were reached
    (``overall.sent`` stays 0), for a page that does not show it: counting them reads the
    sequence's sent emails once more, a third of the cost at 10,000 recipients."""
    # Every figure is counted and grouped in the database: the Recipients tab shows
    # them, and reading a row per recipient (or scanning the emails once per figure) cost
    # more at 10,000 recipients than the rest of the page.
    emails = ScheduledEmail.objects.filter(enrollment__sequence=sequence)
    steps = [Figures() for _ in range(step_count)]

    def at(step: int) -> Figures:
        while step >= len(steps):  # an older version may have had more steps
            steps.append(Figures())
        return steps[step]

    # A bounce belongs to the email that bounced, whether refused while sending or
    # reported later by a delivery status notification.
    per_step = emails.values("step").annotate(
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        bounced=Count("id", filter=Q(state=EmailState.BOUNCED)),
    )
    for row in per_step:
        if row["sent"] or row["bounced"]:
            figures = at(row["step"])
            figures.sent, figures.bounced = row["sent"], row["bounced"]

    # "IN (the sequence's sent emails)" is read once into a hash, where EXISTS would
    # look the emails up once per enrollment.
    sent_to_ids = emails.filter(sent_at__isnull=False).values("enrollment_id")
    enrollments = Enrollment.objects.filter(sequence=sequence)
    statuses: dict[str, int] = {}
    reached = 0
    counted = {"reached": Count("id", filter=Q(pk__in=sent_to_ids))} if reach else {}
    for group in enrollments.values("status").annotate(n=Count("id"), **counted):
        statuses[group["status"]] = group["n"]
        reached += int(group.get("reached", 0))  # type: ignore[call-overload]
    overall = Figures(sent=reached)
    last_sent = (
        ScheduledEmail.objects.filter(enrollment=OuterRef("pk"), sent_at__isnull=False)
        .order_by("-step")
        .values("step")[:1]
    )
    outcomes = (
        enrollments.filter(exit_reason__in=OUTCOMES)
        .annotate(last=Subquery(last_sent, output_field=IntegerField()))
        .values_list("exit_reason", "last")
    )
    for reason, step in outcomes:
        name = _FIELD[EventKind(reason)]
        setattr(overall, name, getattr(overall, name) + 1)
        if name != "bounced" and step is not None:
            figure = at(step)
            setattr(figure, name, getattr(figure, name) + 1)
    return SequenceStats(
        enrolled=sum(statuses.values()),
        active=statuses.get("active", 0) + statuses.get("paused", 0),
        completed=statuses.get("completed", 0),
        overall=overall,
        emails_sent=sum(f.sent for f in steps),
        steps=steps,
    )
