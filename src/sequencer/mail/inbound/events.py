"""The inbound event types, defined in :mod:`sequencer.domain.inbound` so that the
packages acting on them (sequences, calendars) need not import the mail package."""

from sequencer.domain.events import ARRIVAL_KINDS, ArrivalKind
from sequencer.domain.inbound import (
    Arrival,
    Attendee,
    BounceInfo,
    ComplaintInfo,
    InboundEvent,
    InboundHandler,
    MeetingInfo,
    MeetingMethod,
    same_address,
)

__all__ = [
    "ARRIVAL_KINDS",
    "Arrival",
    "ArrivalKind",
    "Attendee",
    "BounceInfo",
    "ComplaintInfo",
    "InboundEvent",
    "InboundHandler",
    "MeetingInfo",
    "MeetingMethod",
    "same_address",
]
