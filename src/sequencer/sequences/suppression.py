"""Who must not be emailed by whom, and the signed links that put them on that list.

A recipient who unsubscribes (or marks an email as spam) is suppressed for the *sender*:
the address the email came from, and the member who owns that mailbox. No sequence may
email them again from that address, nor from any other mailbox of that member (delegated
sends included, since they go out from the member's mailboxes), and enrolling them is
refused with a reason.
Unsubscribe links carry a token signed with the installation's secret key (Django's
signing, HMAC-SHA256), so nobody can unsubscribe somebody else by guessing a URL.
Previews show a placeholder link instead (:data:`PREVIEW_UNSUBSCRIBE_PATH`): a token is
made only for an email that is really sent, to the address it is sent to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q

from sequencer.clock import Clock
from sequencer.domain.events import EventKind
from sequencer.sequences.models import Suppression
from sequencer.workspace.models import User

_SALT = "sequencer.unsubscribe.v1"

# Where a preview's unsubscribe link points: a page saying it is a preview. It is not a
# token and unsubscribes nobody (see web/unsubscribe.py).
PREVIEW_UNSUBSCRIBE_PATH = "/u/preview/"


@dataclass(frozen=True)
class UnsubscribeClaim:
    sender_email: str
    recipient_email: str
    enrollment_id: int | None
    # The member who owns the sending mailbox. Tokens issued before members were part of
    # the scope carry none; the enrollment then tells (see :func:`member_of_claim`).
    member_id: int | None = None


def unsubscribe_token(
    sender_email: str,
    recipient_email: str,
    enrollment_id: int | None,
    member_id: int | None = None,
) -> str:
    payload: dict[str, object] = {
        "s": sender_email.lower(),
        "r": recipient_email.lower(),
        "e": enrollment_id,
    }
    if member_id is not None:
        payload["m"] = member_id
    return signing.dumps(payload, salt=_SALT, compress=True)


def read_unsubscribe_token(token: str) -> UnsubscribeClaim | None:
    """The claim inside a token, or ``None`` when it was not signed by this installation."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        return None
    enrollment, member = data.get("e"), data.get("m")
    return UnsubscribeClaim(
        data["s"],
        str(data.get("r", "")),
        enrollment if isinstance(enrollment, int) else None,
        member if isinstance(member, int) else None,
    )


def unsubscribe_url(
    sender_email: str,
    recipient_email: str,
    enrollment_id: int | None,
    member_id: int | None = None,
) -> str:
    token = unsubscribe_token(sender_email, recipient_email, enrollment_id, member_id)
    return f"{settings.BASE_URL}/u/{token}"


def preview_unsubscribe_url() -> str:
    """The placeholder link of previews: a page that says so, never a token."""
    return f"{settings.BASE_URL}{PREVIEW_UNSUBSCRIBE_PATH}"


def unsubscribe_mailto(sender_email: str) -> str:
    # RFC 2369: a mailto the receiving client can send by itself; it reaches the sender's
    # own mailbox, where inbound processing recognises it.
    return f"mailto:{quote(sender_email, safe='@')}?subject=unsubscribe"


def _sender_scope(sender_email: str, member_id: int | None) -> Q:
    scope = Q(sender_email=sender_email.lower())
    if member_id is not None:
        scope |= Q(member_id=member_id)
    return scope


def suppressed_addresses(
    sender_email: str, recipients: Iterable[str], *, member_id: int | None = None
) -> set[str]:
    """Which of ``recipients`` must not be emailed from ``sender_email``, a mailbox of
    member ``member_id`` (give it: the member's other unsubscribes count too)."""
    return set(suppression_reasons(sender_email, recipients, member_id=member_id))


def suppression_reasons(
    sender_email: str, recipients: Iterable[str], *, member_id: int | None = None
) -> dict[str, str]:
    """:func:`suppressed_addresses` with why each is suppressed (``unsubscribed``,
    ``complained``, ``bounced``…); a spam complaint wins over the other reasons, since
    it is the one a member must not argue with."""
    wanted = {r.lower() for r in recipients}
    if not wanted:
        return {}
    reasons: dict[str, str] = {}
    for recipient, reason in Suppression.objects.filter(
        _sender_scope(sender_email, member_id),
        recipient_email__in=wanted,
        lifted_at__isnull=True,
    ).values_list("recipient_email", "reason"):
        if reasons.get(recipient) != EventKind.COMPLAINED:
            reasons[recipient] = reason
    return reasons


def is_suppressed(sender_email: str, recipient_email: str, *, member_id: int | None = None) -> bool:
    return bool(suppressed_addresses(sender_email, [recipient_email], member_id=member_id))


def _active(sender: str, recipient: str, member_id: int | None) -> Suppression | None:
    return Suppression.objects.filter(
        sender_email=sender, recipient_email=recipient, member_id=member_id, lifted_at__isnull=True
    ).first()


def suppress(
    sender_email: str,
    recipient_email: str,
    *,
    reason: str,
    source: str = "",
    member_id: int | None = None,
    clock: Clock,
) -> Suppression:
    """Suppress the pair, and for every mailbox of ``member_id`` when given (idempotent:
    an active suppression is returned as it is)."""
    sender, recipient = sender_email.lower(), recipient_email.lower()
    existing = _active(sender, recipient, member_id)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(
                sender_email=sender,
                recipient_email=recipient,
                member_id=member_id,
                reason=reason,
                source=source,
                created_at=clock.now(),
            )
    except IntegrityError:  # a concurrent unsubscribe won the race; same outcome
        found = _active(sender, recipient, member_id)
        assert found is not None
        return found


def member_of_claim(claim: UnsubscribeClaim) -> int | None:
    """Who sent the email a claim is about: the token says so, or (tokens issued before
    members were part of the scope) its enrollment's mailbox, if that mailbox still has
    the address the token names."""
    from sequencer.sequences.models import Enrollment

    if claim.member_id is not None:
        return claim.member_id
    if claim.enrollment_id is None:
        return None
    found = (
        Enrollment.objects.filter(pk=claim.enrollment_id, mailbox__email__iexact=claim.sender_email)
        .values_list("mailbox__owner_id", flat=True)
        .first()
    )
    return int(found) if found is not None else None


def unsubscribe(claim: UnsubscribeClaim, *, source: str, clock: Clock) -> int:
    """Suppress the claim's address for its sender (the address and its member) and end
    every open enrollment that would still email it from that sender; the number of
    enrollments ended."""
    from sequencer.sequences.enrollment import exit_enrollment
    from sequencer.sequences.models import OPEN_STATUSES, Enrollment

    member_id = member_of_claim(claim)
    suppress(
        claim.sender_email,
        claim.recipient_email,
        reason=EventKind.UNSUBSCRIBED,
        source=source,
        member_id=member_id,
        clock=clock,
    )
    from_sender = Q(mailbox__email__iexact=claim.sender_email)
    if member_id is not None:
        from_sender |= Q(mailbox__owner_id=member_id)
    open_ids = list(
        Enrollment.objects.filter(
            from_sender,
            email__iexact=claim.recipient_email,
            status__in=OPEN_STATUSES,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for enrollment_id in open_ids:
        exit_enrollment(enrollment_id, EventKind.UNSUBSCRIBED, clock=clock)
    return len(open_ids)


def lift(suppression_id: int, actor: User, *, note: str = "", clock: Clock) -> Suppression:
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
                "member_id": row.member_id,
                "recipient_email": row.recipient_email,
                "reason": row.reason,
                "note": note,
            },
        )
    return row
