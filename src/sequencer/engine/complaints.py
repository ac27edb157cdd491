"""Pausing a mailbox whose recipients mark too much of its mail as spam.

Each spam complaint the sequences package acts on (it ends the recipient as
*complained* and suppresses the address) comes here next, from the engine's inbound
handler: the mailbox's complaint rate only rises when a complaint arrives, so that is
the one moment to look. Over the workspace's limit (the rule is
:mod:`sequencer.domain.complaint_rate`) the mailbox is paused until its owner resumes
it, and its owner is told why. Its emails wait; none is lost.

One query reads the mailbox's complaints and sends over the window while locking its
row, the last of the lifecycle's lock order (enrollment, emails, mailbox), so two
complaints read at once by two workers pause it and notify its owner once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from sequencer.clock import Clock
from sequencer.domain.complaint_rate import (
    WINDOW,
    ComplaintPolicy,
    ComplaintRate,
    is_complaint_pause,
    is_over_limit,
    pause_reason,
)
from sequencer.domain.events import EventKind
from sequencer.mail.mailboxes import pause_until_resumed
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.sequences.models import EnrollmentEvent, ScheduledEmail
from sequencer.workspace.models import Notification
from sequencer.workspace.settings import complaint_policy

log = logging.getLogger(__name__)

__all__ = ["RateCheck", "check_complaint_rate", "locked_with_rate"]


@dataclass(frozen=True)
class RateCheck:
    rate: ComplaintRate
    policy: ComplaintPolicy
    paused: bool  # paused by this check (not already paused for its complaints)


def _count(queryset: QuerySet[Any, Any]) -> Coalesce:
    """A correlated ``COUNT`` of ``queryset`` (grouped on the outer mailbox), 0 when empty."""
    return Coalesce(Subquery(queryset), Value(0), output_field=IntegerField())


def locked_with_rate(mailbox_id: int, now: datetime) -> tuple[Mailbox, ComplaintRate]:
    """The mailbox, locked, and its complaint rate over the window ending ``now``.

    Sends are the emails handed to the provider and accepted (``sent_at`` set), found
    by when they were attempted, which the ``mailbox_attempts`` index covers, so the
    cost is that of the window's emails, not of every email the mailbox ever sent.
    Complaints are the recipients who marked one of its emails as spam in the window
    (distinct: a receiver that reports one message twice counts once), found through
    the partial ``complaint_events`` index.
    """
    since = now - WINDOW
    sent = (
        ScheduledEmail.objects.filter(
            mailbox_id=OuterRef("pk"), attempted_at__gte=since, sent_at__isnull=False
        )
        .order_by()
        .values("mailbox_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    complaints = (
        EnrollmentEvent.objects.filter(
            kind=EventKind.COMPLAINED,
            occurred_at__gte=since,
            enrollment__mailbox_id=OuterRef("pk"),
        )
        .order_by()
        .values("enrollment__mailbox_id")
        .annotate(n=Count("enrollment_id", distinct=True))
        .values("n")
    )
    row = (
        Mailbox.objects.select_for_update(of=("self",))
        .annotate(recent_sent=_count(sent), recent_complaints=_count(complaints))
        .get(pk=mailbox_id)
    )
    rate = ComplaintRate(
        complaints=int(getattr(row, "recent_complaints", 0)),
        sent=int(getattr(row, "recent_sent", 0)),
    )
    return row, rate


def check_complaint_rate(mailbox_id: int, *, clock: Clock) -> RateCheck | None:
    """After a spam complaint about ``mailbox_id``'s mail: pause it and tell its owner
    when its rate is over the limit. ``None`` when the check itself failed: it is
    logged, and the complaint's own effects (exit, suppression) stay."""
    try:
        # A savepoint: a failure here must not undo the complaint already recorded.
        with transaction.atomic():
            return _check(mailbox_id, clock)
    except Exception:
        log.exception(
            "could not check the complaint rate of mailbox %s",
            mailbox_id,
            extra={"mailbox": mailbox_id},
        )
        return None


def _check(mailbox_id: int, clock: Clock) -> RateCheck:
    policy = complaint_policy()
    mailbox, rate = locked_with_rate(mailbox_id, clock.now())
    if not is_over_limit(rate, policy):
        return RateCheck(rate, policy, paused=False)
    reason = pause_reason(rate, policy)
    already = (
        mailbox.status == MailboxStatus.PAUSED
        and mailbox.paused_until is None
        and is_complaint_pause(mailbox.status_reason)
    )
    # Paused for its complaints already: the reason follows the rate, the owner was told.
    pause_until_resumed(mailbox, reason)
    if already:
        return RateCheck(rate, policy, paused=False)
    log.warning("paused mailbox %s: %s", mailbox.pk, reason, extra={"mailbox": mailbox.pk})
    Notification.objects.create(
        user_id=mailbox.owner_id,
        kind="mailbox_paused",
        message=(
            f"Sending from {mailbox.email} is paused: {reason} Recipients who mark "
            "email as spam harm the delivery of everything sent from this address. Its "
            "emails are kept and wait; look at what was sent and to whom, then resume "
            "the mailbox when you are ready."
        ),
    )
    return RateCheck(rate, policy, paused=True)
