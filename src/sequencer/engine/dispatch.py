"""Sending a mailbox's claimed emails: re-check, render, commit *sending*, send, record.

The order is what makes a duplicate impossible and a loss visible:

1. A batch's re-check, in one transaction that locks the batch's emails and then their
   mailbox: is each email still ours, its enrollment still active, its address not
   suppressed, the mailbox able to send, inside the email's sending window and within
   the mailbox's limits? Emails that may not go now are rescheduled, cancelled or
   failed; those that may are *reserved* against the limits (another worker deciding for
   the same mailbox sees them), all with a handful of queries however large the batch.
2. For each email in turn: it is rendered and composed, then committed as *sending* in
   a small transaction that locks its enrollment and finds it still active and the email
   still ours and *claimed* (``lifecycle.begin_sending``). A reply, an unsubscribe or a
   removal locks the same row and cancels *claimed* emails: either it came first and
   nothing is sent, or the email was *sending* before it began. Rendering and composing
   write nothing, so the next email's are done while the server answers the current
   one (the provider's ``meanwhile``: an SMTP server answers each command after a
   wait the worker would otherwise idle through); its state changes only in its turn.
3. The provider call, outside any transaction.
4. In a transaction of its own the outcome is recorded: *sent* (and the next step is
   scheduled), or back to *scheduled* after a transient failure, *bounced*, *failed*, or
   *unknown* when the connection broke after the message was handed over.

So a process killed at any point leaves at most the one email that was on the wire in
doubt (*sending*, settled by engine/reconcile.py), as before batching. A batch whose
re-check is older than :data:`RECHECK_AFTER` (a slow server) is checked again before its
next email goes, so a mailbox paused or an address suppressed by hand meanwhile is seen
within about a second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.db import transaction
from django.db.models import Count, Max, Q, Subquery
from django.urls import reverse

from sequencer.ai.generator import TextGenerator
from sequencer.ai.variables import AiTexts, Mode
from sequencer.clock import Clock
from sequencer.crm.catalog import AttributeDefinitions, attribute_definitions
from sequencer.crm.emails import mark_undeliverable
from sequencer.domain.backoff import Backoff, Random
from sequencer.domain.events import EventKind
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.pacing import DAY, HOUR, MailboxLimits, earliest_send_given, sends_allowed
from sequencer.domain.schedule import SchedulePolicy, next_allowed_instant
from sequencer.domain.sender import Sender
from sequencer.domain.webhook_events import WebhookEvent
from sequencer.engine.phases import PhaseTimes, measured
from sequencer.mail.compose import build_message_in_steps
from sequencer.mail.mailboxes import record_mailbox_failure
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.providers.base import MailProvider, SendResult, ThreadRef
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
from sequencer.sequences.models import Enrollment, ScheduledEmail, SequenceVersion
from sequencer.sequences.rendering import (
    RenderedEmail,
    policy_for,
    render_step_in_steps,
    sender_of,
)
from sequencer.sequences.templating import AiTextMissing, RenderError
from sequencer.stepwise import Steps
from sequencer.webhooks.events import subscribers
from sequencer.workspace.models import Notification

log = logging.getLogger(__name__)

__all__ = ["RETRY", "Prepared", "check", "deliver", "record_sent", "send_claimed"]

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
# A batch's re-check stands this long (seconds); after that the rest of the batch is
# checked again before its next email goes.
RECHECK_AFTER = 1.0


@dataclass
class Prepared:
    """An email committed as *sending*, with everything needed to hand it over."""

    email: ScheduledEmail
    message: EmailMessage
    thread: ThreadRef | None
    # The webhook endpoints that want ``email.sent``, read once for the email's batch.
    webhooks: list[int]


@dataclass
class _Ready:
    """An email of a checked batch that may go now (reserved against the limits)."""

    email: ScheduledEmail
    thread: ThreadRef | None
    references: list[str]
    first_subject: str | None


@dataclass
class _Batch:
    """What a batch's re-check found: the emails that may go, in order, and what every
    one of them is rendered with (read once for the batch)."""

    mailbox: Mailbox
    sender: Sender
    definitions: AttributeDefinitions
    ready: list[_Ready]
    checked_at: float  # time.monotonic()
    # Read with the check: an endpoint added since gets the events of the next batch,
    # about a second later at most (RECHECK_AFTER).
    webhooks: list[int]


@dataclass(frozen=True)
class _Sending:
    """What every email of a :func:`send_claimed` call is sent with."""

    owner: str
    clock: Clock
    lease: timedelta
    provider_for: Callable[[Mailbox], MailProvider]
    random: Random
    ai_generator: TextGenerator | None
    phases: PhaseTimes | None


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


def _allowance(mailbox: Mailbox, now: datetime) -> int:
    """How many emails the mailbox may send at ``now`` (the domain's rule from the last
    day's attempts, counted in one query on the ``mailbox_attempts`` index: at most about
    ``per_day`` rows, since pacing keeps the attempts there)."""
    counts = ScheduledEmail.objects.filter(
        mailbox_id=mailbox.pk, attempted_at__gt=now - DAY
    ).aggregate(
        day=Count("pk"),
        hour=Count("pk", filter=Q(attempted_at__gt=now - HOUR)),
        newest=Max("attempted_at"),
    )
    return sends_allowed(
        now,
        newest=counts["newest"],
        in_last_hour=counts["hour"],
        in_last_day=counts["day"],
        limits=_limits(mailbox),
    )


def _load(email_ids: Sequence[int]) -> list[ScheduledEmail]:
    """The emails with what re-checking and rendering them read, in ``email_ids``'
    order: enrollment, person and company and sequence in one query, the company's
    domains in one more, and each version (its steps and settings) once, not per email.
    Their mailbox is not among them: :func:`check` reads it once for the batch. Nor are
    the people's addresses: an email is written to its enrollment's address."""
    emails = {
        email.pk: email
        for email in ScheduledEmail.objects.filter(pk__in=list(email_ids))
        .select_related("enrollment__person__company", "enrollment__sequence")
        .prefetch_related("enrollment__person__company__domain_rows")
    }
    versions = SequenceVersion.objects.in_bulk(
        {email.enrollment.version_id for email in emails.values()}
    )
    for email in emails.values():
        email.enrollment.version = versions[email.enrollment.version_id]
    return [emails[i] for i in email_ids if i in emails]


def _threads(emails: list[ScheduledEmail]) -> dict[int, list[ScheduledEmail]]:
    """Each enrollment's sent emails (by step), for the follow-ups among ``emails``."""
    following = [e.enrollment_id for e in emails if e.step > 0]
    sent: dict[int, list[ScheduledEmail]] = {}
    if following:
        for row in ScheduledEmail.objects.filter(
            enrollment_id__in=following, state=EmailState.SENT
        ).order_by("enrollment_id", "step"):
            sent.setdefault(row.enrollment_id, []).append(row)
    return sent


def _thread(
    email: ScheduledEmail, sent: list[ScheduledEmail], threaded: bool
) -> tuple[ThreadRef | None, list[str], str | None]:
    """The earlier emails this one answers, and the first email's subject as sent."""
    earlier = [e for e in sent if e.step < email.step]  # none for the first email
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


class _Policies:
    """Each version's sending rules in each recipient zone, built once per batch."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, str], SchedulePolicy] = {}

    def __call__(self, email: ScheduledEmail) -> SchedulePolicy:
        enrollment = email.enrollment
        key = (enrollment.version_id, enrollment.time_zone)
        if key not in self._made:
            self._made[key] = policy_for(enrollment.version.settings, enrollment.time_zone)
        return self._made[key]


def check(
    email_ids: Sequence[int], owner: str, clock: Clock, *, again: bool = False
) -> _Batch | None:
    """Step 1 for claimed emails of one mailbox: what may go now, reserved; ``None``
    when none of them may (none is ours any more, or all must wait). ``again``: these
    emails were reserved by an earlier check of this worker (a batch checked again),
    which counts them no more.

    Exits for suppressed addresses happen first, each in its own transaction (they lock
    the enrollment first, as the lifecycle's lock order wants); then one transaction
    locks the emails, then the mailbox, which serialises the pacing decision across
    workers.
    """
    emails = _load(email_ids)
    if not emails:
        return None
    mailbox_id = emails[0].mailbox_id
    if any(email.mailbox_id != mailbox_id for email in emails):
        raise ValueError("a batch holds the emails of one mailbox")
    # The address and owner only: the whole row (its secrets decrypted) is read once,
    # under its lock below, and shared by the batch's emails.
    sending_address, owner_id = Mailbox.objects.values_list("email", "owner_id").get(pk=mailbox_id)
    suppressed = suppression.suppressed_addresses(
        sending_address, [email.enrollment.email for email in emails], member_id=owner_id
    )
    for email in emails:
        if email.enrollment.email.lower() in suppressed:
            lifecycle.exit_enrollment(email.enrollment_id, EventKind.UNSUBSCRIBED, clock=clock)
    policies = _Policies()
    with transaction.atomic():
        states = dict(
            ScheduledEmail.objects.select_for_update()
            .filter(pk__in=[email.pk for email in emails], lease_owner=owner)
            .order_by("pk")
            .values_list("pk", "state")
        )
        mailbox = (
            Mailbox.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=mailbox_id)
        )
        if again:
            lifecycle.release_reservations(list(states), owner)
        now = clock.now()
        waiting: list[ScheduledEmail] = []
        for email in emails:
            if states.get(email.pk) != EmailState.CLAIMED:
                continue  # our lease expired and another worker took over, or it was cancelled
            email.mailbox = mailbox
            if email.enrollment.status != EnrollmentStatus.ACTIVE:
                lifecycle.cancel_email(email)
            else:
                waiting.append(email)
        blocked = why_cannot_send(mailbox, clock)
        if blocked is not None:
            wait = mailbox.paused_until if mailbox.status == MailboxStatus.PAUSED else None
            for email in waiting:
                lifecycle.reschedule(
                    email, wait if wait and wait > now else now + DISCONNECTED_RECHECK, blocked
                )
            return None
        in_window: list[ScheduledEmail] = []
        for email in waiting:
            allowed = now if email.skip_window else next_allowed_instant(now, policies(email))
            if allowed > now:
                lifecycle.reschedule(email, allowed)
            else:
                in_window.append(email)
        allowance = _allowance(mailbox, now) if in_window else 0
        going, later = in_window[:allowance], in_window[allowance:]
        lifecycle.reserve([email.pk for email in going], owner, now)
        if later:
            paced = _paced(mailbox, now)  # counts the emails just reserved
            for email in later:
                lifecycle.reschedule(
                    email,
                    paced if email.skip_window else next_allowed_instant(paced, policies(email)),
                )
    if not going:
        return None
    signatures = any(e.enrollment.version.settings.get("include_signature") for e in going)
    sent = _threads(going)
    ready = []
    for email in going:
        threaded = bool(email.enrollment.version.settings.get("thread_emails"))
        thread, references, first_subject = _thread(
            email, sent.get(email.enrollment_id, []), threaded
        )
        ready.append(_Ready(email, thread, references, first_subject))
    return _Batch(
        mailbox=mailbox,
        sender=sender_of(mailbox, signatures=signatures),
        definitions=attribute_definitions(),
        ready=ready,
        checked_at=time.monotonic(),
        webhooks=subscribers(WebhookEvent.EMAIL_SENT),
    )


class _Made:
    """One email of a batch rendered and composed, in steps that write nothing (a stored
    AI text is read, no model called), so that they can run while the server is still
    answering the email before it (the provider's ``meanwhile``, one step per wait).
    What a step raises is kept, and dealt with at the email's turn exactly as if it had
    been made then: the email's state changes only in its turn, in order."""

    def __init__(self, ready: _Ready, batch: _Batch, sending: _Sending) -> None:
        self.ready, self.batch, self._sending = ready, batch, sending
        self.rendered: RenderedEmail | None = None
        self.message: EmailMessage | None = None
        self.failed: Exception | None = None
        self.failed_in = ""
        self._phase = "render"
        self._steps: Steps[None] | None = self._making()
        self.lent_seconds = 0.0  # the time its steps took inside another email's send

    def step(self) -> None:
        """The next step, if one is left; never raises."""
        if self._steps is None:
            return
        phase, started = self._phase, time.perf_counter()
        try:
            next(self._steps)
        except StopIteration:
            self._steps = None
        except Exception as exc:
            self.failed, self.failed_in, self._steps = exc, phase, None
        finally:
            if self._sending.phases is not None:
                seconds = self._sending.phases.seconds
                seconds[phase] += time.perf_counter() - started

    def lend(self) -> None:
        """:meth:`step`, as the provider's ``meanwhile``: timed, so that the hand-over it
        ran inside does not count it twice."""
        started = time.perf_counter()
        self.step()
        self.lent_seconds += time.perf_counter() - started

    def finish(self) -> None:
        while self._steps is not None:
            self.step()

    def _making(self) -> Steps[None]:
        email, batch, ready, clock = self.ready.email, self.batch, self.ready, self._sending.clock
        enrollment = email.enrollment
        version = enrollment.version
        rendered = yield from render_step_in_steps(
            snapshot={"settings": version.settings, "steps": version.steps},
            step=email.step,
            person=enrollment.person,
            address=enrollment.email,
            sender=batch.sender,
            enrollment_id=enrollment.pk,
            first_subject=ready.first_subject,
            ai_texts=AiTexts(
                version_id=enrollment.version_id,
                person_id=enrollment.person_id,
                clock=clock,
                # Never called here: it only says a model is set up, so that a slot with
                # no text yet waits for the engine's writer instead of its fallback.
                generator=self._sending.ai_generator,
                mode=Mode.SEND,
            ),
            definitions=batch.definitions,
        )
        self.rendered, self._phase = rendered, "compose"
        yield
        self.message = yield from build_message_in_steps(
            from_=(batch.mailbox.display_name, batch.mailbox.email),
            to=(enrollment.person.full_name, enrollment.email),
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            date=clock.now(),
            message_id=email.message_id,
            in_reply_to=ready.references[-1] if ready.references else None,
            references=ready.references,
            attachments=rendered.attachments,
            inline_images=rendered.inline_images,
            unsubscribe_url=rendered.unsubscribe_url,
            unsubscribe_mailto=rendered.unsubscribe_mailto,
        )


def prepare(made: _Made, sending: _Sending) -> Prepared | None:
    """Step 2: the email made (rendered and composed), then committed as *sending*;
    ``None`` when nothing is to be sent now."""
    owner, clock = sending.owner, sending.clock
    made.finish()
    email, exc = made.ready.email, made.failed
    if isinstance(exc, AiTextMissing):
        # Never sent with the slot empty: the recipient stays active and waits,
        # showing why, until the text exists.
        _hold(email, owner, clock.now() + AI_TEXT_RECHECK, str(exc))
        return None
    if isinstance(exc, RenderError):
        _fail(email, owner, str(exc))
        return None
    if exc is not None:  # a template or composer bug: this recipient fails, the batch goes on
        what = "rendered" if made.failed_in == "render" else "built"
        log.error(
            "email %s could not be %s", email.pk, what, exc_info=exc, extra=log_context(email)
        )
        _fail(email, owner, f"This email could not be {what}: {exc}")
        return None
    assert made.rendered is not None and made.message is not None
    with measured(sending.phases, "claim"):
        if not lifecycle.begin_sending(email, owner, clock, sending.lease, made.rendered.subject):
            return None  # stopped meanwhile (which also cleared its reservation)
    return Prepared(
        email=email,
        message=made.message,
        thread=made.ready.thread,
        webhooks=made.batch.webhooks,
    )


def _still_claimed(email: ScheduledEmail, owner: str) -> tuple[Enrollment, ScheduledEmail] | None:
    """Lock ``email`` with its enrollment (in the caller's transaction), if it is still
    ``owner``'s and *claimed*."""
    locked = lifecycle.lock_for_email(email.pk)
    if locked is None:
        return None
    _, current = locked
    return locked if current.state == EmailState.CLAIMED and current.lease_owner == owner else None


def _hold(email: ScheduledEmail, owner: str, until: datetime, reason: str) -> None:
    """A claimed email waits until ``until``, if it is still ours."""
    with transaction.atomic():
        if locked := _still_claimed(email, owner):
            lifecycle.reschedule(locked[1], until, reason)


def _fail(email: ScheduledEmail, owner: str, reason: str) -> None:
    """A claimed email that cannot be sent fails with its enrollment, if still ours."""
    with transaction.atomic():
        if locked := _still_claimed(email, owner):
            lifecycle.fail(*locked, reason)


def deliver(
    prepared: Prepared,
    provider: MailProvider,
    clock: Clock,
    random: Random,
    phases: PhaseTimes | None = None,
    meanwhile: _Made | None = None,
) -> bool:
    """Steps 3 and 4: hand the message over and record what happened; whether it was
    handed to the provider.

    ``random`` scatters the wait after a transient failure (see :data:`RETRY`).
    ``meanwhile``, the batch's next email, is made while the server answers this one.
    """
    email = prepared.email
    enrollment = email.enrollment
    started = time.monotonic()
    try:
        result = _hand_over(prepared, provider, phases, meanwhile)
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
                webhooks=prepared.webhooks,
            )
    return True


def _hand_over(
    prepared: Prepared, provider: MailProvider, phases: PhaseTimes | None, meanwhile: _Made | None
) -> SendResult:
    """The provider call, timed as the hand-over without the next email's steps that ran
    inside it (those count as rendering and composing)."""
    lent_before = meanwhile.lent_seconds if meanwhile is not None else 0.0
    try:
        with measured(phases, "handover"), counted_failures():
            return provider.send(
                prepared.message,
                thread=prepared.thread,
                meanwhile=meanwhile.lend if meanwhile is not None else None,
            )
    finally:
        if phases is not None and meanwhile is not None:
            phases.seconds["handover"] -= meanwhile.lent_seconds - lent_before


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
    # The address takes no mail: the recipient's other sequences end too, before any of
    # them writes to it (a later email of this very batch included: its commit of
    # *sending* finds its enrollment ended).
    lifecycle.exit_all_writing_to(email.enrollment.email, EventKind.BOUNCED, clock=clock)


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


def send_claimed(
    email_ids: Sequence[int],
    *,
    owner: str,
    clock: Clock,
    lease: timedelta,
    provider_for: Callable[[Mailbox], MailProvider],
    random: Random,
    ai_generator: TextGenerator | None = None,
    phases: PhaseTimes | None = None,
) -> int:
    """Re-check and send ``email_ids``, claimed emails of one mailbox, one after another
    in that order; how many were handed over.

    ``phases``, when given, gathers where the time went (see :mod:`.phases`): the
    re-check and the commit of *sending* count as claiming, rendering apart.
    """
    sending = _Sending(owner, clock, lease, provider_for, random, ai_generator, phases)
    handed_over = 0
    pending = list(email_ids)
    again = False
    while pending:
        started = time.perf_counter()
        batch = check(pending, owner, clock, again=again)
        if phases is not None:
            phases.seconds["claim"] += time.perf_counter() - started
        if batch is None:
            return handed_over
        pending, again = [], True
        ahead: _Made | None = None  # the email made while the one before it was sent
        for at, ready in enumerate(batch.ready):
            # The first email of a check goes on it; each later one only while it is fresh.
            if at and time.monotonic() - batch.checked_at > RECHECK_AFTER:
                pending = [r.email.pk for r in batch.ready[at:]]
                break
            this = ahead or _Made(ready, batch, sending)
            # The next email is made while the server answers this one (the CPU would
            # otherwise idle through each of the server's replies).
            following = batch.ready[at + 1 : at + 2]
            ahead = _Made(following[0], batch, sending) if following else None
            if _send(this, batch, sending, ahead):
                handed_over += 1
    return handed_over


def _send(made: _Made, batch: _Batch, sending: _Sending, ahead: _Made | None) -> bool:
    """Steps 2 to 4 for one email of a checked batch; whether it was handed over."""
    phases = sending.phases
    prepared = prepare(made, sending)
    if prepared is None:
        return False
    try:
        with measured(phases, "handover"), counted_failures():
            provider = sending.provider_for(batch.mailbox)
    except MailboxFailure as exc:
        _mailbox_failed(prepared.email, exc, sending.clock)
        return False
    return deliver(prepared, provider, sending.clock, sending.random, phases, ahead)
