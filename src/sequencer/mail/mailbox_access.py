"""Who sees which mailboxes, and what to tell them about one."""

from __future__ import annotations

from django.db.models import QuerySet

from sequencer.mail.models import Mailbox, MailboxStatus, Provider
from sequencer.workspace.models import User


class NotAllowed(Exception):
    """The member may not do this (the API answers 403 with the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def visible_mailboxes(user: User) -> QuerySet[Mailbox]:
    """A member sees their own mailboxes; an admin sees everyone's."""
    mailboxes = Mailbox.objects.select_related("owner")
    return mailboxes if user.is_admin else mailboxes.filter(owner=user)


def mailbox_for(user: User, mailbox_id: int) -> Mailbox | None:
    """The mailbox if ``user`` may see it; None otherwise (its existence stays hidden)."""
    return visible_mailboxes(user).filter(pk=mailbox_id).first()


def list_mailboxes(user: User, owner_id: int | None = None) -> QuerySet[Mailbox]:
    """``user``'s own mailboxes, or (for an admin) another member's."""
    if owner_id is None:
        return Mailbox.objects.select_related("owner").filter(owner=user)
    if owner_id != user.pk and not user.is_admin:
        raise NotAllowed("Only workspace admins can list other members' mailboxes.")
    return Mailbox.objects.select_related("owner").filter(owner_id=owner_id)


def mailbox_warnings(mailbox: Mailbox) -> list[str]:
    """What a person should know about this mailbox before sequences use it."""
    found = []
    if not mailbox.has_imap and mailbox.provider == Provider.SMTP_IMAP:
        found.append(
            "No IMAP server is configured: replies, bounces and auto-replies cannot be "
            "detected, so sequences will not stop when someone answers."
        )
    if mailbox.status == MailboxStatus.DISCONNECTED:
        found.append(f"Disconnected: {mailbox.status_reason or 'reconnect the mailbox.'}")
    if (unproven := mailbox.proof_missing) is not None:
        found.append(unproven)
    return found
