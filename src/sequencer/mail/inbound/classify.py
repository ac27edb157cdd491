"""Classifying one inbound message into an :class:`InboundEvent`.

The checks run in this order, and the first that holds decides the kind:

1. **own_message**: From is the mailbox itself (its sent copy shows up in threads) and
   the message carries no delivery or feedback report; an invitation it carries is
   still read into ``meeting``.
2. **complaint**: a feedback report (ARF, RFC 5965; Microsoft's JMRP; an Amazon SES
   complaint notification), see :mod:`.complaints`.
3. **bounce**: a standard DSN reporting a failure, an Amazon SES bounce notification,
   or a bounce in one of the many other formats, weighed on its structure, sender,
   subject and text (see :mod:`.bounces`). A report of successful delivery only (a
   delivery receipt) is ``other``. A bounce is never a reply: delivery-failure
   structure outweighs a human-looking body.
4. **meeting**: an iCalendar REQUEST, REPLY or CANCEL (see :mod:`.meetings`).
5. **unsubscribe_request** (mailto): the subject is, or starts with, "unsubscribe" (or
   its German, French, Spanish forms) and the body says next to nothing.
6. **auto_reply**: strong auto-reply evidence, or weak evidence without list markers
   (see :mod:`.autoreply`); the return date is read from the subject and new text.
7. **other**: list markers (newsletters, notifications, mailing lists), or no sender.
8. **unsubscribe_request** (reply): the new text asks to stop (see :mod:`.stop`).
9. **reply**: anything else, which a person wrote.

:func:`classify` never raises: a message that cannot be read becomes ``other`` with
whatever could be read of it. It is pure: no I/O and no clock; the moment the message
arrived is passed in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from sequencer.domain.events import ArrivalKind, EventKind
from sequencer.mail.inbound import (
    autoreply,
    bounces,
    complaints,
    dates,
    meetings,
    mime,
    notifications,
    quoting,
    stop,
)
from sequencer.mail.inbound.events import BounceInfo, ComplaintInfo, InboundEvent, same_address

#: Longest new text (in characters) a mailto unsubscribe may carry besides the subject.
MAX_UNSUBSCRIBE_BODY = 300

_UNSUBSCRIBE_SUBJECT = re.compile(
    r"^\s*(?:unsubscribe|unsub\b|remove\s+me|opt[\s-]?out|abmelden|austragen|"
    r"d[ée]sabonnement|d[ée]sinscription|d[ée]sabonner|baja\b|dar\s+de\s+baja)",
    re.IGNORECASE,
)


def _empty_event(kind: ArrivalKind = EventKind.OTHER) -> InboundEvent:
    return InboundEvent(kind=kind, reasons=("unreadable",))


def _day_first(msg: mime.Parsed, day_first: bool | None) -> bool:
    if day_first is not None:
        return day_first
    language = msg.header("Content-Language").lower()
    return not language.startswith("en-us")


def classify(
    raw: bytes,
    *,
    mailbox_address: str,
    received_at: datetime,
    day_first: bool | None = None,
) -> InboundEvent:
    """Classify the raw RFC 5322 message ``raw`` that arrived in ``mailbox_address``
    at ``received_at``.

    Dates without a year and "in the past" are judged against ``received_at``'s own
    calendar day, so pass it in the mailbox's time zone for day-exact answers.
    ``day_first`` is the mailbox's convention for numeric dates such as ``12/01/2026``
    in auto-replies (``True``: 12 January, ``False``: December 1); ``None`` reads them
    month first only when the message declares US English, day first otherwise.
    Never raises; see the module for the rules.
    """
    try:
        msg = mime.parse(bytes(raw))
    except Exception:
        return _empty_event()
    try:
        return _classify(msg, mailbox_address, received_at, day_first)
    except Exception:
        return _fallback(msg)


def _fallback(msg: mime.Parsed) -> InboundEvent:
    """``other``, with whatever headers can still be read."""
    try:
        _, from_address = msg.sender()
        ids = mime.message_ids(msg.header("Message-ID"))
        return InboundEvent(
            kind=EventKind.OTHER,
            from_address=from_address,
            subject=msg.header("Subject"),
            message_id=ids[0] if ids else None,
            reasons=("unreadable",),
        )
    except Exception:
        return _empty_event()


def _classify(
    msg: mime.Parsed, mailbox_address: str, received_at: datetime, day_first: bool | None
) -> InboundEvent:
    _, from_address = msg.sender()
    subject = msg.header("Subject")
    own_ids = mime.message_ids(msg.header("Message-ID"))
    reply_ids = mime.message_ids(msg.header("In-Reply-To"))
    references = tuple(mime.message_ids(msg.header("References"))[-mime.MAX_REFERENCES :])
    base = InboundEvent(
        kind=EventKind.OTHER,
        from_address=from_address,
        subject=subject,
        message_id=own_ids[0] if own_ids else None,
        in_reply_to=reply_ids[0] if reply_ids else None,
        references=references,
    )

    def event(kind: ArrivalKind, *reasons: str, **fields: Any) -> InboundEvent:
        return replace(base, kind=kind, reasons=reasons, **fields)

    # Reports from mail systems come first: a bounce or a complaint is never a reply,
    # whatever its text says, and only a report's structure can tell (a sent copy of
    # the mailbox's own never carries one).
    own = same_address(from_address, mailbox_address)
    has_report = bool(
        msg.parts_of_type(
            "message/delivery-status", "message/global-delivery-status", "message/feedback-report"
        )
    )
    if own and not has_report:
        return event(EventKind.OWN_MESSAGE, "from:mailbox", meeting=meetings.find_meeting(msg))

    complaint = complaints.find_complaint(msg)
    if complaint is not None:
        return event(EventKind.COMPLAINT, "feedback-report", complaint=complaint)
    notice = notifications.read(msg.body())
    if isinstance(notice, ComplaintInfo):
        return event(EventKind.COMPLAINT, "ses:complaint", complaint=notice)
    if isinstance(notice, BounceInfo):
        return event(EventKind.BOUNCE, "ses:bounce", bounce=notice)
    if notice == "delivery":
        return event(EventKind.OTHER, "ses:delivery")
    finding = bounces.find(msg, subject, mailbox_address)
    if finding is not None:
        if finding.info is None:
            return event(EventKind.OTHER, *finding.reasons)
        return event(EventKind.BOUNCE, *finding.reasons, bounce=finding.info)
    if own:
        return event(EventKind.OWN_MESSAGE, "from:mailbox", meeting=meetings.find_meeting(msg))

    meeting = meetings.find_meeting(msg)
    if meeting is not None and meeting.method != "OTHER":
        body = quoting.new_text(msg.body())
        return event(
            EventKind.MEETING,
            f"calendar:{meeting.method.lower()}",
            meeting=meeting,
            reply_text=body,
        )

    if from_address is None:
        return event(EventKind.OTHER, "no-sender", meeting=meeting)

    evidence = autoreply.evidence(msg, subject)

    if _UNSUBSCRIBE_SUBJECT.match(subject) and not evidence.is_list_mail:
        text = quoting.new_text(msg.body())
        if len(text) <= MAX_UNSUBSCRIBE_BODY or stop.asks_to_stop(text):
            return event(
                EventKind.UNSUBSCRIBE_REQUEST,
                "subject:unsubscribe",
                reply_text=text,
                wants_to_stop=True,
                meeting=meeting,
            )

    if evidence.is_auto_reply:
        text = quoting.new_text(msg.body())
        returning = dates.return_date(
            f"{subject}\n{text}", received_at.date(), day_first=_day_first(msg, day_first)
        )
        return event(
            EventKind.AUTO_REPLY,
            *evidence.strong,
            *evidence.weak,
            reply_text=text,
            return_date=returning,
            meeting=meeting,
        )

    if evidence.listed:
        return event(EventKind.OTHER, *evidence.listed, meeting=meeting)

    text = quoting.new_text(msg.body())
    if stop.asks_to_stop(text):
        return event(
            EventKind.UNSUBSCRIBE_REQUEST,
            "text:stop",
            reply_text=text,
            wants_to_stop=True,
            meeting=meeting,
        )
    return event(EventKind.REPLY, "person", reply_text=text, meeting=meeting)
