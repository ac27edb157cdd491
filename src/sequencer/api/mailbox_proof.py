"""Whether a mailbox's address is proven, and an admin vouching for it.

The other proofs happen where the member already is: signing in with Google or Microsoft,
the connection test (``POST /mailboxes/{id}/test``), or the emailed confirmation link.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.clock import system_clock
from sequencer.mail import proof
from sequencer.mail.mailboxes import mailbox_for
from sequencer.mail.models import Mailbox

router = Router(tags=["Mailboxes"])


class AddressProofOut(Schema):
    proven: bool
    method: str | None = Field(
        description="oauth, imap, link or admin; null while the address is not proven"
    )
    proven_at: datetime | None
    vouched_by: int | None = Field(description="the admin who vouched, for method admin")


class VouchIn(Schema):
    model_config = {"extra": "forbid"}

    note: str = Field("", max_length=2000)


def address_proof(mailbox: Mailbox) -> AddressProofOut:
    return AddressProofOut(
        proven=mailbox.address_proven,
        method=mailbox.address_proof or None,
        proven_at=mailbox.address_proven_at,
        vouched_by=mailbox.address_vouched_by_id,
    )


@router.post("/mailboxes/{mailbox_id}/vouch", response=AddressProofOut)
def vouch_for_mailbox(request: HttpRequest, mailbox_id: int, payload: VouchIn) -> AddressProofOut:
    """An admin vouches that the mailbox's address is its owner's (recorded in the audit
    log); a mailbox already proven keeps its proof."""
    user = caller(request)
    mailbox = mailbox_for(user, mailbox_id)
    if mailbox is None:
        raise NotFound("mailbox")
    if not user.is_admin:
        raise Forbidden("Only workspace admins can vouch for a mailbox's address; ask an admin.")
    return address_proof(proof.vouch(user, mailbox, system_clock, note=payload.note))
