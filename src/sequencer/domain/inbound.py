"""What an inbound message turned out to be: the event the engine acts on.

An :class:`InboundEvent` is the normalised form of one message that arrived in a
connected mailbox. The engine matches it to what it sent (``matching_ids()`` against the
Message-IDs it stored) and then acts on ``kind``: a reply or a booked meeting exits the
enrollment, an unsubscribe request or a spam complaint exits and suppresses, a
permanent bounce exits, an auto-reply pauses until ``return_date``, and the mailbox's
own copies and everything else are ignored.

Every value here is immutable, so an event can be kept, compared and handed between
threads freely. Sequences are tuples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from sequencer.domain.events import ARRIVAL_KINDS, ArrivalKind

MeetingMethod = Literal["REQUEST", "REPLY", "CANCEL", "OTHER"]


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two email addresses name the same mailbox (case-insensitive, trimmed)."""
    if not a or not b:
        return False
    return a.strip().lower() == b.strip().lower()


@dataclass(frozen=True)
class BounceInfo:
    """A delivery failure report about a message the mailbox sent.

    ``permanent`` is true for a hard failure (status 5.x.x or ``Action: failed``) and
    false for a delay or other transient failure (4.x.x, ``Action: delayed``).
    ``status`` is the RFC 3463 enhanced status code (``"5.1.1"``) when one was stated
    or could be inferred, else ``None``. ``recipients`` are the addresses that failed.
    ``original_message_id`` is the Message-ID of the bounced message when the report
    carries its headers; ``diagnostic`` is the remote server's explanation, if any.
    """

    permanent: bool
    status: str | None
    recipients: tuple[str, ...] = ()
    original_message_id: str | None = None
    diagnostic: str | None = None


@dataclass(frozen=True)
class ComplaintInfo:
    """A feedback report (RFC 5965 ARF, or a provider's own form of one) about a message
    the mailbox sent: someone marked it as spam, or a receiver reports it.

    ``feedback_type`` is the report's ``Feedback-Type`` in lower case: ``abuse`` (a spam
    complaint), ``fraud``, ``virus``, ``not-spam``, ``auth-failure`` (RFC 6591: a failed
    SPF/DKIM/DMARC check, not a person's complaint) or ``other``. ``recipients`` are the
    addresses the reported message was sent to (the people who complained), when the
    report names them or carries the message's headers. ``original_message_id`` is the
    reported message's Message-ID when the report carries it; ``reporter`` the
    reporting software's ``User-Agent``, if stated.
    """

    feedback_type: str
    recipients: tuple[str, ...] = ()
    original_message_id: str | None = None
    reporter: str | None = None

    @property
    def is_spam_complaint(self) -> bool:
        """Whether a person reported the message as spam (or fraud, or a virus)."""
        return self.feedback_type in ("abuse", "fraud", "virus")


@dataclass(frozen=True)
class Attendee:
    """One ATTENDEE of a calendar event and their participation status (upper case,
    ``NEEDS-ACTION`` when the invite does not say)."""

    address: str
    partstat: str = "NEEDS-ACTION"
    name: str | None = None


@dataclass(frozen=True)
class MeetingInfo:
    """An iCalendar (iTIP) message found in the email.

    ``method`` is the iTIP method: ``REQUEST`` (an invitation or an update), ``REPLY``
    (an attendee answering) or ``CANCEL``; anything else is ``OTHER``. ``status`` is the
    event's STATUS (``CONFIRMED``, ``TENTATIVE``, ``CANCELLED``) or ``None``.
    """

    method: MeetingMethod
    uid: str | None
    organizer: str | None
    attendees: tuple[Attendee, ...] = ()
    start: datetime | date | None = None
    status: str | None = None
    sequence: int = 0
    summary: str | None = None

    def parties(self) -> tuple[str, ...]:
        """The organiser and every attendee, lower-cased, without duplicates."""
        seen: dict[str, None] = {}
        for address in (self.organizer, *(a.address for a in self.attendees)):
            if address:
                seen.setdefault(address.strip().lower(), None)
        return tuple(seen)

    def partstat_of(self, address: str) -> str | None:
        """The participation status of ``address`` as an attendee, or ``None``."""
        for attendee in self.attendees:
            if same_address(attendee.address, address):
                return attendee.partstat
        return None

    def counts_as_booked(self, sender: str, recipient: str) -> bool:
        """Whether this calendar message means a meeting between ``sender`` (the mailbox
        that sent the sequence) and ``recipient`` (the prospect) was booked.

        - A ``REQUEST`` counts when both are parties to the event (each either the
          organiser or an attendee) and the event is not cancelled. That covers the
          prospect inviting the sender and a booking tool making the sender organiser.
        - A ``REPLY`` counts when the recipient answers as an attendee with
          ``PARTSTAT=ACCEPTED`` to an event the sender is a party to.
        - A ``CANCEL``, a cancelled event, or either party having declined never counts.
        """
        if not sender or not recipient or same_address(sender, recipient):
            return False
        if self.method not in ("REQUEST", "REPLY") or self.status == "CANCELLED":
            return False
        if "DECLINED" in (self.partstat_of(sender), self.partstat_of(recipient)):
            return False
        parties = self.parties()
        if sender.strip().lower() not in parties or recipient.strip().lower() not in parties:
            return False
        if self.method == "REPLY":
            return self.partstat_of(recipient) == "ACCEPTED"
        return True


@dataclass(frozen=True)
class InboundEvent:
    """One inbound message, classified.

    ``kind`` says what the message is (an :data:`~sequencer.domain.events.ArrivalKind`):

    - ``reply``: written by a person (not automated, not a list, not the mailbox
      itself). Whether it answers one of the sequence's emails is for the caller to
      decide with :meth:`matching_ids` (or the sender and subject when a client dropped
      the threading headers).
    - ``unsubscribe_request``: a reply whose new text asks to stop, or a mailto
      unsubscribe (subject "unsubscribe" and next to no body). ``wants_to_stop`` is true.
    - ``auto_reply``: an out-of-office or other automatic answer; ``return_date`` is the
      day the person says they are back, when the message states one.
    - ``bounce``: a delivery failure report; see ``bounce``. Never a reply, whatever
      its text says.
    - ``complaint``: a feedback report (RFC 5965) about a message the mailbox sent,
      usually a spam complaint; see ``complaint``. Never a reply.
    - ``meeting``: carries an iCalendar invitation, reply or cancellation; see
      ``meeting`` and :meth:`MeetingInfo.counts_as_booked`.
    - ``own_message``: From is the mailbox itself (its own sent copy); never a reply.
      ``meeting`` is still filled in when the message carries an invitation.
    - ``other``: newsletters, notifications, mailing-list traffic, delivery receipts,
      and anything that could not be read.

    ``reply_text`` is the message's new text without the quoted history and client
    footers, for a timeline; it is filled for replies, unsubscribe requests,
    auto-replies and meetings and empty otherwise. ``reasons`` names the evidence the
    classification rests on (``"header:auto-submitted"``, ``"subject:auto-reply"``…).
    Message-IDs keep their angle brackets, as ``email.utils.make_msgid`` writes them.
    """

    kind: ArrivalKind
    from_address: str | None = None
    subject: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    return_date: date | None = None
    bounce: BounceInfo | None = None
    complaint: ComplaintInfo | None = None
    meeting: MeetingInfo | None = None
    reply_text: str = ""
    wants_to_stop: bool = False
    reasons: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in ARRIVAL_KINDS:
            raise ValueError(f"{self.kind!r} is not a kind of inbound message.")

    def matching_ids(self) -> tuple[str, ...]:
        """The Message-IDs this message refers to, to look up among the ones sent:
        In-Reply-To, then References (most recent first), then, for a bounce, the
        bounced message's own Message-ID. Without duplicates."""
        ids: dict[str, None] = {}
        if self.in_reply_to:
            ids[self.in_reply_to] = None
        for ref in reversed(self.references):
            ids.setdefault(ref, None)
        if self.bounce is not None and self.bounce.original_message_id:
            ids.setdefault(self.bounce.original_message_id, None)
        if self.complaint is not None and self.complaint.original_message_id:
            ids.setdefault(self.complaint.original_message_id, None)
        return tuple(ids)


@dataclass(frozen=True)
class Arrival:
    """One stored inbound message, handed to whoever acts on it (the enrollments).

    ``inbound_id`` is the stored message's row; ``thread_id`` the provider's thread
    (Gmail threadId, Graph conversationId), empty for IMAP.
    """

    inbound_id: int
    mailbox_id: int
    mailbox_email: str
    mailbox_owner_id: int  # the member who sends from it: stop requests block all of theirs
    thread_id: str
    event: InboundEvent
    now: datetime


#: Acts on one arrival inside the transaction that marks it processed; returns the
#: enrollment it concerned, if any.
InboundHandler = Callable[[Arrival], int | None]
