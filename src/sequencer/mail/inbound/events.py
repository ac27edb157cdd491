"""The inbound event types, defined in :mod:`sequencer.domain.inbound` so that the
packages acting on them (sequences, calendars) need not import the mail package."""

from sequencer.domain.inbound import (
    KINDS,
    Arrival,
    Attendee,
    BounceInfo,
    InboundEvent,
    InboundHandler,
    Kind,
    MeetingInfo,
    MeetingMethod,
    same_address,
)

__all__ = [
    "KINDS",
    "Arrival",
    "Attendee",
    "BounceInfo",
    "InboundEvent",
    "InboundHandler",
    "Kind",
    "MeetingInfo",
    "MeetingMethod",
    "same_address",
]
