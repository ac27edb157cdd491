"""Sending one claimed email: re-check, render, commit *sending*, send, record.

The order is what makes a duplicate impossible and a loss visible:

1. In one transaction, with the email and its mailbox locked: is the email still ours,
   the enrollment still active, the address not unsubscribed, the mailbox able to send,
   within its limits and inside the sending window? If not, the email is rescheduled,
   cancelled or failed, and nothing is sent. If so it is rendered and committed as
   *sending* with the time of the attempt (pacing counts it from here on).
2. The provider call, outside any transaction.
3. In a second transaction the outcome is recorded: *sent* (and the next step is
   scheduled), or back to *scheduled* after a transient failure, *bounced*, *failed*, or
   *unknown* when the connection broke after the message was handed over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Subquery

from sequencer.clock import Clock
from sequencer.crm.emails import mark_undeliverable
from sequencer.domain.lifecycle import EnrollmentStatus, check_email_move
from sequencer.domain.pacing import DAY, MailboxLimits, earliest_send_given
from sequencer.domain.schedule import next_allowed_instant
from sequencer.domain.threading import make_message_id
from sequencer.mail.compose import build_message
from sequencer.mail.mailboxes import record_mailbox_failure
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.providers.base import MailProvider, ThreadRef
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.mail.readiness import why_cannot_send
from sequencer.sequences import suppression
from sequencer.sequences.enrollment import next_step_due
from sequencer.sequences.models import (
    EmailState,
    Enrollment,
    ExitReason,
    ScheduledEmail,
)
from sequencer.sequences.rendering import RenderedEmail, policy_for, render_step
from sequencer.sequences.templating import MissingVariable
from sequencer.workspace.models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# While a mailbox is disconnected its emails wait, and are looked at again this often.
DISCONNECTED_RECHECK = timedelta(hours=1)


@dataclass
class Prepared:
    """An email committed as *sending*, with everything needed to hand it over."""

    email: ScheduledEmail
    rendered: RenderedEmail
    thread: ThreadRef | None
    references: list[str]


def _move(email: ScheduledEmail, target: EmailState) -> None:
    # The state machine of the domain decides which moves exist; a bug that tries another
    # (say, rescheduling a sent email) fails loudly instead of sending twice.
    check_email_move(EmailState(email.state), target)
    email.state = target


def _reschedule(email: ScheduledEmail, due_at: datetime, note: str = "") -> None:
    _move(email, EmailState.SCHEDULED)
    email.due_at = due_at
    email.lease_until = None
    email.lease_owner = ""
    if note:
        email.last_error = note
    email.save(update_fields=["state", "due_at", "lease_until", "lease_owner", "last_error"])


def _cancel(email: ScheduledEmail) -> None:
    _move(email, EmailState.CANCELLED)
    email.lease_until = None
    email.save(update_fields=["state", "lease_until"])


def _fail(email: ScheduledEmail, enrollment: Enrollment, reason: str) -> None:
    _move(email, EmailState.FAILED)
    email.last_error = reason
    email.lease_until = None
    email.save(update_fields=["state", "last_error", "lease_until"])
    if enrollment.status == EnrollmentStatus.ACTIVE:
        enrollment.status = EnrollmentStatus.FAILED
        enrollment.failure_reason = reason
        enrollment.save(update_fields=["status", "failure_reason"])


def _limits(mailbox: Mailbox) -> MailboxLimits:
    return MailboxLimits(
        per_hour=mailbox.per_hour,
        per_day=mailbox.per_day,
        min_spacing_seconds=mailbox.min_spacing_seconds,
    )


def _paced(mailbox: Mailbox, now: datetime) -> datetime:
    """The earliest instant ≥ ``now`` at which one more send keeps the mailbox's limits.

    The pacing rule needs only three of the last 24 hours' attempts (the newest, the
    ``per_hour``-th and the ``per_day``-th newest); one query on the ``mailbox_attempts``
    index reads them, so a send costs the same however many went out that day.
    """
    limits = _limits(mailbox)
    recent = (
        ScheduledEmail.objects.filter(mailbox_id=mailbox.pk, attempted_at__gt=now - DAY)
        .order_by("-attempted_at")
        .values("attempted_at")
    )
    newest, hourly, daily = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .annotate(
            newest=Subquery(recent[:1]),
            hourly=Subquery(recent[limits.per_hour - 1 : limits.per_hour]),
            daily=Subquery(recent[limits.per_day - 1 : limits.per_day]),
        )
        .values_list("newest", "hourly", "daily")
        .get()
    )
    return earliest_send_given(
        now, newest=newest, hour_cap_send=hourly, day_cap_send=daily, limits=limits
    )


def _thread(
    email: ScheduledEmail, threaded: bool
) -> tuple[ThreadRef | None, list[str], str | None]:
    """The earlier emails this one answers, and the first email's subject as sent."""
    if email.step == 0:
        return None, [], None  # the first email answers nothing
    earlier = list(
        ScheduledEmail.objects.filter(
            enrollment_id=email.enrollment_id, step__lt=email.step, state=EmailState.SENT
        ).order_by("step")
    )
    first_subject = earlier[0].subject if earlier and earlier[0].step == 0 else None
    if not threaded or not earlier:
        return None, [], first_subject
    last = earlier[-1]
    ref = ThreadRef(
        message_id=last.message_id,
        provider_message_id=last.provider_message_id or None,
        thread_id=earlier[0].thread_id or None,
    )
    return ref, [e.message_id for e in earlier], first_subject


def prepare(email_id: int, owner: str, clock: Clock, lease: timedelta) -> Prepared | None:
    """Step 1: re-check and commit *sending*; ``None`` when nothing is to be sent now."""
    with transaction.atomic():
        # Locks are always taken enrollment, then email, then mailbox (as exits and
        # pauses do), so concurrent transactions cannot deadlock on PostgreSQL. Holding
        # the enrollment also orders this check against a reply or an unsubscribe: either
        # they are seen here, or this email was committed as sending before they arrived.
        # The enrollment is found through its email in the same query that locks it.
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("version", "person", "sequence")
            .filter(emails__pk=email_id)
            .first()
        )
        if enrollment is None:
            return None
        email = ScheduledEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.state != EmailState.CLAIMED or email.lease_owner != owner:
            return None  # our lease expired and another worker took over, or it was cancelled
        email.enrollment = enrollment
        # Locking the mailbox serialises the pacing decision across workers.
        mailbox = Mailbox.objects.select_for_update().get(pk=email.mailbox_id)
        now = clock.now()
        if enrollment.status != EnrollmentStatus.ACTIVE:
            _cancel(email)
            return None
        if suppression.is_suppressed(mailbox.email, enrollment.email, member_id=mailbox.owner_id):
            _cancel(email)
            Enrollment.objects.filter(pk=enrollment.pk).update(
                status=EnrollmentStatus.EXITED,
                exit_reason=ExitReason.UNSUBSCRIBED,
                finished_at=now,
            )
            return None
        blocked = why_cannot_send(mailbox, clock)
        if blocked is not None:
            wait = mailbox.paused_until if mailbox.status == MailboxStatus.PAUSED else None
            _reschedule(email, wait if wait and wait > now else now + DISCONNECTED_RECHECK, blocked)
            return None
        settings = enrollment.version.settings
        policy = policy_for(settings, enrollment.time_zone)
        if not email.skip_window:
            allowed = next_allowed_instant(now, policy)
            if allowed > now:
                _reschedule(email, allowed)
                return None
        paced = _paced(mailbox, now)
        if paced > now:
            _reschedule(email, paced if email.skip_window else next_allowed_instant(paced, policy))
            return None
        threaded = bool(settings.get("thread_emails"))
        thread, references, first_subject = _thread(email, threaded)
        try:
            rendered = render_step(
                snapshot={"settings": settings, "steps": enrollment.version.steps},
                step=email.step,
                person=enrollment.person,
                address=enrollment.email,
                mailbox=mailbox,
                enrollment_id=enrollment.pk,
                first_subject=first_subject,
            )
        except MissingVariable as exc:
            _fail(email, enrollment, str(exc))
            return None
        _move(email, EmailState.SENDING)
        email.attempted_at = now
        email.attempts += 1
        email.subject = rendered.subject
        email.lease_until = now + lease
        email.save(update_fields=["state", "attempted_at", "attempts", "subject", "lease_until"])
    email.mailbox = mailbox
    return Prepared(email=email, rendered=rendered, thread=thread, references=references)


def deliver(prepared: Prepared, provider: MailProvider, clock: Clock) -> None:
    """Steps 2 and 3: hand the message over and record what happened."""
    email, rendered = prepared.email, prepared.rendered
    mailbox, enrollment = email.mailbox, email.enrollment
    person = enrollment.person
    message = build_message(
        from_=(mailbox.display_name, mailbox.email),
        to=(person.full_name, enrollment.email),
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        date=clock.now(),
        message_id=email.message_id,
        in_reply_to=prepared.references[-1] if prepared.references else None,
        references=prepared.references,
        attachments=rendered.attachments,
        inline_images=rendered.inline_images,
        unsubscribe_url=rendered.unsubscribe_url,
        unsubscribe_mailto=rendered.unsubscribe_mailto,
    )
    try:
        result = provider.send(message, thread=prepared.thread)
    except TransientFailure as exc:
        _retry_later(email, exc, clock)
    except RecipientRejected as exc:
        _bounced(email, exc.message, clock)
    except MailboxFailure as exc:
        _mailbox_failed(email, exc, clock)
    except MessageRejected as exc:
        with transaction.atomic():
            locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
            _fail(email, locked, exc.message)
    except OutcomeUnknown as exc:
        _mark_unknown(email, exc.message)
    except Exception as exc:  # a bug or an unclassified error: the outcome is not known
        log.exception("unexpected failure sending %s", email.message_id)
        _mark_unknown(email, f"Unexpected error while sending: {exc}")
    else:
        record_sent(
            email,
            clock.now(),
            provider_message_id=result.provider_message_id or "",
            thread_id=result.thread_id or "",
        )


def record_sent(
    email: ScheduledEmail,
    sent_at: datetime,
    *,
    provider_message_id: str = "",
    thread_id: str = "",
) -> None:
    """Mark sent and schedule the next step (or complete the enrollment)."""
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("version")
            .get(pk=email.enrollment_id)
        )
        updated = ScheduledEmail.objects.filter(
            pk=email.pk, state__in=(EmailState.SENDING, EmailState.UNKNOWN)
        ).update(
            state=EmailState.SENT,
            sent_at=sent_at,
            lease_until=None,
            provider_message_id=provider_message_id,
            thread_id=thread_id,
            last_error="",
        )
        if not updated:
            return
        if enrollment.status != EnrollmentStatus.ACTIVE:
            return  # a reply or a removal arrived meanwhile: nothing more goes out
        next_step = email.step + 1
        if next_step >= len(enrollment.version.steps):
            enrollment.status = EnrollmentStatus.COMPLETED
            enrollment.finished_at = sent_at
            enrollment.save(update_fields=["status", "finished_at"])
            return
        ScheduledEmail.objects.create(
            enrollment=enrollment,
            step=next_step,
            mailbox_id=email.mailbox_id,
            due_at=next_step_due(enrollment, next_step, sent_at, sent_at),
            message_id=make_message_id(email.mailbox.email),
        )


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential from one minute, capped at an hour, with jitter so that a mailbox's
    retries do not all return at once; a server's Retry-After wins when longer."""
    base = min(60 * 2 ** max(attempts - 1, 0), 3600)
    delay = base * random.uniform(0.8, 1.2)
    return timedelta(seconds=max(delay, retry_after or 0))


def _retry_later(email: ScheduledEmail, exc: TransientFailure, clock: Clock) -> None:
    with transaction.atomic():
        if email.attempts >= MAX_ATTEMPTS:
            enrollment = Enrollment.objects.select_for_update().get(pk=email.enrollment_id)
            email.attempted_at = None
            email.save(update_fields=["attempted_at"])
            _fail(email, enrollment, f"Gave up after {email.attempts} attempts: {exc.message}")
            return
        # A failed attempt did not send anything: it must not count against the limits.
        email.attempted_at = None
        email.save(update_fields=["attempted_at"])
        _reschedule(email, clock.now() + backoff(email.attempts, exc.retry_after), exc.message)


def _bounced(email: ScheduledEmail, reason: str, clock: Clock) -> None:
    from sequencer.sequences.enrollment import exit_enrollment

    with transaction.atomic():
        exit_enrollment(email.enrollment_id, ExitReason.BOUNCED)  # enrollment lock first
        ScheduledEmail.objects.filter(pk=email.pk).update(
            state=EmailState.BOUNCED, last_error=reason, lease_until=None
        )
        mark_undeliverable(email.enrollment.email, reason, clock.now())


def _mailbox_failed(email: ScheduledEmail, exc: MailboxFailure, clock: Clock) -> None:
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=email.mailbox_id)
        record_mailbox_failure(mailbox, exc, clock)
        email.attempted_at = None
        email.save(update_fields=["attempted_at"])
        wait = mailbox.paused_until or clock.now() + DISCONNECTED_RECHECK
        _reschedule(email, wait, exc.message)
        Notification.objects.create(
            user_id=mailbox.owner_id,
            kind="mailbox_paused",
            message=(
                f"Sending from {mailbox.email} stopped: {exc.message} Its emails are kept "
                "and go out once the mailbox works again."
            ),
        )


def _mark_unknown(email: ScheduledEmail, reason: str) -> None:
    ScheduledEmail.objects.filter(pk=email.pk, state=EmailState.SENDING).update(
        state=EmailState.UNKNOWN, last_error=reason, lease_until=None
    )


def send_one(
    email_id: int,
    *,
    owner: str,
    clock: Clock,
    lease: timedelta,
    provider_for: Callable[[Mailbox], MailProvider],
) -> bool:
    """Re-check and send one claimed email; whether something was handed over."""
    prepared = prepare(email_id, owner, clock, lease)
    if prepared is None:
        return False
    try:
        provider = provider_for(prepared.email.mailbox)
    except MailboxFailure as exc:
        _mailbox_failed(prepared.email, exc, clock)
        return False
    deliver(prepared, provider, clock)
    return True
