"""What an inbound message does to the enrollments it concerns.

The mail package stores each message and classifies it into an
:class:`~sequencer.domain.inbound.InboundEvent`; :func:`act` (the handler the engine
gives the mail readers) matches it to an enrollment and acts on it, every change going
through :mod:`sequencer.sequences.lifecycle`:

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
bounce                 permanent: exits as *bounced*, the email is marked bounced, the
                       address suppressed for the sender and marked undeliverable, and
                       the recipient's other sequences writing to it exit as *bounced*
                       too; temporary: recorded only
complaint              a spam complaint (``ComplaintInfo.is_spam_complaint``: feedback
                       type abuse, fraud or virus): exits as *complained* and the address
                       is suppressed for the sender, as an unsubscribe is; the engine then
                       checks the mailbox's complaint rate. Other feedback (auth-failure,
                       not-spam…) is recorded only (``feedback_report``)
meeting                a booked meeting (see ``MeetingInfo.counts_as_booked``) exits as
                       *meeting_booked* when the sequence's ``exit_on_meeting_booked`` is on
own_message, other     stored, nothing else
=====================  ==================================================================

Each action is recorded as an :class:`~sequencer.sequences.models.EnrollmentEvent`
pointing at the stored message; the event's kind decides the exit reason
(:data:`sequencer.domain.events.ENDS_AS`).

**Matching**, first hit wins: (1) the Message-IDs the message refers to (In-Reply-To,
References, a bounce's original Message-ID) among the emails sent from *this* mailbox;
(2) the provider's thread (Gmail threadId, Graph conversationId) of an email sent from
it; (3) for clients that drop threading headers, From equal to the recipient of an open
enrollment of this mailbox whose first email had the same subject once ``RE:``/``AW:``/
``SV:``/``Fwd:`` prefixes are stripped. Bounces also fall back to their failed
recipients, complaints to the complained-about address, meetings to their parties (all
among the mailbox's open enrollments). A complaint is never matched by its sender and
subject: it comes from the receiver's feedback loop, not from the recipient. The
mailbox's own messages (its sent copies appear in threads) are never matched.

**Locks**: :func:`act` runs inside the transaction that holds the stored message's row;
it locks enrollments (in id order when several) before their emails, the lifecycle's
order. The pre-send check of the engine locks the enrollment too, so a reply recorded
here is seen by every email not yet committed as *sending*.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from sequencer.clock import Clock
from sequencer.crm.emails import mark_undeliverable
from sequencer.domain.events import ArrivalKind, EventKind, RecordedKind, ends_as
from sequencer.domain.inbound import Arrival, InboundEvent
from sequencer.domain.lifecycle import EmailState
from sequencer.domain.threading import normalise_subject
from sequencer.sequences import lifecycle, suppression
from sequencer.sequences.models import (
    OPEN_STATUSES,
    Enrollment,
    EnrollmentEvent,
    EnrollmentStatus,
    ScheduledEmail,
)

log = logging.getLogger(__name__)

# How much of a reply's text the timeline keeps.
EXCERPT_CHARS = 500
# Kinds that may concern an enrollment; the rest are only stored.
_MATCHED_KINDS: frozenset[ArrivalKind] = frozenset(
    {
        EventKind.REPLY,
        EventKind.AUTO_REPLY,
        EventKind.BOUNCE,
        EventKind.COMPLAINT,
        EventKind.MEETING,
        EventKind.UNSUBSCRIBE_REQUEST,
    }
)


@dataclass(frozen=True)
class Match:
    enrollment_id: int
    email_id: int | None
    # message_id | thread | sender_subject | bounce_recipient | complaint_recipient |
    # meeting_party
    by: str


def match(
    mailbox_id: int, mailbox_email: str, event: InboundEvent, thread_id: str = ""
) -> Match | None:
    """The enrollment ``event`` concerns among those sent from mailbox ``mailbox_id``."""
    if event.kind not in _MATCHED_KINDS:
        return None
    found = _by_message_id(mailbox_id, event) or _by_thread(mailbox_id, thread_id)
    if found is not None:
        return found
    if event.kind == EventKind.BOUNCE:
        return _by_bounce_recipient(mailbox_id, event)
    if event.kind == EventKind.COMPLAINT:
        return _by_complaint_recipient(mailbox_id, event)
    if event.kind == EventKind.MEETING:
        by_party = _by_meeting_party(mailbox_id, mailbox_email, event)
        return by_party or _by_sender_and_subject(mailbox_id, event)
    return _by_sender_and_subject(mailbox_id, event)


def _by_message_id(mailbox_id: int, event: InboundEvent) -> Match | None:
    ids = [i.strip() for i in event.matching_ids() if i and i.strip()]
    if not ids:
        return None
    wanted = set(ids) | {i.lower() for i in ids}
    sent = {
        message_id: (pk, enrollment_id)
        for pk, enrollment_id, message_id in ScheduledEmail.objects.filter(
            mailbox_id=mailbox_id, message_id__in=wanted
        ).values_list("pk", "enrollment_id", "message_id")
    }
    for wanted_id in ids:
        hit = sent.get(wanted_id) or sent.get(wanted_id.lower())
        if hit is not None:
            return Match(enrollment_id=hit[1], email_id=hit[0], by="message_id")
    return None


def _by_thread(mailbox_id: int, thread_id: str) -> Match | None:
    if not thread_id:
        return None
    hit = (
        ScheduledEmail.objects.filter(mailbox_id=mailbox_id, thread_id=thread_id)
        .order_by("-step", "-pk")
        .values_list("pk", "enrollment_id")
        .first()
    )
    return Match(enrollment_id=hit[1], email_id=hit[0], by="thread") if hit else None


def _open_enrollments_of(mailbox_id: int, addresses: Iterable[str]) -> list[Enrollment]:
    wanted = {a.strip().lower() for a in addresses if a and a.strip()}
    if not wanted:
        return []
    return list(
        Enrollment.objects.filter(
            mailbox_id=mailbox_id, email__in=wanted, status__in=OPEN_STATUSES
        ).order_by("-enrolled_at", "-pk")
    )


def _by_sender_and_subject(mailbox_id: int, event: InboundEvent) -> Match | None:
    subject = normalise_subject(event.subject)
    if not event.from_address or not subject:
        return None
    for enrollment in _open_enrollments_of(mailbox_id, [event.from_address]):
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


def _by_bounce_recipient(mailbox_id: int, event: InboundEvent) -> Match | None:
    if event.bounce is None:
        return None
    for enrollment in _open_enrollments_of(mailbox_id, event.bounce.recipients):
        return Match(enrollment_id=enrollment.pk, email_id=None, by="bounce_recipient")
    return None


def _by_complaint_recipient(mailbox_id: int, event: InboundEvent) -> Match | None:
    # Many receivers blank the recipient out of their reports; those are matched by the
    # reported message's Message-ID only.
    if event.complaint is None:
        return None
    for enrollment in _open_enrollments_of(mailbox_id, event.complaint.recipients):
        return Match(enrollment_id=enrollment.pk, email_id=None, by="complaint_recipient")
    return None


def _by_meeting_party(mailbox_id: int, mailbox_email: str, event: InboundEvent) -> Match | None:
    meeting = event.meeting
    if meeting is None:
        return None
    for enrollment in _open_enrollments_of(mailbox_id, meeting.parties()):
        if meeting.counts_as_booked(mailbox_email, enrollment.email):
            return Match(enrollment_id=enrollment.pk, email_id=None, by="meeting_party")
    return None


def act(arrival: Arrival, *, clock: Clock) -> int | None:
    """Act on one stored message (see the module's table); the enrollment it concerned.

    Called inside the transaction that holds the stored message's row.
    """
    event = arrival.event
    found = match(arrival.mailbox_id, arrival.mailbox_email, event, arrival.thread_id)
    return _Action(arrival, found, clock).run()


class _Action:
    """What one event does; :meth:`run` returns the enrollment it concerned, if any."""

    def __init__(self, arrival: Arrival, found: Match | None, clock: Clock) -> None:
        self.arrival = arrival
        self.mailbox_id = arrival.mailbox_id
        self.mailbox_email = arrival.mailbox_email
        self.event = arrival.event
        self.inbound_id = arrival.inbound_id
        self.found = found
        self.now = arrival.now
        self.clock = clock

    def run(self) -> int | None:
        kind = self.event.kind
        if kind == EventKind.UNSUBSCRIBE_REQUEST and self._is_mailto_unsubscribe():
            return self._mailto_unsubscribe()
        if self.found is None:
            if kind == EventKind.UNSUBSCRIBE_REQUEST:
                return self._stop_request_without_match()
            return None
        enrollment = lifecycle.lock_enrollment(self.found.enrollment_id)
        if kind == EventKind.REPLY:
            self._reply(enrollment)
        elif kind == EventKind.UNSUBSCRIBE_REQUEST:
            self._asked_to_stop(enrollment)
        elif kind == EventKind.AUTO_REPLY:
            self._auto_reply(enrollment)
        elif kind == EventKind.BOUNCE:
            self._bounce(enrollment)
        elif kind == EventKind.COMPLAINT:
            self._complaint(enrollment)
        elif kind == EventKind.MEETING:
            self._meeting(enrollment)
        return enrollment.pk

    # -- helpers ---------------------------------------------------------------------

    def _record(self, enrollment: Enrollment, kind: RecordedKind, **detail: Any) -> None:
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
            inbound_message_id=self.inbound_id,
        )

    def _end(self, enrollment: Enrollment, kind: RecordedKind) -> bool:
        """Exit for what an event of ``kind`` ends an enrollment as (the enrollment is
        already locked); whether this ended it."""
        was_open = enrollment.status in OPEN_STATUSES
        updated = lifecycle.exit_enrollment(enrollment.pk, ends_as(kind), clock=self.clock)
        enrollment.status, enrollment.exit_reason = updated.status, updated.exit_reason
        return was_open

    def _settings(self, enrollment: Enrollment) -> dict[str, Any]:
        settings = enrollment.version.settings
        return settings if isinstance(settings, dict) else {}

    # -- kinds -----------------------------------------------------------------------

    def _reply(self, enrollment: Enrollment) -> None:
        exits = bool(self._settings(enrollment).get("exit_on_reply", True))
        ended = self._end(enrollment, EventKind.REPLIED) if exits else False
        self._record(enrollment, EventKind.REPLIED, exited=ended)

    def _asked_to_stop(self, enrollment: Enrollment) -> None:
        ended = self._end(enrollment, EventKind.ASKED_TO_STOP)
        suppression.suppress(
            self.mailbox_email,
            enrollment.email,
            reason=EventKind.ASKED_TO_STOP,
            source=f"reply {self.inbound_id}",
            member_id=self.arrival.mailbox_owner_id,
            clock=self.clock,
        )
        self._record(enrollment, EventKind.ASKED_TO_STOP, exited=ended, suppressed=True)

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
        ids = {e.pk for e in _open_enrollments_of(self.mailbox_id, addresses)}
        if matched_id is not None:
            ids.add(matched_id)
        # Enrollments are locked in id order, as every multi-row writer does.
        for enrollment_id in sorted(ids):
            enrollment = lifecycle.lock_enrollment(enrollment_id)
            ended = self._end(enrollment, EventKind.UNSUBSCRIBED)
            self._record(enrollment, EventKind.UNSUBSCRIBED, exited=ended)
        for address in sorted(addresses):
            suppression.suppress(
                self.mailbox_email,
                address,
                reason=EventKind.UNSUBSCRIBED,
                source=f"mailto {self.inbound_id}",
                member_id=self.arrival.mailbox_owner_id,
                clock=self.clock,
            )
        if matched_id is not None:
            return matched_id
        return min(ids) if ids else None

    def _stop_request_without_match(self) -> int | None:
        """A "please stop" in a new email that quotes nothing we sent: it still counts for
        the sender's open enrollments of this address."""
        sender = self.event.from_address
        candidates = [e.pk for e in _open_enrollments_of(self.mailbox_id, [sender or ""])]
        if not candidates or not sender:
            return None
        for enrollment_id in sorted(candidates):
            self._asked_to_stop(lifecycle.lock_enrollment(enrollment_id))
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
            self._record(enrollment, EventKind.OUT_OF_OFFICE, paused=False, **detail)
            return
        if enrollment.status == EnrollmentStatus.PAUSED and not _paused_for_absence(enrollment):
            # Paused by a person: leave it to them.
            self._record(enrollment, EventKind.OUT_OF_OFFICE, paused=False, **detail)
            return
        returns_at = max(resume_at, enrollment.resume_at or resume_at)
        lifecycle.pause(enrollment, self.now, resume_at=returns_at, by_person=False)
        self._record(
            enrollment,
            EventKind.PAUSED_OUT_OF_OFFICE,
            paused=True,
            resume_at=returns_at.isoformat(),
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
            self._record(enrollment, EventKind.BOUNCE_DELAYED, **detail)
            return
        ended = self._end(enrollment, EventKind.BOUNCED)
        email_id = self.found.email_id if self.found else None
        if email_id is not None:
            # Only a sent email becomes bounced (the email state machine); one whose outcome
            # is unknown is settled by the Sent-folder search, and the enrollment has
            # ended anyway.
            lifecycle.mark_bounced(
                email_id,
                f"Bounced: {bounce.status or ''} {bounce.diagnostic or ''}".strip(),
                sources=(EmailState.SENT,),
            )
        mark_undeliverable(
            enrollment.email,
            f"{bounce.status or ''} {bounce.diagnostic or ''}".strip() or "bounced",
            self.clock.now(),
        )
        suppression.suppress(
            self.mailbox_email,
            enrollment.email,
            reason=EventKind.BOUNCED,
            source=f"bounce {self.inbound_id}",
            clock=self.clock,
        )
        self._record(enrollment, EventKind.BOUNCED, exited=ended, **detail)
        # The address takes no mail: the recipient's other sequences end too, once this
        # transaction (which holds this enrollment's lock) has committed, one at a time.
        transaction.on_commit(
            partial(
                lifecycle.exit_all_writing_to,
                enrollment.email,
                EventKind.BOUNCED,
                clock=self.clock,
            ),
            robust=True,
        )

    def _complaint(self, enrollment: Enrollment) -> None:
        complaint = self.event.complaint
        if complaint is None:  # the classifier always fills it in; nothing to go on
            return
        detail: dict[str, Any] = {
            "feedback_type": complaint.feedback_type,
            "source": _report_source(self.event.reasons, complaint.reporter),
            "reporter": complaint.reporter or "",
            "recipients": list(complaint.recipients),
        }
        if not complaint.is_spam_complaint:
            # An authentication failure report (RFC 6591) or a "not spam": nobody asked
            # to stop, so it is kept on the timeline for the sender to look into.
            self._record(enrollment, EventKind.FEEDBACK_REPORT, exited=False, **detail)
            return
        ended = self._end(enrollment, EventKind.COMPLAINED)
        # The scope of an unsubscribe: this address and every mailbox of its owner.
        suppression.suppress(
            self.mailbox_email,
            enrollment.email,
            reason=EventKind.COMPLAINED,
            source=f"complaint {self.inbound_id}",
            member_id=self.arrival.mailbox_owner_id,
            clock=self.clock,
        )
        self._record(enrollment, EventKind.COMPLAINED, exited=ended, suppressed=True, **detail)

    def _meeting(self, enrollment: Enrollment) -> None:
        meeting = self.event.meeting
        booked = bool(meeting and meeting.counts_as_booked(self.mailbox_email, enrollment.email))
        detail: dict[str, Any] = {
            "method": meeting.method if meeting else None,
            "summary": (meeting.summary or "") if meeting else "",
            "start": str(meeting.start) if meeting and meeting.start else None,
            "booked": booked,
        }
        exits = bool(self._settings(enrollment).get("exit_on_meeting_booked", False))
        if booked and exits:
            ended = self._end(enrollment, EventKind.MEETING_BOOKED)
            self._record(enrollment, EventKind.MEETING_BOOKED, exited=ended, **detail)
        else:
            self._record(enrollment, EventKind.MEETING, exited=False, **detail)


def _report_source(reasons: tuple[str, ...], reporter: str | None) -> str:
    """Which form the complaint came in: an ARF report, Microsoft's JMRP, or Amazon SES."""
    if any(reason.startswith("ses:") for reason in reasons):
        return "ses"
    return "jmrp" if reporter == "JMRP" else "arf"


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
        EnrollmentEvent.objects.filter(enrollment=enrollment, kind=EventKind.PAUSED_OUT_OF_OFFICE)
        .order_by("-occurred_at", "-pk")
        .values_list("detail", flat=True)
        .first()
    )
    if not isinstance(latest, dict):
        return False
    return latest.get("paused_at") == enrollment.paused_at.isoformat()


# -- resuming after an absence ------------------------------------------------------------


def resume_due(now: datetime, *, clock: Clock, limit: int = 100) -> int:
    """Resume enrollments paused by an out-of-office reply whose return day has come;
    the number resumed. The next email is scheduled as a person's resume would (the
    lifecycle's one resume): its delay after the previous email, never before now,
    inside the sending window."""
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
    enrollment = lifecycle.lock_enrollment(enrollment_id)
    if enrollment.resume_at is None or enrollment.resume_at > now:
        return False
    if enrollment.status != EnrollmentStatus.PAUSED or not _paused_for_absence(enrollment):
        # Resumed, paused again or ended by a person meanwhile: the date no longer applies.
        lifecycle.forget_return_date(enrollment)
        return False
    result = lifecycle.resume(enrollment, now)
    EnrollmentEvent.objects.create(
        enrollment=enrollment,
        kind=EventKind.RESUMED,
        occurred_at=now,
        detail={
            "next_step": result.next_step,
            "due_at": result.due_at.isoformat() if result.due_at else None,
        },
    )
    return True


__all__ = ["Match", "act", "match", "resume_due"]
