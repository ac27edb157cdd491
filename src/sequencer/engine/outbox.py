"""The outbox: the emails waiting to go out from some mailboxes, when each will go out
and why it waits.

This reads; it never sends or reschedules. It asks the rules :mod:`.dispatch` asks
before sending, in the same order: the mailbox itself
(:func:`~sequencer.mail.readiness.why_cannot_send`), the sequence's sending window, its
business days and holidays (:mod:`sequencer.domain.schedule`), then the mailbox's pacing
(:mod:`sequencer.domain.pacing`), counting the emails ahead in the same mailbox's queue
as sent when their turn comes. So the times shown are what the engine would do if
nothing changed (no reply, no pause, no new enrollment).

Whatever the number of mailboxes and emails, the outbox costs three queries: the queued
emails (with their enrollment, version and person), the queue lengths, and the last 24
hours' attempts that pacing counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.pacing import DAY, HOUR, MailboxLimits, earliest_send
from sequencer.domain.schedule import SchedulePolicy, next_allowed_instant
from sequencer.domain.wall_time import local_date
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.readiness import why_cannot_send
from sequencer.sequences.models import ScheduledEmail
from sequencer.sequences.rendering import policy_for

SECOND = timedelta(seconds=1)

# The states of an email that has not gone out yet and is the engine's to send.
QUEUED = (EmailState.SCHEDULED, EmailState.CLAIMED)

# Why an email waits: one of these kinds, with words for people (see Waiting.reason).
DUE = "due"
SCHEDULED = "scheduled"
RETRY = "retry"
WINDOW = "window"
WEEKEND = "weekend"
HOLIDAY = "holiday"
PACING = "pacing"
MAILBOX = "mailbox"


@dataclass(frozen=True)
class Waiting:
    """One queued email: when it will go out (None: not until the mailbox works again),
    in which zone its sending window is reckoned, and why it waits until then."""

    email: ScheduledEmail
    goes_out_at: datetime | None
    zone: ZoneInfo | None
    kind: str
    reason: str


@dataclass
class MailboxQueue:
    mailbox: Mailbox
    queued: int = 0
    emails: list[Waiting] = field(default_factory=list)
    blocked: str | None = None

    @property
    def more(self) -> int:
        """How many queued emails are not listed (beyond the page's limit)."""
        return self.queued - len(self.emails)


def _limits(mailbox: Mailbox) -> MailboxLimits:
    return MailboxLimits(
        per_hour=mailbox.per_hour,
        per_day=mailbox.per_day,
        min_spacing_seconds=mailbox.min_spacing_seconds,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _pacing_reason(at: datetime, sends: list[datetime], limits: MailboxLimits) -> str:
    """Which of the mailbox's limits holds an email back until ``at``."""
    newest_first = sorted(sends, reverse=True)
    if len(newest_first) >= limits.per_day and newest_first[limits.per_day - 1] + DAY >= at:
        return f"Pacing: this mailbox sends at most {limits.per_day} emails in 24 hours."
    if len(newest_first) >= limits.per_hour and newest_first[limits.per_hour - 1] + HOUR >= at:
        return f"Pacing: this mailbox sends at most {_plural(limits.per_hour, 'email')} an hour."
    minutes = max(1, round(limits.min_spacing_seconds / 60))
    return f"Pacing: this mailbox waits {_plural(minutes, 'minute')} between two emails."


def _held_by_window(at: datetime, policy: SchedulePolicy) -> bool:
    """Whether ``at`` is the moment a window opens, so the email waited for it."""
    return next_allowed_instant(at - SECOND, policy) == at


def _window_reason(now: datetime, at: datetime, policy: SchedulePolicy) -> tuple[str, str]:
    """Why no window was open between ``now`` and ``at``: a day without sending (a
    weekend or a holiday) on the way, or only the hours of the window."""
    day, last = local_date(now, policy.zone), local_date(at - SECOND, policy.zone)
    closed = None
    while day <= last and closed is None:
        closed = policy.closed_because(day)
        day += timedelta(days=1)
    if closed == "weekend":
        return WEEKEND, "Business days only: it waits for the next weekday."
    if closed == "holiday":
        return (
            HOLIDAY,
            f"Public holiday in {policy.holiday_country}: it waits for the next working day.",
        )
    window = policy.window
    return (
        WINDOW,
        f"Outside the sending window ({window.start:%H:%M} to {window.end:%H:%M}, "
        f"{policy.zone.key}): it waits for the window to open.",
    )


def _blocked_reason(queue: MailboxQueue) -> str:
    status = queue.mailbox.status
    if status in (MailboxStatus.PAUSED, MailboxStatus.DISCONNECTED):
        return f"Mailbox {MailboxStatus(status).label.lower()}: {queue.blocked}"
    return queue.blocked or ""


def _project(
    queue: MailboxQueue, emails: list[ScheduledEmail], sends: list[datetime], clock: Clock
) -> None:
    """Fill ``queue.emails``: each email in turn, as the engine would send them."""
    now = clock.now()
    mailbox = queue.mailbox
    queue.blocked = why_cannot_send(mailbox, clock)
    limits = _limits(mailbox)
    for email in emails:
        enrollment = email.enrollment
        try:
            policy = policy_for(enrollment.version.settings, enrollment.time_zone)
        except InvalidInput:
            policy = None
        zone = policy.zone if policy else None
        if queue.blocked is not None:
            until = mailbox.paused_until if mailbox.status == MailboxStatus.PAUSED else None
            queue.emails.append(Waiting(email, until, zone, MAILBOX, _blocked_reason(queue)))
            continue
        window_at = base = max(email.due_at, now)
        if policy is not None and not email.skip_window:
            window_at = next_allowed_instant(base, policy)
        paced = earliest_send(window_at, sends, limits)
        at = paced
        if paced > window_at and policy is not None and not email.skip_window:
            at = next_allowed_instant(paced, policy)
        if at <= now:
            kind, reason = DUE, "Due now: it goes out in the engine's next round."
        elif paced > window_at:
            kind, reason = PACING, _pacing_reason(paced, sends, limits)
        elif policy is not None and not email.skip_window and _held_by_window(at, policy):
            kind, reason = _window_reason(now, at, policy)
        elif email.last_error and email.attempts:
            kind, reason = RETRY, f"Trying again after a problem: {email.last_error}"
        elif email.last_error:
            # Held before any attempt, saying why (its AI text is not written yet).
            kind, reason = SCHEDULED, email.last_error
        else:
            kind = SCHEDULED
            reason = f"Email {email.step + 1} of the sequence: its delay runs until then."
        queue.emails.append(Waiting(email, at, zone, kind, reason))
        sends.append(at)


def outbox(mailboxes: list[Mailbox], clock: Clock, *, shown: int = 100) -> list[MailboxQueue]:
    """The queue of each of ``mailboxes`` (in their order): the ``shown`` soonest queued
    emails of them all, grouped by mailbox, with each mailbox's full count."""
    if not mailboxes:
        return []
    now = clock.now()
    ids = [m.pk for m in mailboxes]
    queued = ScheduledEmail.objects.filter(
        mailbox_id__in=ids,
        state__in=QUEUED,
        enrollment__status=EnrollmentStatus.ACTIVE,
    )
    counts = dict(
        queued.order_by()
        .values("mailbox_id")
        .annotate(n=Count("id"))
        .values_list("mailbox_id", "n")
    )
    rows = list(
        queued.select_related(
            "enrollment__version", "enrollment__person", "enrollment__sequence"
        ).order_by("due_at", "id")[:shown]
    )
    sends: dict[int, list[datetime]] = defaultdict(list)
    attempts = ScheduledEmail.objects.filter(
        mailbox_id__in=ids, attempted_at__gt=now - DAY
    ).values_list("mailbox_id", "attempted_at")
    for mailbox_id, attempted_at in attempts:
        if attempted_at is not None:
            sends[mailbox_id].append(attempted_at)
    by_mailbox: dict[int, list[ScheduledEmail]] = defaultdict(list)
    for row in rows:
        by_mailbox[row.mailbox_id].append(row)
    queues = []
    for mailbox in mailboxes:
        queue = MailboxQueue(mailbox, queued=counts.get(mailbox.pk, 0))
        _project(queue, by_mailbox[mailbox.pk], sends[mailbox.pk], clock)
        queues.append(queue)
    return queues
