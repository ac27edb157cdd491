"""The workspace's settings that admins set: for now, the spam complaint limit.

Every member may read them (they explain why a mailbox was paused); only admins change
them, and each change leaves an audit entry. The rule they feed is
:mod:`sequencer.domain.complaint_rate`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from sequencer.domain.complaint_rate import LIMIT_RANGE, MIN_SENDS_RANGE, ComplaintPolicy
from sequencer.domain.errors import InvalidInput
from sequencer.workspace.models import AuditEntry, User, Workspace


def complaint_policy() -> ComplaintPolicy:
    """The workspace's complaint limit (one query); the defaults before set-up."""
    row = (
        Workspace.objects.order_by("id")
        .values_list("complaint_limit_percent", "complaint_min_sends")
        .first()
    )
    if row is None:
        return ComplaintPolicy()
    return ComplaintPolicy(limit_percent=Decimal(row[0]), min_sends=int(row[1]))


def _checked_limit(value: Decimal | float | int) -> Decimal:
    low, high = LIMIT_RANGE
    problem = (
        f"complaint_limit_percent is a percentage of emails sent between {low} and {high}, "
        "with at most two decimals, such as 0.3."
    )
    try:
        limit = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(problem, field="complaint_limit_percent") from None
    if not limit.is_finite() or not low <= limit <= high or limit != limit.quantize(low):
        raise InvalidInput(problem, field="complaint_limit_percent")
    return limit.quantize(low)


def _checked_min_sends(value: int) -> int:
    low, high = MIN_SENDS_RANGE
    if not low <= value <= high:
        raise InvalidInput(
            f"complaint_min_sends is a number of emails between {low} and {high:,}; "
            "the limit applies once a mailbox sent that many in the last 30 days.",
            field="complaint_min_sends",
        )
    return value


@transaction.atomic
def set_complaint_policy(
    actor: User,
    *,
    limit_percent: Decimal | float | int | None = None,
    min_sends: int | None = None,
) -> ComplaintPolicy:
    """Change what is given (admins only); the policy now in force."""
    if not actor.is_admin:
        raise PermissionError("Only workspace admins can change the spam complaint limit.")
    workspace = Workspace.objects.select_for_update().order_by("id").first()
    if workspace is None:
        raise InvalidInput("Set the workspace up first.", code="not_set_up")
    before = {
        "complaint_limit_percent": str(workspace.complaint_limit_percent),
        "complaint_min_sends": workspace.complaint_min_sends,
    }
    changed: list[str] = []
    if limit_percent is not None:
        workspace.complaint_limit_percent = _checked_limit(limit_percent)
        changed.append("complaint_limit_percent")
    if min_sends is not None:
        workspace.complaint_min_sends = _checked_min_sends(min_sends)
        changed.append("complaint_min_sends")
    if changed:
        workspace.save(update_fields=changed)
        AuditEntry.objects.create(
            actor=actor,
            action="workspace.complaint_limit_changed",
            target=f"workspace:{workspace.pk}",
            detail={
                "before": before,
                "after": {
                    "complaint_limit_percent": str(workspace.complaint_limit_percent),
                    "complaint_min_sends": workspace.complaint_min_sends,
                },
            },
        )
    return ComplaintPolicy(
        limit_percent=Decimal(workspace.complaint_limit_percent),
        min_sends=workspace.complaint_min_sends,
    )


__all__ = ["complaint_policy", "set_complaint_policy"]
