"""Delegated sending: who may send a sequence's emails from whose mailbox.

A member *enables* delegated sending for themselves, one sequence at a time; from then
on anyone who may enroll into that sequence (``read_write``) can choose that member as
the sender. The member picks either a fixed mailbox of their own or "my default
mailbox", which is looked up again at every enrollment, so changing one's default
changes where later enrollments send from.

A member with ``read_write`` may also *invite* a teammate; nothing can be sent on the
teammate's behalf until the teammate accepts. Only members who can see the sequence
can be invited, and a delegate who later loses access (or is deactivated) stays listed
but cannot be chosen as a sender until access comes back.

Every change locks the sequence row, so concurrent changes to one sequence's delegates
happen one after another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from django.db import transaction

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.sequences import access
from sequencer.sequences.access import Level
from sequencer.sequences.models import DelegatedSender, Sequence
from sequencer.sequences.senders import MailboxStatus, SendingMailbox, mailboxes
from sequencer.workspace.models import Notification, User

__all__ = [
    "ACTIVE",
    "INVITED",
    "Delegate",
    "InvitationNotFound",
    "accept_invitation",
    "decline_invitation",
    "delegates",
    "invite",
    "pending_invitations",
    "sending_mailbox",
    "set_own_delegation",
]

ACTIVE = "active"
INVITED = "invited"


class InvitationNotFound(Exception):
    """No pending invitation with that id is addressed to the caller (answered as 404)."""


@dataclass(frozen=True)
class Delegate:
    """One row of a sequence's delegate list, with the mailbox that would send now."""

    row: DelegatedSender
    member: User
    # The mailbox an enrollment made now would use: the fixed one, else the member's
    # current default (``None`` when the member has no default mailbox).
    mailbox: SendingMailbox | None
    # Whether the member can still see the sequence (a delegate needs access to be used).
    has_access: bool

    @property
    def status(self) -> str:
        return ACTIVE if self.row.accepted_at is not None else INVITED


# --- Changing ---------------------------------------------------------------------------


@transaction.atomic
def set_own_delegation(
    user: User,
    sequence_id: int | str,
    *,
    enabled: bool,
    mailbox_id: int | None = None,
    clock: Clock,
) -> Delegate | None:
    """Turn delegated sending for ``user``'s own address on or off in one sequence.

    Enabling needs access to the sequence (``read_only`` is enough) and accepts a
    pending invitation if there is one. ``mailbox_id`` ``None`` means "my default
    mailbox at each enrollment"; otherwise it must be one of ``user``'s mailboxes.
    Disabling removes the delegation (or declines a pending invitation); it answers
    ``None``.
    """
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY, for_update=True)
    if not enabled:
        DelegatedSender.objects.filter(sequence=sequence, member=user).delete()
        return None
    return _enable(user, sequence, mailbox_id, clock)


@transaction.atomic
def invite(user: User, sequence_id: int | str, member_id: object, *, clock: Clock) -> Delegate:
    """Invite a teammate to let others send this sequence from their mailbox.

    Needs ``read_write`` on the sequence. The invitation waits until the teammate
    accepts; until then nobody can send on their behalf.
    """
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    member = _member(member_id)
    if member is None:
        raise InvalidInput(
            f"There is no active member with id {member_id!r}.",
            field="member_id",
            code="not_found",
        )
    if member.pk == user.pk:
        raise InvalidInput(
            "You cannot invite yourself; turn on delegated sending for your own address instead.",
            field="member_id",
            code="is_you",
        )
    if access.level_for(member, sequence) < Level.READ_ONLY:
        raise InvalidInput(
            f"{member} has no access to this sequence, and only members with access can "
            "send it; give them access first (at least read only), then invite them.",
            field="member_id",
            code="no_access",
        )
    existing = DelegatedSender.objects.filter(sequence=sequence, member=member).first()
    if existing is not None:
        already = (
            "has already turned on delegated sending for"
            if existing.accepted_at is not None
            else "has already been invited to delegated sending in"
        )
        raise InvalidInput(
            f"{member} {already} this sequence.", field="member_id", code="duplicate"
        )
    row = DelegatedSender.objects.create(
        sequence=sequence, member=member, invited_by=user, created_at=clock.now()
    )
    Notification.objects.create(
        user=member,
        kind="delegation_invited",
        message=(
            f"{user} invited you to delegated sending for the sequence “{sequence.display_name}”: "
            "others could then send its emails from your mailbox. Accept or decline it "
            "under your delegation invitations."
        ),
    )
    return _delegate(row)


def pending_invitations(user: User) -> list[DelegatedSender]:
    """The invitations waiting for ``user``'s answer, in sequences ``user`` can see."""
    return list(
        DelegatedSender.objects.filter(
            member=user,
            accepted_at__isnull=True,
            sequence__in=access.visible_sequences(user),
        )
        .select_related("sequence", "invited_by")
        .order_by("-created_at", "-pk")
    )


@transaction.atomic
def accept_invitation(
    user: User,
    invitation_id: int,
    *,
    mailbox_id: int | None = None,
    clock: Clock,
) -> Delegate:
    """Accept a pending invitation addressed to ``user`` (nobody else can accept it).

    ``mailbox_id`` as for :func:`set_own_delegation`. The invitee must still be able to
    see the sequence: for a member who lost access, the invitation is not found.
    """
    sequence_id = _pending_sequence_id(user, invitation_id)
    try:
        sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY, for_update=True)
    except access.NoAccess:
        raise InvitationNotFound(invitation_id) from None
    # Checked again under the lock: it may have been declined in the meantime.
    _pending_sequence_id(user, invitation_id)
    return _enable(user, sequence, mailbox_id, clock)


@transaction.atomic
def decline_invitation(user: User, invitation_id: int) -> None:
    """Decline (delete) a pending invitation addressed to ``user``."""
    deleted, _ = DelegatedSender.objects.filter(
        pk=invitation_id, member=user, accepted_at__isnull=True
    ).delete()
    if not deleted:
        raise InvitationNotFound(invitation_id)


# --- Reading ----------------------------------------------------------------------------


def delegates(user: User, sequence_id: int | str) -> list[Delegate]:
    """The sequence's delegates, active ones first; needs read access."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    rows = list(
        DelegatedSender.objects.filter(sequence=sequence).select_related("member", "mailbox")
    )
    defaults = _default_mailboxes([r.member_id for r in rows])
    levels = access.member_levels(sequence, [r.member for r in rows])
    found = [
        Delegate(
            row=r,
            member=r.member,
            mailbox=r.mailbox or defaults.get(r.member_id),
            has_access=r.member.is_active and levels[r.member_id] >= Level.READ_ONLY,
        )
        for r in rows
    ]
    found.sort(
        key=lambda d: (d.status != ACTIVE, (d.member.name or d.member.email).lower(), d.row.pk)
    )
    return found


# --- The rule enrollment uses -----------------------------------------------------------


def sending_mailbox(
    user: User,
    sequence: Sequence,
    *,
    mailbox_id: int | None = None,
    member_id: int | None = None,
) -> SendingMailbox:
    """The mailbox an enrollment into ``sequence`` made by ``user`` sends from.

    Give exactly one of:

    * ``mailbox_id``: one of ``user``'s own mailboxes;
    * ``member_id``: ``user`` themselves (their current default mailbox), or a teammate
      who accepted delegated sending for this sequence and can still see it, when
      ``user`` has at least ``read_write`` on it. The teammate's fixed mailbox is used,
      else their default mailbox *as it is now*.

    A disconnected mailbox is refused (``mailbox_disconnected``); a paused one is not:
    its emails wait until it resumes. Errors name ``sender.mailbox_id`` or
    ``sender.member_id``.
    """
    if (mailbox_id is None) == (member_id is None):
        raise InvalidInput(
            "Choose one sender: mailbox_id (one of your mailboxes) or member_id (yourself, "
            "or a teammate who turned on delegated sending for this sequence).",
            field="sender",
            code="invalid_sender",
        )
    if mailbox_id is not None:
        return _own_mailbox(user, mailbox_id)
    if _is_id(member_id) and member_id == user.pk:
        return _own_default_mailbox(user)
    return _delegated_mailbox(user, sequence, member_id)


_MEMBER_FIELD = "sender.member_id"


def _own_mailbox(user: User, mailbox_id: object) -> SendingMailbox:
    """``user``'s own mailbox ``mailbox_id``, connected."""
    mailbox = mailboxes().filter(pk=mailbox_id, owner=user).first() if _is_id(mailbox_id) else None
    if mailbox is None:
        raise InvalidInput(
            f"Mailbox {mailbox_id!r} is not one of your mailboxes; send from one of "
            "yours, or on behalf of a teammate who turned on delegated sending "
            "(member_id).",
            field="sender.mailbox_id",
            code="sender_not_allowed",
        )
    return _connected(mailbox, "sender.mailbox_id", whose="Your")


def _own_default_mailbox(user: User) -> SendingMailbox:
    """``user``'s default mailbox as it is now, connected."""
    mailbox = _default_mailboxes([user.pk]).get(user.pk)
    if mailbox is None:
        raise InvalidInput(
            "You have no default mailbox to send from; connect a mailbox (or mark one "
            "as your default) on the Mailboxes page, or choose one with mailbox_id.",
            field=_MEMBER_FIELD,
            code="no_mailbox",
        )
    return _connected(mailbox, _MEMBER_FIELD, whose="Your default")


def _delegated_mailbox(user: User, sequence: Sequence, member_id: object) -> SendingMailbox:
    """The mailbox teammate ``member_id`` lets ``user`` send ``sequence`` from: their
    fixed one, else their default as it is now, connected."""
    member = User.objects.filter(pk=member_id).first() if _is_id(member_id) else None
    if member is None:
        raise _not_allowed(f"There is no member with id {member_id!r}.")
    if access.level_for(user, sequence) < Level.READ_WRITE:
        raise _not_allowed(
            "Sending on a teammate's behalf needs read and write access to this sequence; "
            "ask someone with full access to this sequence for it."
        )
    row = _usable_delegation(sequence, member)
    mailbox = row.mailbox or _default_mailboxes([member.pk]).get(member.pk)
    if mailbox is None:
        raise InvalidInput(
            f"{member} has no default mailbox to send from; ask them to connect a mailbox "
            "(or mark one as their default), or choose another sender.",
            field=_MEMBER_FIELD,
            code="no_mailbox",
        )
    return _connected(mailbox, _MEMBER_FIELD, whose=f"{member}'s")


def _usable_delegation(sequence: Sequence, member: User) -> DelegatedSender:
    """``member``'s accepted delegation for ``sequence``, while they may still be sent
    for (active, with access); otherwise the reason nobody may send on their behalf."""
    row = (
        DelegatedSender.objects.filter(sequence=sequence, member=member)
        .select_related("mailbox")
        .first()
    )
    if row is None:
        raise _not_allowed(
            f"{member} has not turned on delegated sending for this sequence; invite them "
            "from the sequence's delegated sending settings, or send from your own mailbox."
        )
    if row.accepted_at is None:
        raise _not_allowed(
            f"{member} has been invited to delegated sending for this sequence but has not "
            "accepted yet; nothing can be sent on their behalf until they do."
        )
    if not member.is_active:
        raise _not_allowed(
            f"{member}'s account is deactivated, so nothing can be sent on their behalf."
        )
    if access.level_for(member, sequence) < Level.READ_ONLY:
        raise _not_allowed(
            f"{member} no longer has access to this sequence, and only members with access "
            "can be sent on behalf of; give them access again, or choose another sender."
        )
    return row


# --- Helpers ----------------------------------------------------------------------------


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _member(member_id: object) -> User | None:
    if not _is_id(member_id):
        return None
    return User.objects.filter(pk=member_id, is_active=True).first()


def _own_mailbox_choice(user: User, mailbox_id: object) -> SendingMailbox | None:
    """The fixed mailbox chosen (``None``: the default at each enrollment), checked."""
    if mailbox_id is None:
        if not mailboxes().filter(owner=user).exists():
            raise InvalidInput(
                "You have no mailbox yet, so nothing could be sent from your address; "
                "connect a mailbox on the Mailboxes page first.",
                field="mailbox_id",
                code="no_mailbox",
            )
        return None
    mailbox = mailboxes().filter(pk=mailbox_id, owner=user).first() if _is_id(mailbox_id) else None
    if mailbox is None:
        raise InvalidInput(
            f"Mailbox {mailbox_id!r} is not one of your mailboxes; choose one of yours, or "
            "null to send from your default mailbox at each enrollment.",
            field="mailbox_id",
            code="not_your_mailbox",
        )
    return mailbox


def _enable(user: User, sequence: Sequence, mailbox_id: object, clock: Clock) -> Delegate:
    """Create or update ``user``'s delegation (the sequence row is locked by the caller)."""
    mailbox = _own_mailbox_choice(user, mailbox_id)
    row = DelegatedSender.objects.filter(sequence=sequence, member=user).first()
    if row is None:
        row = DelegatedSender(sequence=sequence, member=user, created_at=clock.now())
    # Set by id: the row's foreign key points into the mail package's table.
    row.mailbox_id = mailbox.pk if mailbox is not None else None
    if row.accepted_at is None:
        row.accepted_at = clock.now()
    row.save()
    return _delegate(row)


def _pending_sequence_id(user: User, invitation_id: int) -> int:
    found = (
        DelegatedSender.objects.filter(pk=invitation_id, member=user, accepted_at__isnull=True)
        .values_list("sequence_id", flat=True)
        .first()
    )
    if found is None:
        raise InvitationNotFound(invitation_id)
    return found


def _default_mailboxes(owner_ids: list[int]) -> dict[int, SendingMailbox]:
    return {m.owner_id: m for m in mailboxes().filter(owner_id__in=owner_ids, is_default=True)}


def _can_be_sent_for(member: User, sequence: Sequence) -> bool:
    return member.is_active and access.level_for(member, sequence) >= Level.READ_ONLY


def _delegate(row: DelegatedSender) -> Delegate:
    member = row.member
    return Delegate(
        row=row,
        member=member,
        mailbox=row.mailbox or _default_mailboxes([member.pk]).get(member.pk),
        has_access=_can_be_sent_for(member, row.sequence),
    )


def _connected(mailbox: SendingMailbox, field: str, *, whose: str) -> SendingMailbox:
    if mailbox.status == MailboxStatus.DISCONNECTED:
        raise InvalidInput(
            f"{whose} mailbox {mailbox.email} is disconnected, so it cannot send; it must be "
            "reconnected from the Mailboxes page first, or choose another sender.",
            field=field,
            code="mailbox_disconnected",
        )
    return mailbox


def _not_allowed(message: str) -> InvalidInput:
    return InvalidInput(message, field=_MEMBER_FIELD, code="sender_not_allowed")
