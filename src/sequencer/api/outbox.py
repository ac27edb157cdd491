"""The outbox: the emails waiting to go out from the caller's mailboxes (an admin's:
every mailbox), when each will go out and why it waits.

The same answer as Settings → Outbox, from :mod:`sequencer.engine.outbox`, which asks the
rules the engine asks before sending. It only reads.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from sequencer.api.auth import caller
from sequencer.api.errors import NotFound
from sequencer.api.schedule import utc_iso
from sequencer.clock import system_clock
from sequencer.engine.outbox import MailboxQueue, Waiting, outbox
from sequencer.inputs import Input
from sequencer.mail.mailbox_access import visible_mailboxes

router = Router(tags=["Mailboxes"])

MAX_SHOWN = 500


class OutboxFilters(Input):
    mailbox_id: int | None = Field(
        default=None, description="Only this mailbox (one you may see: yours, or any for admins)."
    )
    limit: int = Field(
        default=100,
        ge=1,
        le=MAX_SHOWN,
        description="The soonest this many queued emails (of all the mailboxes asked about) "
        "are listed; each mailbox's `queued` counts all of its own.",
    )


class WaitingOut(Schema):
    enrollment_id: int
    sequence_id: int
    person_id: int
    to: str = Field(description="The address the email goes to.")
    step: int = Field(description="The step's position in the sequence, from 0.")
    subject: str
    goes_out_at: str | None = Field(
        description="When it will go out if nothing changes (UTC); null: not until the "
        "mailbox can send again."
    )
    time_zone: str | None = Field(description="The zone its sending window is reckoned in.")
    kind: str = Field(
        description="Why it waits: due, scheduled, retry, window, weekend, holiday, pacing "
        "or mailbox."
    )
    reason: str = Field(description="Why it waits, in words.")


class QueueOut(Schema):
    mailbox_id: int
    mailbox_email: str
    owner_id: int
    queued: int = Field(description="How many emails wait in this mailbox in all.")
    blocked: str | None = Field(description="Why the mailbox cannot send now, if it cannot.")
    emails: list[WaitingOut] = Field(description="The soonest first.")


def _waiting(item: Waiting) -> WaitingOut:
    email = item.email
    enrollment = email.enrollment
    return WaitingOut(
        enrollment_id=enrollment.pk,
        sequence_id=enrollment.sequence_id,
        person_id=enrollment.person_id,
        to=enrollment.email,
        step=email.step,
        subject=email.subject,
        goes_out_at=utc_iso(item.goes_out_at) if item.goes_out_at else None,
        time_zone=item.zone.key if item.zone else None,
        kind=item.kind,
        reason=item.reason,
    )


def _queue(queue: MailboxQueue) -> QueueOut:
    return QueueOut(
        mailbox_id=queue.mailbox.pk,
        mailbox_email=queue.mailbox.email,
        owner_id=queue.mailbox.owner_id,
        queued=queue.queued,
        blocked=queue.blocked,
        emails=[_waiting(w) for w in queue.emails],
    )


@router.get("/outbox", response=list[QueueOut])
def get_outbox(request: HttpRequest, filters: Query[OutboxFilters]) -> list[QueueOut]:
    """The emails waiting in each mailbox you may see, when each goes out and why."""
    visible = visible_mailboxes(caller(request)).order_by("owner__email", "email", "id")
    if filters.mailbox_id is not None:
        chosen = list(visible.filter(pk=filters.mailbox_id))
        if not chosen:
            raise NotFound("mailbox")
    else:
        chosen = list(visible)
    return [_queue(q) for q in outbox(chosen, system_clock, shown=filters.limit)]
