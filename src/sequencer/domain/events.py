"""The one vocabulary of events: what arrived, what happened to an enrollment, and why
it ended.

Every name is a member of :class:`EventKind`, defined once here; the three roles a name
can play are subsets of it, written as ``Literal`` types over its members so that the
type checker still tells them apart:

- :data:`ArrivalKind`: what one inbound message is (``InboundMessage.kind``), as
  :func:`sequencer.mail.inbound.classify` decides;
- :data:`RecordedKind`: what an inbound message or a calendar did to one enrollment
  (``EnrollmentEvent.kind``, a row of its timeline);
- :data:`ExitReason`: why an enrollment ended (``Enrollment.exit_reason``).

A recipient's timeline also shows entries assembled from the enrollment and its emails
(:data:`AssembledKind`) and, for an exit no recorded event explains, :func:`exit_entry`.

The string values are what the database stores and the API returns: they never change.
:data:`ENDS_AS` ties the roles together, for every kind the exit reason of an
enrollment that kind of event ends, so the rule "a reply asking to stop ends the
enrollment as *replied*" is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, TypeGuard, get_args


class EventKind(StrEnum):
    # What arrived: the kinds of inbound message.
    REPLY = "reply"  # written by a person
    AUTO_REPLY = "auto_reply"  # an out-of-office or other automatic answer
    BOUNCE = "bounce"  # a delivery failure report
    COMPLAINT = "complaint"  # a feedback (abuse) report about a message sent (RFC 5965)
    MEETING = "meeting"  # carries an iCalendar invitation, reply or cancellation
    UNSUBSCRIBE_REQUEST = "unsubscribe_request"  # asks to stop (a reply or a mailto)
    OWN_MESSAGE = "own_message"  # From is the mailbox itself
    OTHER = "other"  # lists, notifications, receipts, the unreadable
    # What happened to an enrollment (MEETING, above, too: an invitation not booked).
    REPLIED = "replied"
    ASKED_TO_STOP = "asked_to_stop"
    UNSUBSCRIBED = "unsubscribed"
    OUT_OF_OFFICE = "out_of_office"
    PAUSED_OUT_OF_OFFICE = "paused_out_of_office"
    RESUMED = "resumed"
    BOUNCED = "bounced"
    BOUNCE_DELAYED = "bounce_delayed"
    MEETING_BOOKED = "meeting_booked"
    COMPLAINED = "complained"  # marked an email as spam: suppressed, and the enrollment ends
    FEEDBACK_REPORT = "feedback_report"  # no spam complaint (auth-failure, not-spam): recorded
    # Why an enrollment ended, besides the events above that end one.
    REMOVED = "removed"  # by a member
    # Timeline entries assembled from the enrollment and its emails.
    ENROLLED = "enrolled"
    EMAIL_SENT = "email_sent"
    EMAIL_FAILED = "email_failed"
    EMAIL_BOUNCED = "email_bounced"
    COMPLETED = "completed"


K = EventKind

ArrivalKind = Literal[
    K.REPLY,
    K.AUTO_REPLY,
    K.BOUNCE,
    K.MEETING,
    K.UNSUBSCRIBE_REQUEST,
    K.OWN_MESSAGE,
    K.OTHER,
    K.COMPLAINT,
]

# In the order of the stored field's choices (a new order would be a migration).
RecordedKind = Literal[
    K.REPLIED,
    K.ASKED_TO_STOP,
    K.UNSUBSCRIBED,
    K.OUT_OF_OFFICE,
    K.PAUSED_OUT_OF_OFFICE,
    K.RESUMED,
    K.BOUNCED,
    K.BOUNCE_DELAYED,
    K.MEETING,
    K.MEETING_BOOKED,
    K.COMPLAINED,
    K.FEEDBACK_REPORT,
]

ExitReason = Literal[
    K.REPLIED, K.MEETING_BOOKED, K.UNSUBSCRIBED, K.BOUNCED, K.REMOVED, K.COMPLAINED
]

AssembledKind = Literal[K.ENROLLED, K.EMAIL_SENT, K.EMAIL_FAILED, K.EMAIL_BOUNCED, K.COMPLETED]

#: Each role's kinds, in the order written above.
ARRIVAL_KINDS: tuple[ArrivalKind, ...] = get_args(ArrivalKind)
RECORDED_KINDS: tuple[RecordedKind, ...] = get_args(RecordedKind)
EXIT_REASONS: tuple[ExitReason, ...] = get_args(ExitReason)
ASSEMBLED_KINDS: tuple[AssembledKind, ...] = get_args(AssembledKind)

#: How the timeline names each recorded event.
RECORDED_LABELS: Mapping[RecordedKind, str] = MappingProxyType(
    {
        K.REPLIED: "Replied",
        K.ASKED_TO_STOP: "Asked to stop",
        K.UNSUBSCRIBED: "Unsubscribed by email",
        K.OUT_OF_OFFICE: "Out of office",
        K.PAUSED_OUT_OF_OFFICE: "Paused while out of office",
        K.RESUMED: "Resumed after out of office",
        K.BOUNCED: "Bounced",
        K.BOUNCE_DELAYED: "Delivery delayed",
        K.MEETING: "Meeting invitation",
        K.MEETING_BOOKED: "Meeting booked",
        K.COMPLAINED: "Marked as spam",
        K.FEEDBACK_REPORT: "Feedback report (no action)",
    }
)

#: For every kind, the exit reason of an enrollment that an event of this kind ends, or
#: ``None`` when it never ends one. An arrival ends nothing by itself: what it does to
#: an enrollment is recorded under a :data:`RecordedKind` (a reply asking to stop is
#: ``asked_to_stop``, and ends the enrollment as ``replied``).
ENDS_AS: Mapping[EventKind, ExitReason | None] = MappingProxyType(
    {
        K.REPLY: None,
        K.AUTO_REPLY: None,
        K.BOUNCE: None,
        K.COMPLAINT: None,
        K.MEETING: None,  # an invitation that was not (or may not count as) booked
        K.UNSUBSCRIBE_REQUEST: None,
        K.OWN_MESSAGE: None,
        K.OTHER: None,
        K.REPLIED: K.REPLIED,
        K.ASKED_TO_STOP: K.REPLIED,
        K.UNSUBSCRIBED: K.UNSUBSCRIBED,
        K.OUT_OF_OFFICE: None,
        K.PAUSED_OUT_OF_OFFICE: None,  # pauses; the enrollment goes on afterwards
        K.RESUMED: None,
        K.BOUNCED: K.BOUNCED,
        K.BOUNCE_DELAYED: None,
        K.MEETING_BOOKED: K.MEETING_BOOKED,
        K.COMPLAINED: K.COMPLAINED,
        K.FEEDBACK_REPORT: None,  # an authentication failure report, "not spam"…
        K.REMOVED: K.REMOVED,
        K.ENROLLED: None,
        K.EMAIL_SENT: None,
        K.EMAIL_FAILED: None,  # the enrollment fails and can be resumed: not an exit
        K.EMAIL_BOUNCED: K.BOUNCED,  # a recipient refused permanently while sending
        K.COMPLETED: None,  # finished, but not an exit
    }
)


def ends_as(kind: EventKind) -> ExitReason:
    """The exit reason an event of ``kind`` ends an enrollment with; a kind that never
    ends one is a programming error."""
    reason = ENDS_AS[kind]
    if reason is None:
        raise ValueError(f"An event of kind {kind} never ends an enrollment.")
    return reason


def is_exit_reason(value: str) -> TypeGuard[ExitReason]:
    """Whether ``value`` names a reason an enrollment may end with."""
    return value in EXIT_REASONS


def exit_entry(reason: ExitReason) -> str:
    """The timeline entry of an exit that no recorded event explains
    (``exited_removed``)."""
    return f"exited_{reason}"


__all__ = [
    "ARRIVAL_KINDS",
    "ASSEMBLED_KINDS",
    "ENDS_AS",
    "EXIT_REASONS",
    "RECORDED_KINDS",
    "RECORDED_LABELS",
    "ArrivalKind",
    "AssembledKind",
    "EventKind",
    "ExitReason",
    "RecordedKind",
    "ends_as",
    "exit_entry",
    "is_exit_reason",
]
