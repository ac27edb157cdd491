"""Inbound mail, normalised into events the engine acts on.

``classify(raw, mailbox_address=..., received_at=...)`` reads one raw message and says
what it is: a person's reply, an unsubscribe request, an auto-reply (with the stated
return date), a bounce (hard or soft, with the failed address and the bounced Message-ID), a
complaint (a spam report about a message sent), a calendar
invitation or answer, the mailbox's own sent copy, or something else. It is pure (no
Django, database, network or clock) and never raises, so a sync worker can call it on
anything a mailbox hands over.
"""

from sequencer.mail.inbound.classify import classify
from sequencer.mail.inbound.events import (
    ARRIVAL_KINDS,
    ArrivalKind,
    Attendee,
    BounceInfo,
    ComplaintInfo,
    InboundEvent,
    MeetingInfo,
    MeetingMethod,
)

__all__ = [
    "ARRIVAL_KINDS",
    "ArrivalKind",
    "Attendee",
    "BounceInfo",
    "ComplaintInfo",
    "InboundEvent",
    "MeetingInfo",
    "MeetingMethod",
    "classify",
]
