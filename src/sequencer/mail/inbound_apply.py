"""Acting on what arrives in a mailbox.

Every message a sync reads goes through :func:`ingest`: it is classified
(:func:`sequencer.mail.inbound.classify`), stored once per mailbox and Message-ID as an
:class:`~sequencer.mail.models.InboundMessage` with its raw bytes, matched to the
enrollment it concerns, and acted upon:

=====================  ==================================================================
kind                   what happens to the matched enrollment
=====================  ==================================================================
reply                  exits as *replied* (unless the sequence's ``exit_on_reply`` is off)
unsubscribe_request    a reply asking to stop: exits as *replied* and the address is
                       suppressed for the sender (``asked_to_stop``); a mailto
                       unsubscribe (subject "unsubscribe"): the sender's address is
                       suppressed and every open enrollment of it from this mailbox exits
                       as *unsubscribed*
auto_reply             nothing ends; with a stated return date and the sequence's
                       ``pause_on_out_of_office`` on (the default), it pauses until that
                       day and :func:`resume_due` resumes it then
bounce                 permanent: exits as *bounced*, the email is marked bounced and the
                       address suppressed for the sender; temporary: recorded only
meeting                a booked meeting (see ``MeetingInfo.counts_as_booked``) exits as
                       *meeting_booked* when the sequence's ``exit_on_meeting_booked`` is on
own_message, other     stored, nothing else
=====================  ==================================================================

Each action is recorded as an :class:`~sequencer.sequences.models.EnrollmentEvent`
pointing at the stored message.

**Matching**, first hit wins: (1) the Message-IDs the message refers to (In-Reply-To,
References, a bounce's original Message-ID) among the emails sent from *this* mailbox;
(2) the provider's thread (Gmail threadId, Graph conversationId) of an email sent from
it; (3) for clients that drop threading headers, From equal to the recipient of an open
enrollment of this mailbox whose first email had the same subject once ``RE:``/``AW:``/
``SV:``/``Fwd:`` prefixes are stripped. Bounces also fall back to their failed
recipients, meetings to their parties. The mailbox's own messages (its sent copies
appear in threads) are never matched.

**Locks** follow the engine's order, enrollment → email → mailbox: the stored message is
inserted in a transaction of its own (an insert that names the mailbox takes a key-share
lock on it, which must not be held while waiting for an enrollment), and acting on it
locks the message's row, then the enrollment, then its emails. The pre-send check in
:mod:`sequencer.engine.dispatch` locks the enrollment too, so a reply recorded here is
seen by every email not yet committed as *sending*.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from sequencer.clock import Clock, system_clock
from sequencer.crm.emails import mark_undeliverable
from sequencer.domain.threading import make_message_id, normalise_subject
from sequencer.mail.inbound import InboundEvent, classify
from sequencer.mail.models import InboundMessage, Mailbox
from sequencer.sequences import suppression
from sequencer.sequences.enrollment import exit_enrollment, next_step_due
from sequencer.sequences.models import (
    OPEN_STATUSES,
    EmailState,
    Enrollment,
    EnrollmentEvent,
    EnrollmentEventKind,
    EnrollmentStatus,
    ExitReason,
    ScheduledEmail,
)

log = logging.getLogger(__name__)

# How much of a reply's text the timeline keeps.
EXCERPT_CHARS = 500
# How long a message whose handling failed is tried again.
RETRY_UNFINISHED = timedelta(days=1)
# Kinds that may concern an enrollment; the rest are only stored.
_MATCHED_KINDS = frozenset({"reply", "auto_reply", "bounce", "meeting", "unsubscribe_request"})
_PENDING = (EmailState.SCHEDULED, EmailState.CLAIMED)


def message_key(message_id: str | None, raw: bytes) -> str:
    """What identifies a message within a mailbox: its Message-ID, or for a message
    without one a stand-in made from its bytes."""
    if message_id and message_id.strip():
        return message_id.strip()[:998]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def known_message_ids(mailbox: Mailbox, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` (Message-IDs) this mailbox already stored and acted on."""
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    return set(
        InboundMessage.objects.filter(
            mailbox=mailbox, message_id__in=wanted, processed_at__isnull=False
        ).values_list("message_id", flat=True)
    )


def known_provider_ids(mailbox: Mailbox, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` (Gmail or Graph message ids) this mailbox already stored and
    acted on, so that they are not downloaded again."""
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    return set(
        InboundMessage.objects.filter(
            mailbox=mailbox, provider_id__in=wanted, processed_at__isnull=False
        ).values_list("provider_id", flat=True)
    )


# -- storing and acting --------------------------------------------------------------------


def ingest(
    mailbox: Mailbox,
    raw: bytes,
    *,
    received_at: datetime | None,
    clock: Clock = system_clock,
    folder: str = "",
    uid: int | None = None,
    uidvalidity: int | None = None,
    provider_id: str = "",
    provider_thread_id: str = "",
) -> InboundMessage | None:
    """Store one message read from ``mailbox`` and act on it.

    Returns the stored message, or ``None`` when it had been stored and acted on before
    (reading a message twice is harmless). ``received_at`` is the provider's arrival
    time; one later than the engine's clock is taken as now.
    """
    now = clock.now()
    received = min(received_at, now) if received_at is not None else now
    event = classify(bytes(raw), mailbox_address=mailbox.email, received_at=received)
    key = message_key(event.message_id, bytes(raw))
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                mailbox=mailbox,
                folder=folder,
                uidvalidity=uidvalidity,
                uid=uid,
                provider_id=provider_id[:255],
                provider_thread_id=provider_thread_id[:255],
                message_id=key,
                from_address=(event.from_address or "")[:254],
                subject=event.subject[:998],
                raw=bytes(raw),
                received_at=received,
                kind=event.kind,
            )
    except IntegrityError:
        existing = (
            InboundMessage.objects.filter(mailbox=mailbox, message_id=key)
            .only("pk", "processed_at")
            .first()
        )
        if existing is None or existing.processed_at is not None:
            return None
        inbound = existing  # stored by a run that stopped before acting on it
    try:
        apply_event(inbound.pk, event, mailbox, clock=clock)
    except Exception:
        # Kept unprocessed: process_unfinished tries again on the next passes, and the
        # reader moves on, so that one message cannot stop a mailbox from being read.
        log.exception("acting on inbound message %s of %s failed", key, mailbox.email)
    return inbound


def process_unfinished(mailbox: Mailbox, *, clock: Clock = system_clock, limit: int = 50) -> int:
    """Act on messages that were stored but not acted on (a pass stopped in between, or
    acting failed); each is tried again for :data:`RETRY_UNFINISHED`."""
    done = 0
    for inbound in InboundMessage.objects.filter(
        mailbox=mailbox,
        processed_at__isnull=True,
        created_at__gte=clock.now() - RETRY_UNFINISHED,
    ).order_by("created_at")[:limit]:
        raw = bytes(inbound.raw)
        event = classify(raw, mailbox_address=mailbox.email, received_at=inbound.received_at)
        try:
            apply_event(inbound.pk, event, mailbox, clock=clock)
        except Exception:
            log.exception("acting on inbound message %s failed again", inbound.message_id)
            continue
        done += 1
    return done


@dataclass(frozen=True)
class Match:
    enrollment_id: int
    email_id: int | None
    by: str  # message_id | thread | sender_subject | bounce_recipient | meeting_party


def match(mailbox: Mailbox, event: InboundEvent, thread_id: str = "") -> Match | None:
    """The enrollment ``event`` concerns among those sent from ``mailbox``, if any."""
    if event.kind not in _MATCHED_KINDS:
        return None
    found = _by_message_id(mailbox, event) or _by_thread(mailbox, thread_id)
    if found is not None:
        return found
    if event.kind == "bounce":
        return _by_bounce_recipient(mailbox, event)
    if event.kind == "meeting":
        return _by_meeting_party(mailbox, event) or _by_sender_and_subject(mailbox, event)
    return _by_sender_and_subject(mailbox, event)


def _by_message_id(mailbox: Mailbox, event: InboundEvent) -> Match | None:
    ids = [i.strip() for i in event.matching_ids() if i and i.strip()]
    if not ids:
        return None
    wanted = set(ids) | {i.lower() for i in ids}
    sent = {
        message_id: (pk, enrollment_id)
        for pk, enrollment_id, message_id in ScheduledEmail.objects.filter(
            mailbox=mailbox, message_id__in=wanted
        ).values_list("pk", "enrollment_id", "message_id")
    }
    for wanted_id in ids:
        hit = sent.get(wanted_id) or sent.get(wanted_id.lower())
        if hit is not None:
            return Match(enrollment_id=hit[1], email_id=hit[0], by="message_id")
    return None


def _by_thread(mailbox: Mailbox, thread_id: str) -> Match | None:
    if not thread_id:
        return None
    hit = (
        ScheduledEmail.objects.filter(mailbox=mailbox, thread_id=thread_id)
        .order_by("-step", "-pk")
        .values_list("pk", "enrollment_id")
        .first()
    )
    return Match(enrollment_id=hit[1], email_id=hit[0], by="thread") if hit else None


def _open_enrollments_of(mailbox: Mailbox, addresses: Iterable[str]) -> list[Enrollment]:
    wanted = {a.strip().lower() for a in addresses if a and a.strip()}
    if not wanted:
        return []
    return list(
        Enrollment.objects.filter(
            mailbox=mailbox, email__in=wanted, status__in=OPEN_STATUSES
        ).order_by("-enrolled_at", "-pk")
    )


def _by_sender_and_subject(mailbox: Mailbox, event: InboundEvent) -> Match | None:
    subject = normalise_subject(event.subject)
    if not event.from_address or not subject:
        return None
    for enrollment in _open_enrollments_of(mailbox, [event.from_address]):
        first = (
            ScheduledEmail.objects.filter(enrollment=enrollment, step=0)
            .exclude(subject="")
            .order_by("-pk")
            .values_list("subject", flat=True)
            .first()
        )
        if first is not None and normalise_subject(first) == subject:
            return Match(enrollment_id=enrollment.pk, email_id=None, by="sender_subject")
    return None


def _by_bounce_recipient(mailbox: Mailbox, event: InboundEvent) -> Match | None:
    if event.bounce is None:
        return None
    for enrollment in _open_enrollments_of(mailbox, event.bounce.recipients):
        return Match(enrollment_id=enrollment.pk, email_id=None, by="bounce_recipient")
    return None


def _by_meeting_party(mailbox: Mailbox, event: InboundEvent) -> Match | None:
    meeting = event.meeting
    if meeting is None:
        return None
    for enrollment in _open_enrollments_of(mailbox, meeting.parties()):
        if meeting.counts_as_booked(mailbox.email, enrollment.email):
            return Match(enrollment_id=enrollment.pk, email_id=None, by="meeting_party")
    return None


def apply_event(
    inbound_id: int, event: InboundEvent, mailbox: Mailbox, *, clock: Clock = system_clock
) -> None:
    """Act on the stored message ``inbound_id`` once (see the module's table)."""
    found = match(mailbox, event, _thread_of(inbound_id))
    with transaction.atomic():
        inbound = (
            InboundMessage.objects.select_for_update()
            .only("pk", "processed_at", "enrollment_id")
            .get(pk=inbound_id)
        )
        if inbound.processed_at is not None:
            return  # another run acted on it meanwhile
        now = clock.now()
        action = _Action(mailbox, event, inbound, found, now, clock)
        enrollment_id = action.run()
        changes: dict[str, Any] = {"processed_at": now, "enrollment_id": enrollment_id}
        if enrollment_id is None:
            # Not about any enrollment: keep what identifies it, not the person's mail.
            raw = bytes(
                InboundMessage.objects.filter(pk=inbound_id).values_list("raw", flat=True)[0]
            )
            changes["raw"] = header_only(raw)
        InboundMessage.objects.filter(pk=inbound_id).update(**changes)


def header_only(raw: bytes) -> bytes:
    """The header section of a raw message (up to the first empty line)."""
    ends = [
        (found + len(separator))
        for separator in (b"\r\n\r\n", b"\n\n")
        if (found := raw.find(separator)) != -1
    ]
    return raw[: min(ends)] if ends else raw[:8192]


def _thread_of(inbound_id: int) -> str:
    return str(
        InboundMessage.objects.filter(pk=inbound_id)
        .values_list("provider_thread_id", flat=True)
        .first()
        or ""
    )


class _Action:
    """What one event does; :meth:`run` returns the enrollment it concerned, if any."""

    def __init__(
        self,
        mailbox: Mailbox,
        event: InboundEvent,
        inbound: InboundMessage,
        found: Match | None,
        now: datetime,
        clock: Clock,
    ) -> None:
        self.mailbox = mailbox
        self.event = event
        self.inbound = inbound
        self.found = found
        self.now = now
        self.clock = clock

    def run(self) -> int | None:
        kind = self.event.kind
        if kind == "unsubscribe_request" and self._is_mailto_unsubscribe():
            return self._mailto_unsubscribe()
        if self.found is None:
            if kind == "unsubscribe_request":
                return self._stop_request_without_match()
            return None
        enrollment = _locked(self.found.enrollment_id)
        if kind == "reply":
            self._reply(enrollment)
        elif kind == "unsubscribe_request":
            self._asked_to_stop(enrollment)
        elif kind == "auto_reply":
            self._auto_reply(enrollment)
        elif kind == "bounce":
            self._bounce(enrollment)
        elif kind == "meeting":
            self._meeting(enrollment)
        return enrollment.pk

    # -- helpers ---------------------------------------------------------------------

    def _record(self, enrollment: Enrollment, kind: str, **detail: Any) -> None:
        base: dict[str, Any] = {
            "from": self.event.from_address or "",
            "subject": self.event.subject,
            "matched_by": self.found.by if self.found else "sender",
        }
        if self.event.reply_text:
            base["text"] = self.event.reply_text[:EXCERPT_CHARS]
        EnrollmentEvent.objects.create(
            enrollment=enrollment,
            kind=kind,
            occurred_at=self.now,
            detail={**base, **detail},
            inbound_message_id=self.inbound.pk,
        )

    def _exit(self, enrollment: Enrollment, reason: ExitReason) -> bool:
        """Exit (the enrollment is already locked); whether this ended it."""
        was_open = enrollment.status in OPEN_STATUSES
        updated = exit_enrollment(enrollment.pk, reason, clock=self.clock)
        enrollment.status, enrollment.exit_reason = updated.status, updated.exit_reason
        return was_open

    def _settings(self, enrollment: Enrollment) -> dict[str, Any]:
        settings = enrollment.version.settings
        return settings if isinstance(settings, dict) else {}

    # -- kinds -----------------------------------------------------------------------

    def _reply(self, enrollment: Enrollment) -> None:
        exits = bool(self._settings(enrollment).get("exit_on_reply", True))
        ended = self._exit(enrollment, ExitReason.REPLIED) if exits else False
        self._record(enrollment, EnrollmentEventKind.REPLIED, exited=ended)

    def _asked_to_stop(self, enrollment: Enrollment) -> None:
        ended = self._exit(enrollment, ExitReason.REPLIED)
        suppression.suppress(
            self.mailbox.email,
            enrollment.email,
            reason="asked_to_stop",
            source=f"reply {self.inbound.pk}",
            member_id=self.mailbox.owner_id,
            clock=self.clock,
        )
        self._record(enrollment, EnrollmentEventKind.ASKED_TO_STOP, exited=ended, suppressed=True)

    def _is_mailto_unsubscribe(self) -> bool:
        return "subject:unsubscribe" in self.event.reasons

    def _mailto_unsubscribe(self) -> int | None:
        """The recipient used the List-Unsubscribe mailto: suppress them for this sender
        and end every open enrollment that would still write to them from it."""
        addresses = {a.strip().lower() for a in (self.event.from_address,) if a}
        matched_id = self.found.enrollment_id if self.found else None
        if matched_id is not None:
            matched_email = (
                Enrollment.objects.filter(pk=matched_id).values_list("email", flat=True).first()
            )
            if matched_email:
                addresses.add(matched_email.lower())
        if not addresses:
            return None
        ids = {e.pk for e in _open_enrollments_of(self.mailbox, addresses)}
        if matched_id is not None:
            ids.add(matched_id)
        # Enrollments are locked in id order, as every multi-row writer does.
        for enrollment_id in sorted(ids):
            enrollment = _locked(enrollment_id)
            ended = self._exit(enrollment, ExitReason.UNSUBSCRIBED)
            self._record(enrollment, EnrollmentEventKind.UNSUBSCRIBED, exited=ended)
        for address in sorted(addresses):
            suppression.suppress(
                self.mailbox.email,
                address,
                reason="unsubscribed",
                source=f"mailto {self.inbound.pk}",
                member_id=self.mailbox.owner_id,
                clock=self.clock,
            )
        if matched_id is not None:
            return matched_id
        return min(ids) if ids else None

    def _stop_request_without_match(self) -> int | None:
        """A "please stop" in a new email that quotes nothing we sent: it still counts for
        the sender's open enrollments of this address."""
        sender = self.event.from_address
        candidates = [e.pk for e in _open_enrollments_of(self.mailbox, [sender or ""])]
        if not candidates or not sender:
            return None
        for enrollment_id in sorted(candidates):
            self._asked_to_stop(_locked(enrollment_id))
        return candidates[0]

    def _auto_reply(self, enrollment: Enrollment) -> None:
        returns = self.event.return_date
        detail: dict[str, Any] = {"return_date": returns.isoformat() if returns else None}
        resume_at = _start_of(returns, enrollment.time_zone) if returns else None
        wants_pause = bool(self._settings(enrollment).get("pause_on_out_of_office", True))
        if (
            resume_at is None
            or resume_at <= self.now
            or not wants_pause
            or enrollment.status not in (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
        ):
            self._record(enrollment, EnrollmentEventKind.OUT_OF_OFFICE, paused=False, **detail)
            return
        if enrollment.status == EnrollmentStatus.PAUSED and not _paused_for_absence(enrollment):
            # Paused by a person: leave it to them.
            self._record(enrollment, EnrollmentEventKind.OUT_OF_OFFICE, paused=False, **detail)
            return
        if enrollment.status == EnrollmentStatus.ACTIVE:
            enrollment.status = EnrollmentStatus.PAUSED
            enrollment.paused_at = self.now
        enrollment.resume_at = max(resume_at, enrollment.resume_at or resume_at)
        enrollment.save(update_fields=["status", "paused_at", "resume_at"])
        ScheduledEmail.objects.filter(enrollment=enrollment, state__in=_PENDING).update(
            state=EmailState.CANCELLED, lease_until=None, lease_owner=""
        )
        self._record(
            enrollment,
            EnrollmentEventKind.PAUSED_OUT_OF_OFFICE,
            paused=True,
            resume_at=enrollment.resume_at.isoformat(),
            paused_at=enrollment.paused_at.isoformat() if enrollment.paused_at else None,
            **detail,
        )

    def _bounce(self, enrollment: Enrollment) -> None:
        bounce = self.event.bounce
        detail: dict[str, Any] = {
            "permanent": bool(bounce and bounce.permanent),
            "status": bounce.status if bounce else None,
            "diagnostic": (bounce.diagnostic or "")[:EXCERPT_CHARS] if bounce else "",
            "recipients": list(bounce.recipients) if bounce else [],
        }
        if bounce is None or not bounce.permanent:
            self._record(enrollment, EnrollmentEventKind.BOUNCE_DELAYED, **detail)
            return
        ended = self._exit(enrollment, ExitReason.BOUNCED)
        email_id = self.found.email_id if self.found else None
        if email_id is not None:
            # Only a sent email becomes bounced (the email state machine); one whose outcome
            # is unknown is settled by the Sent-folder search, and the enrollment has
            # ended anyway.
            ScheduledEmail.objects.filter(pk=email_id, state=EmailState.SENT).update(
                state=EmailState.BOUNCED,
                last_error=(
                    f"Bounced: {bounce.status or ''} {bounce.diagnostic or ''}".strip()[:2000]
                ),
            )
        mark_undeliverable(
            enrollment.email,
            f"{bounce.status or ''} {bounce.diagnostic or ''}".strip() or "bounced",
            self.clock.now(),
        )
        suppression.suppress(
            self.mailbox.email,
            enrollment.email,
            reason="bounced",
            source=f"bounce {self.inbound.pk}",
            clock=self.clock,
        )
        self._record(enrollment, EnrollmentEventKind.BOUNCED, exited=ended, **detail)

    def _meeting(self, enrollment: Enrollment) -> None:
        meeting = self.event.meeting
        booked = bool(meeting and meeting.counts_as_booked(self.mailbox.email, enrollment.email))
        detail: dict[str, Any] = {
            "method": meeting.method if meeting else None,
            "summary": (meeting.summary or "") if meeting else "",
            "start": str(meeting.start) if meeting and meeting.start else None,
            "booked": booked,
        }
        exits = bool(self._settings(enrollment).get("exit_on_meeting_booked", False))
        if booked and exits:
            ended = self._exit(enrollment, ExitReason.MEETING_BOOKED)
            self._record(enrollment, EnrollmentEventKind.MEETING_BOOKED, exited=ended, **detail)
        else:
            self._record(enrollment, EnrollmentEventKind.MEETING, exited=False, **detail)


def _locked(enrollment_id: int) -> Enrollment:
    # "of self": only the enrollment row, as the engine's other writers lock it.
    return (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "mailbox")
        .get(pk=enrollment_id)
    )


def _start_of(day: date, zone: str) -> datetime:
    try:
        tz = ZoneInfo(zone or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def _paused_for_absence(enrollment: Enrollment) -> bool:
    """Whether the enrollment's current pause is the one an out-of-office reply made
    (and not a person's pause since): the pause moment matches the recorded one."""
    if enrollment.resume_at is None or enrollment.paused_at is None:
        return False
    latest = (
        EnrollmentEvent.objects.filter(
            enrollment=enrollment, kind=EnrollmentEventKind.PAUSED_OUT_OF_OFFICE
        )
        .order_by("-occurred_at", "-pk")
        .values_list("detail", flat=True)
        .first()
    )
    if not isinstance(latest, dict):
        return False
    return latest.get("paused_at") == enrollment.paused_at.isoformat()


# -- resuming after an absence ------------------------------------------------------------


def resume_due(now: datetime, *, clock: Clock = system_clock, limit: int = 100) -> int:
    """Resume enrollments paused by an out-of-office reply whose return day has come;
    the number resumed. The next email is scheduled as a person's resume would: its
    delay after the previous email, never before now, inside the sending window."""
    due = list(
        Enrollment.objects.filter(resume_at__lte=now)
        .order_by("resume_at")
        .values_list("pk", flat=True)[:limit]
    )
    resumed = 0
    for enrollment_id in due:
        try:
            if _resume_one(enrollment_id, now):
                resumed += 1
        except Exception:
            log.exception("could not resume enrollment %s after an absence", enrollment_id)
    return resumed


@transaction.atomic
def _resume_one(enrollment_id: int, now: datetime) -> bool:
    enrollment = _locked(enrollment_id)
    if enrollment.resume_at is None or enrollment.resume_at > now:
        return False
    if enrollment.status != EnrollmentStatus.PAUSED or not _paused_for_absence(enrollment):
        # Resumed, paused again or ended by a person meanwhile: the date no longer applies.
        enrollment.resume_at = None
        enrollment.save(update_fields=["resume_at"])
        return False
    emails = list(enrollment.emails.exclude(state=EmailState.CANCELLED).order_by("step"))
    sent = [
        e for e in emails if e.state in (EmailState.SENT, EmailState.SENDING, EmailState.UNKNOWN)
    ]
    live = [e for e in emails if e.state in _PENDING]
    enrollment.status = EnrollmentStatus.ACTIVE
    enrollment.paused_at = None
    enrollment.resume_at = None
    enrollment.save(update_fields=["status", "paused_at", "resume_at"])
    next_step = (sent[-1].step + 1) if sent else 0
    due_at = None
    if not live and next_step < len(enrollment.version.steps):
        after = (sent[-1].sent_at or now) if sent else enrollment.enrolled_at
        due_at = next_step_due(enrollment, next_step, after, now)
        ScheduledEmail.objects.create(
            enrollment=enrollment,
            step=next_step,
            mailbox=enrollment.mailbox,
            due_at=due_at,
            message_id=make_message_id(enrollment.mailbox.email),
        )
    elif not live:
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.finished_at = now
        enrollment.save(update_fields=["status", "finished_at"])
    EnrollmentEvent.objects.create(
        enrollment=enrollment,
        kind=EnrollmentEventKind.RESUMED,
        occurred_at=now,
        detail={"next_step": next_step, "due_at": due_at.isoformat() if due_at else None},
    )
    return True


__all__ = [
    "Match",
    "apply_event",
    "ingest",
    "known_message_ids",
    "known_provider_ids",
    "match",
    "message_key",
    "process_unfinished",
    "resume_due",
]
