"""The states of an enrollment and of each email, and the moves between them.

One table per machine, checked by :func:`check_enrollment_move` and
:func:`check_email_move`, so no service can invent a transition, such as sending
again after a reply or reviving a removed recipient. Why an enrollment ended is an
:data:`~sequencer.domain.events.ExitReason`, part of the one event vocabulary.
"""

from __future__ import annotations

from enum import StrEnum


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXITED = "exited"
    FAILED = "failed"


class EmailState(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"  # a worker holds a lease on it and is about to re-check and send
    SENDING = "sending"  # committed before the network call: the outcome may be unknown
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"
    UNKNOWN = "unknown"  # a lease expired while sending: the Sent folder decides


E = EnrollmentStatus
S = EmailState

ENROLLMENT_MOVES: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    E.ACTIVE: frozenset({E.PAUSED, E.COMPLETED, E.EXITED, E.FAILED}),
    E.PAUSED: frozenset({E.ACTIVE, E.EXITED}),
    # A failed enrollment (an email that could not be rendered or whose outcome stayed
    # unknown) is resumed once the record is fixed, or removed.
    E.FAILED: frozenset({E.ACTIVE, E.EXITED}),
    E.COMPLETED: frozenset(),
    E.EXITED: frozenset(),
}

EMAIL_MOVES: dict[EmailState, frozenset[EmailState]] = {
    S.SCHEDULED: frozenset({S.CLAIMED, S.CANCELLED, S.SCHEDULED}),
    S.CLAIMED: frozenset({S.SENDING, S.SCHEDULED, S.CANCELLED, S.FAILED}),
    S.SENDING: frozenset({S.SENT, S.SCHEDULED, S.FAILED, S.BOUNCED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.SENT, S.SCHEDULED, S.FAILED}),
    S.SENT: frozenset({S.BOUNCED}),  # a bounce report can arrive after acceptance
    S.FAILED: frozenset({S.SCHEDULED, S.CANCELLED}),  # resumed after the record is fixed
    S.CANCELLED: frozenset(),
    S.BOUNCED: frozenset(),
}

# States in which an email may still go out; anything else is settled.
EMAIL_PENDING = frozenset({S.SCHEDULED, S.CLAIMED})


class IllegalMove(ValueError):
    pass


def check_enrollment_move(current: EnrollmentStatus, target: EnrollmentStatus) -> None:
    if target not in ENROLLMENT_MOVES[current]:
        raise IllegalMove(f"An enrollment cannot go from {current} to {target}.")


def check_email_move(current: EmailState, target: EmailState) -> None:
    if target not in EMAIL_MOVES[current]:
        raise IllegalMove(f"An email cannot go from {current} to {target}.")


def is_final(status: EnrollmentStatus) -> bool:
    return not ENROLLMENT_MOVES[status]
