"""Suppressions (who must not be emailed by whom) and the audit trail."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.api.pagination import Page
from sequencer.clock import system_clock
from sequencer.inputs import Input
from sequencer.mail.models import Mailbox
from sequencer.sequences import suppression
from sequencer.sequences.models import Suppression
from sequencer.workspace.models import AuditEntry

router = Router(tags=["Compliance"])


class SuppressionOut(Schema):
    id: int
    sender_email: str
    recipient_email: str
    reason: str
    source: str
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: int | None


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    count: int


class SuppressionFilter(Page):
    recipient: str | None = None
    sender: str | None = None
    active: bool = True


class LiftIn(Input):
    note: str = ""


class AuditOut(Schema):
    id: int
    actor_id: int | None
    action: str
    target: str
    detail: dict
    created_at: datetime


def _out(row: Suppression) -> SuppressionOut:
    return SuppressionOut(
        id=row.pk,
        sender_email=row.sender_email,
        recipient_email=row.recipient_email,
        reason=row.reason,
        source=row.source,
        created_at=row.created_at,
        lifted_at=row.lifted_at,
        lifted_by=row.lifted_by_id,
    )


@router.get("/suppressions", response=SuppressionPage)
def list_suppressions(request: HttpRequest, filters: Query[SuppressionFilter]) -> SuppressionPage:
    """Admins see every suppression; members those of their own sender addresses."""
    start, end = filters.bounds
    user = caller(request)
    rows = Suppression.objects.all()
    if not user.is_admin:
        own = Mailbox.objects.filter(owner=user).values_list("email", flat=True)
        rows = rows.filter(sender_email__in=[e.lower() for e in own])
    if filters.active:
        rows = rows.filter(lifted_at__isnull=True)
    if filters.recipient:
        rows = rows.filter(recipient_email__iexact=filters.recipient.strip())
    if filters.sender:
        rows = rows.filter(sender_email__iexact=filters.sender.strip())
    page = rows.order_by("-created_at", "-id")[start:end]
    return SuppressionPage(items=[_out(r) for r in page], count=rows.count())


@router.post("/suppressions/{suppression_id}/lift", response=SuppressionOut)
def lift_suppression(request: HttpRequest, suppression_id: int, payload: LiftIn) -> SuppressionOut:
    """Let the sender email this address again (admins only; audited)."""
    user = caller(request)
    if not user.is_admin:
        raise Forbidden("Only workspace admins can lift a suppression; ask an admin.")
    if not Suppression.objects.filter(pk=suppression_id).exists():
        raise NotFound("suppression")
    return _out(suppression.lift(suppression_id, user, note=payload.note, clock=system_clock))


@router.get("/audit", response=list[AuditOut])
def audit_trail(request: HttpRequest, target: str | None = None) -> list[AuditOut]:
    if not caller(request).is_admin:
        raise Forbidden("Only workspace admins can read the audit trail.")
    rows = AuditEntry.objects.order_by("-created_at", "-id")
    if target:
        rows = rows.filter(target=target)
    return [
        AuditOut(
            id=r.pk,
            actor_id=r.actor_id,
            action=r.action,
            target=r.target,
            detail=r.detail,
            created_at=r.created_at,
        )
        for r in rows[:500]
    ]
