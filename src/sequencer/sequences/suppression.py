"""Who must not be emailed by whom, and the signed links that put them on that list.

A recipient who unsubscribes is suppressed for the *sender address*: no sequence sent
from that address may email them again, and enrolling them is refused with a reason.
Unsubscribe links carry a token signed with the installation's secret key (Django's
signing, HMAC-SHA256), so nobody can unsubscribe somebody else by guessing a URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

from sequencer.clock import Clock, system_clock
from sequencer.sequences.models import Suppression
from sequencer.workspace.models import User

_SALT = "sequencer.unsubscribe.v1"


@dataclass(frozen=True)
class UnsubscribeClaim:
    sender_email: str
    recipient_email: str
    enrollment_id: int | None


def unsubscribe_token(sender_email: str, recipient_email: str, enrollment_id: int | None) -> str:
    payload = {"s": sender_email.lower(), "r": recipient_email.lower(), "e": enrollment_id}
    return signing.dumps(payload, salt=_SALT, compress=True)


def read_unsubscribe_token(token: str) -> UnsubscribeClaim | None:
    """The claim inside a token, or ``None`` when it was not signed by this installation."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        return None
    return UnsubscribeClaim(data["s"], str(data.get("r", "")), data.get("e"))


def unsubscribe_url(sender_email: str, recipient_email: str, enrollment_id: int | None) -> str:
    token = unsubscribe_token(sender_email, recipient_email, enrollment_id)
    return f"{settings.BASE_URL}/u/{token}"


def unsubscribe_mailto(sender_email: str) -> str:
    # RFC 2369: a mailto the receiving client can send by itself; it reaches the sender's
    # own mailbox, where inbound processing recognises it.
    return f"mailto:{quote(sender_email, safe='@')}?subject=unsubscribe"


def suppressed_addresses(sender_email: str, recipients: Iterable[str]) -> set[str]:
    """Which of ``recipients`` must not be emailed from ``sender_email``."""
    wanted = {r.lower() for r in recipients}
    if not wanted:
        return set()
    return set(
        Suppression.objects.filter(
            sender_email=sender_email.lower(), recipient_email__in=wanted, lifted_at__isnull=True
        ).values_list("recipient_email", flat=True)
    )


def is_suppressed(sender_email: str, recipient_email: str) -> bool:
    return bool(suppressed_addresses(sender_email, [recipient_email]))


def suppress(
    sender_email: str,
    recipient_email: str,
    *,
    reason: str,
    source: str = "",
    clock: Clock = system_clock,
) -> Suppression:
    """Suppress the pair (idempotent: an active suppression is returned as it is)."""
    sender, recipient = sender_email.lower(), recipient_email.lower()
    existing = Suppression.objects.filter(
        sender_email=sender, recipient_email=recipient, lifted_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(
                sender_email=sender,
                recipient_email=recipient,
                reason=reason,
                source=source,
                created_at=clock.now(),
            )
    except IntegrityError:  # a concurrent unsubscribe won the race; same outcome
        return Suppression.objects.get(
            sender_email=sender, recipient_email=recipient, lifted_at__isnull=True
        )


def unsubscribe(claim: UnsubscribeClaim, *, source: str, clock: Clock = system_clock) -> int:
    """Suppress the claim's address for its sender and end every open enrollment that
    would still email it from that sender; the number of enrollments ended."""
    from sequencer.sequences.enrollment import exit_enrollment
    from sequencer.sequences.models import OPEN_STATUSES, Enrollment, ExitReason

    suppress(
        claim.sender_email,
        claim.recipient_email,
        reason="unsubscribed",
        source=source,
        clock=clock,
    )
    open_ids = list(
        Enrollment.objects.filter(
            mailbox__email__iexact=claim.sender_email,
            email__iexact=claim.recipient_email,
            status__in=OPEN_STATUSES,
        ).values_list("pk", flat=True)
    )
    for enrollment_id in open_ids:
        exit_enrollment(enrollment_id, ExitReason.UNSUBSCRIBED, clock=clock)
    return len(open_ids)


def lift(
    suppression_id: int, actor: User, *, note: str = "", clock: Clock = system_clock
) -> Suppression:
    """Lift an active suppression (admins only), leaving an audit entry."""
    from sequencer.workspace.models import AuditEntry

    if not actor.is_admin:
        raise PermissionError("Only workspace admins can lift a suppression.")
    with transaction.atomic():
        row = Suppression.objects.select_for_update().get(pk=suppression_id)
        if row.lifted_at is not None:
            return row
        row.lifted_at = clock.now()
        row.lifted_by = actor
        row.save(update_fields=["lifted_at", "lifted_by"])
        AuditEntry.objects.create(
            actor=actor,
            action="suppression.lifted",
            target=f"suppression:{row.pk}",
            detail={
                "sender_email": row.sender_email,
                "recipient_email": row.recipient_email,
                "reason": row.reason,
                "note": note,
            },
        )
    return row
