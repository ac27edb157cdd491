"""Whether a mailbox may send now, and if not, the reason its owner is shown.

Limits and sending windows are the engine's business; this is about the mailbox itself:
its status, its owner's account, and whether its address is proven
(:mod:`sequencer.mail.proof`). Emails of a mailbox that may not send wait; none is lost.
"""

from __future__ import annotations

from sequencer.clock import Clock
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.proof import unproven_message


def why_cannot_send(mailbox: Mailbox, clock: Clock) -> str | None:
    """None when ``mailbox`` may send now; otherwise why not, in words for its owner."""
    if mailbox.status == MailboxStatus.DISCONNECTED:
        return mailbox.status_reason or f"{mailbox.email} is disconnected: reconnect it."
    if mailbox.status == MailboxStatus.PAUSED and (
        mailbox.paused_until is None or mailbox.paused_until > clock.now()
    ):
        return mailbox.status_reason or f"{mailbox.email} is paused."
    owner = mailbox.owner
    if not owner.is_active:
        return (
            f"The account of {owner.email}, who owns {mailbox.email}, is deactivated, so "
            "the mailbox does not send; its emails wait until an admin reactivates the "
            "account."
        )
    if not mailbox.address_proven:
        return unproven_message(mailbox)
    return None
