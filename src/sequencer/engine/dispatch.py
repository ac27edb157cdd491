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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Subquery
from django.urls import reverse

from sequencer.ai.generator import TextGenerator
from sequencer.ai.variables import AiTexts, Mode
from sequencer.clock import Clock
from sequencer.crm.emails import mark_undeliverable
from sequencer.domain.backoff import Backoff, Random
from sequencer.domain.events import EventKind
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.pacing import DAY, MailboxLimits, earliest_send_given
from sequencer.domain.schedule import next_allowed_instant
from sequencer.engine.phases import PhaseTimes, measured
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
from sequencer.operations.log_format import took
from sequencer.operations.metrics import counted_failures
from sequencer.sequences import lifecycle, suppression
from sequencer.sequences.lifecycle import record_sent
from sequencer.sequences.models import ScheduledEmail
from sequencer.sequences.rendering import RenderedEmail, policy_for, render_step
from sequencer.sequences.templating import AiTextMissing, RenderError
from sequencer.workspace.models import Notification

log = logging.getLogger(__name__)

__all__ = ["RETRY", "Prepared", "deliver", "prepare", "record_sent", "send_one"]

MAX_ATTEMPTS = 10
# While a mailbox is disconnected its emails wait, and are looked at again this often.
DISCONNECTED_RECHECK = timedelta(hours=1)
# An email whose AI text is not written yet is looked at again this often: soon enough
# that the engine's writer (engine/ai_ahead.py, which looks 15 minutes ahead) has it
# in view at once, so the email goes out as soon as its text exists.
AI_TEXT_RECHECK = timedelta(minutes=10)
# After a transient failure: one minute, doubling to an hour, scattered by ±20 % so that
# a mailbox's retries do not all return at once.
RETRY = Backoff(first=timedelta(minutes=1), cap=timedelta(hours=1), spread=0.2)


@dataclass
class Prepared:
    """An email committed as *sending*, with everything needed to hand it over."""

    email: ScheduledEmail
    rendered: RenderedEmail
    thread: ThreadRef | None
    references: list[str]


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


def prepare(
    email_id: int,
    owner: str,
    clock: Clock,
    lease: timedelta,
    ai_generator: TextGenerator | None = None,
    phases: PhaseTimes | None = None,
) -> Prepared | None:
    """Step 1: re-check and commit *sending*; ``None`` when nothing is to be sent now.

    AI slots take their stored text only: no model is called while the lease is held.
    ``ai_generator`` (never called here) says a model is set up, so that a slot with no
    text yet waits for the engine's writer instead of sending its fallback.
    """
    with transaction.atomic():
        # The lifecycle's lock order: enrollment, email, then mailbox (as exits and
        # pauses do), so concurrent transactions cannot deadlock on PostgreSQL. Holding
        # the enrollment also orders this check against a reply or an unsubscribe: either
        # they are seen here, or this email was committed as sending before they arrived.
        locked = lifecycle.lock_for_email(email_id)
        if locked is None:
            return None
        enrollment, email = locked
        if email.state != EmailState.CLAIMED or email.lease_owner != owner:
            return None  # our lease expired and another worker took over, or it was cancelled
        # Locking the mailbox serialises the pacing decision across workers. Its owner
        # comes in the same query: the readiness check reads whether they are active.
        mailbox = (
            Mailbox.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=email.mailbox_id)
        )
        now = clock.now()
        if enrollment.status != EnrollmentStatus.ACTIVE:
            lifecycle.cancel_email(email)
            return None
        if suppression.is_suppressed(mailbox.email, enrollment.email, member_id=mailbox.owner_id):
            lifecycle.exit_enrollment(enrollment.pk, EventKind.UNSUBSCRIBED, clock=clock)
            return None
        blocked = why_cannot_send(mailbox, clock)
        if blocked is not None:
            wait = mailbox.paused_until if mailbox.status == MailboxStatus.PAUSED else None
            lifecycle.reschedule(
                email, wait if wait and wait > now else now + DISCONNECTED_RECHECK, blocked
            )
            return None
        settings = enrollment.version.settings
        policy = policy_for(settings, enrollment.time_zone)
        if not email.skip_window:
            allowed = next_allowed_instant(now, policy)
            if allowed > now:
                lifecycle.reschedule(email, allowed)
                return None
        paced = _paced(mailbox, now)
        if paced > now:
            later = paced if email.skip_window else next_allowed_instant(paced, policy)
            lifecycle.reschedule(email, later)
            return None
        thread, references, first_subject = _thread(email, bool(settings.get("thread_emails")))
        try:
            with measured(phases, "render"):
                rendered = render_step(
                    snapshot={"settings": settings, "steps": enrollment.version.steps},
                    step=email.step,
                    person=enrollment.person,
                    address=enrollment.email,
                    mailbox=mailbox,
                    enrollment_id=enrollment.pk,
                    first_subject=first_subject,
                    ai_texts=AiTexts(
                        version_id=enrollment.version_id,
                        person_id=enrollment.person_id,
                        clock=clock,
                        generator=ai_generator,
                        mode=Mode.SEND,
                    ),
                )
        except AiTextMissing as exc:
            # Never sent with the slot empty: the recipient stays active and waits,
            # showing why, until the text exists.
            lifecycle.reschedule(email, now + AI_TEXT_RECHECK, str(exc))
            return None
        except RenderError as exc:
            lifecycle.fail(enrollment, email, str(exc))
            return None
        except Exception as exc:  # a template bug: this recipient fails, the tick goes on
            log.exception("rendering email %s failed", email.pk, extra=log_context(email))
            lifecycle.fail(enrollment, email, f"This email could not be rendered: {exc}")
            return None
        lifecycle.begin_sending(email, now, lease, rendered.subject)
    email.mailbox = mailbox
    return Prepared(email=email, rendered=rendered, thread=thread, references=references)


def deliver(
    prepared: Prepared,
    provider: MailProvider,
    clock: Clock,
    random: Random,
    phases: PhaseTimes | None = None,
) -> bool:
    """Steps 2 and 3: hand the message over and record what happened; whether it was
    handed to the provider.

    ``random`` scatters the wait after a transient failure (see :data:`RETRY`).
    """
    email, rendered = prepared.email, prepared.rendered
    mailbox, enrollment = email.mailbox, email.enrollment
    try:
        with measured(phases, "compose"):
            message = build_message(
                from_=(mailbox.display_name, mailbox.email),
                to=(enrollment.person.full_name, enrollment.email),
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
    except Exception as exc:  # nothing left us: this one email fails, never the tick
        log.warning("could not build email %s: %s", email.pk, exc, extra=log_context(email))
        _failed_before_handover(email, f"This email could not be built: {exc}")
        return False
    started = time.monotonic()
    try:
        with measured(phases, "handover"), counted_failures():
            result = provider.send(message, thread=prepared.thread)
    except TransientFailure as exc:
        log.info(
            "email %s: temporary failure, tried again later: %s",
            email.pk,
            exc.message,
            extra=log_context(email, started),
        )
        _retry_later(email, exc, clock, random)
    except RecipientRejected as exc:
        log.info(
            "email %s: the recipient was refused: %s",
            email.pk,
            exc.message,
            extra=log_context(email, started),
        )
        _bounced(email, exc.message, clock)
    except MailboxFailure as exc:
        log.warning(
            "email %s: the mailbox failed: %s",
            email.pk,
            exc.message,
            extra=log_context(email, started),
        )
        _mailbox_failed(email, exc, clock)
    except MessageRejected as exc:
        log.warning(
            "email %s: the message was refused: %s",
            email.pk,
            exc.message,
            extra=log_context(email, started),
        )
        with transaction.atomic():
            locked = lifecycle.lock_enrollment(enrollment.pk)
            lifecycle.fail(locked, email, exc.message)
    except OutcomeUnknown as exc:
        log.warning(
            "email %s: not known whether it was sent: %s",
            email.pk,
            exc.message,
            extra=log_context(email, started),
        )
        lifecycle.mark_unknown(email.pk, exc.message)
    except Exception as exc:  # a bug or an unclassified error: the outcome is not known
        log.exception(
            "unexpected failure sending %s", email.message_id, extra=log_context(email, started)
        )
        lifecycle.mark_unknown(email.pk, f"Unexpected error while sending: {exc}")
    else:
        with measured(phases, "record"):
            record_sent(
                email,
                clock.now(),
                provider_message_id=result.provider_message_id or "",
                thread_id=result.thread_id or "",
            )
    return True


def log_context(email: ScheduledEmail, started: float | None = None) -> dict[str, object]:
    """The JSON log's context keys for a line about ``email`` (ids only: no address
    leaves the database through the log), with the milliseconds since ``started``."""
    context: dict[str, object] = {
        "enrollment": email.enrollment_id,
        "email": email.pk,
        "mailbox": email.mailbox_id,
    }
    if started is not None:
        context.update(took(started))
    return context


def _not_counted(email: ScheduledEmail) -> None:
    """A failed attempt sent nothing: it must not count against the mailbox's limits."""
    email.attempted_at = None
    email.save(update_fields=["attempted_at"])


def _failed_before_handover(email: ScheduledEmail, reason: str) -> None:
    with transaction.atomic():
        locked = lifecycle.lock_enrollment(email.enrollment_id)
        _not_counted(email)
        lifecycle.fail(locked, email, reason)


def _retry_later(
    email: ScheduledEmail, exc: TransientFailure, clock: Clock, random: Random
) -> None:
    with transaction.atomic():
        if email.attempts >= MAX_ATTEMPTS:
            _failed_before_handover(
                email, f"Gave up after {email.attempts} attempts: {exc.message}"
            )
            return
        _not_counted(email)
        retry_after = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        wait = RETRY.delay(email.attempts, random=random, retry_after=retry_after)
        lifecycle.reschedule(email, clock.now() + wait, exc.message)


def _bounced(email: ScheduledEmail, reason: str, clock: Clock) -> None:
    with transaction.atomic():
        # The exit locks the enrollment first, as the lock order wants.
        lifecycle.exit_enrollment(email.enrollment_id, EventKind.BOUNCED, clock=clock)
        lifecycle.mark_bounced(email.pk, reason, sources=(EmailState.SENDING,))
        mark_undeliverable(email.enrollment.email, reason, clock.now())


def _mailbox_failed(email: ScheduledEmail, exc: MailboxFailure, clock: Clock) -> None:
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=email.mailbox_id)
        record_mailbox_failure(mailbox, exc, clock=clock)
        _not_counted(email)
        wait = mailbox.paused_until or clock.now() + DISCONNECTED_RECHECK
        lifecycle.reschedule(email, wait, exc.message)
        Notification.objects.create(
            user_id=mailbox.owner_id,
            kind="mailbox_paused",
            message=(
                f"Sending from {mailbox.email} stopped: {exc.message} Its emails are kept "
                "and go out once the mailbox works again."
            ),
            link=reverse("web:settings_mailbox", args=[mailbox.pk]),
        )


def send_one(
    email_id: int,
    *,
    owner: str,
    clock: Clock,
    lease: timedelta,
    provider_for: Callable[[Mailbox], MailProvider],
    random: Random,
    ai_generator: TextGenerator | None = None,
    phases: PhaseTimes | None = None,
) -> bool:
    """Re-check and send one claimed email; whether something was handed over.

    ``phases``, when given, gathers where the time went (see :mod:`.phases`): the
    re-check and the commit of *sending* count as claiming, rendering apart.
    """
    started = time.perf_counter()
    rendering = phases.seconds["render"] if phases is not None else 0.0
    prepared = prepare(email_id, owner, clock, lease, ai_generator, phases)
    if phases is not None:
        rendered_in = phases.seconds["render"] - rendering
        phases.seconds["claim"] += time.perf_counter() - started - rendered_in
    if prepared is None:
        return False
    try:
        with measured(phases, "handover"), counted_failures():
            provider = provider_for(prepared.email.mailbox)
    except MailboxFailure as exc:
        _mailbox_failed(prepared.email, exc, clock)
        return False
    return deliver(prepared, provider, clock, random, phases)
