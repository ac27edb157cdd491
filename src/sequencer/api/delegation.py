"""Delegated sending: who may send from whose mailbox in a sequence.

A member turns delegated sending on for their own address with
``PUT /sequences/{id}/delegation/me``; a member who may edit the sequence can invite a
teammate, who then accepts or declines from ``/delegation/invitations``. Access to the
sequence is checked on every call: one the caller may not see answers 404, a visible
one with too low a level 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictBool, StrictInt

from sequencer.api.auth import caller
from sequencer.api.errors import NotFound
from sequencer.clock import system_clock
from sequencer.inputs import Input
from sequencer.sequences import delegation
from sequencer.sequences.models import DelegatedSender

router = Router(tags=["Delegated sending"])


@contextmanager
def _answers() -> Iterator[None]:
    """Turn a missing invitation into a 404 (access is mapped in :mod:`sequencer.api.errors`)."""
    try:
        yield
    except delegation.InvitationNotFound:
        raise NotFound("pending invitation for you") from None


class DelegationIn(Input):
    enabled: StrictBool
    mailbox_id: StrictInt | None = Field(
        None,
        description="One of your mailboxes; null sends from your default mailbox as it is "
        "at each enrollment.",
    )


class InviteIn(Input):
    member_id: StrictInt


class AcceptIn(Input):
    mailbox_id: StrictInt | None = Field(
        None,
        description="One of your mailboxes; null sends from your default mailbox as it is "
        "at each enrollment.",
    )


class DelegateOut(Schema):
    member_id: int
    name: str
    email: str
    mailbox_id: int | None = Field(
        description="The fixed mailbox chosen; null: the member's default at each enrollment."
    )
    mailbox_email: str | None = Field(
        description="The mailbox an enrollment made now would send from (null: the member "
        "has no default mailbox)."
    )
    status: str = Field(description="active, or invited while the invitation waits.")
    invited_by: int | None
    has_access: bool = Field(
        description="Whether the member can still see the sequence; without access, "
        "nobody can send on their behalf."
    )


class InvitationOut(Schema):
    id: int
    sequence_id: int
    sequence_name: str
    invited_by: int | None
    invited_by_name: str | None
    invited_at: datetime


def _delegate(found: delegation.Delegate) -> DelegateOut:
    return DelegateOut(
        member_id=found.member.pk,
        name=found.member.name,
        email=found.member.email,
        mailbox_id=found.row.mailbox_id,
        mailbox_email=found.mailbox.email if found.mailbox is not None else None,
        status=found.status,
        invited_by=found.row.invited_by_id,
        has_access=found.has_access,
    )


def _invitation(row: DelegatedSender) -> InvitationOut:
    inviter = row.invited_by
    return InvitationOut(
        id=row.pk,
        sequence_id=row.sequence_id,
        sequence_name=row.sequence.display_name,
        invited_by=row.invited_by_id,
        invited_by_name=str(inviter) if inviter is not None else None,
        invited_at=row.created_at,
    )


@router.get("/sequences/{sequence_id}/delegation", response=list[DelegateOut])
def list_delegates(request: HttpRequest, sequence_id: int) -> list[DelegateOut]:
    """The members others can send as in this sequence, and the pending invitations."""
    with _answers():
        found = delegation.delegates(caller(request), sequence_id)
    return [_delegate(d) for d in found]


@router.api_operation(
    ["PUT", "POST"],
    "/sequences/{sequence_id}/delegation/me",
    response={200: DelegateOut, 204: None},
)
def set_my_delegation(
    request: HttpRequest, sequence_id: int, payload: DelegationIn
) -> DelegateOut | Status[None]:
    """Turn delegated sending for your own address on (also accepting a pending
    invitation) or off; off answers 204."""
    with _answers():
        found = delegation.set_own_delegation(
            caller(request),
            sequence_id,
            enabled=payload.enabled,
            mailbox_id=payload.mailbox_id,
            clock=system_clock,
        )
    if found is None:
        return Status(204, None)
    return _delegate(found)


@router.post("/sequences/{sequence_id}/delegation/invitations", response={201: DelegateOut})
def invite_delegate(
    request: HttpRequest, sequence_id: int, payload: InviteIn
) -> Status[DelegateOut]:
    """Invite a teammate who has access to the sequence (needs read and write access)."""
    with _answers():
        found = delegation.invite(
            caller(request), sequence_id, payload.member_id, clock=system_clock
        )
    return Status(201, _delegate(found))


@router.get("/delegation/invitations", response=list[InvitationOut])
def list_my_invitations(request: HttpRequest) -> list[InvitationOut]:
    """Invitations waiting for your answer."""
    return [_invitation(r) for r in delegation.pending_invitations(caller(request))]


@router.post("/delegation/invitations/{invitation_id}/accept", response=DelegateOut)
def accept_invitation(
    request: HttpRequest, invitation_id: int, payload: AcceptIn | None = None
) -> DelegateOut:
    """Accept an invitation addressed to you, optionally fixing the mailbox to send from."""
    with _answers():
        found = delegation.accept_invitation(
            caller(request),
            invitation_id,
            mailbox_id=payload.mailbox_id if payload is not None else None,
            clock=system_clock,
        )
    return _delegate(found)


@router.post("/delegation/invitations/{invitation_id}/decline", response={204: None})
def decline_invitation(request: HttpRequest, invitation_id: int) -> Status[None]:
    with _answers():
        delegation.decline_invitation(caller(request), invitation_id)
    return Status(204, None)
