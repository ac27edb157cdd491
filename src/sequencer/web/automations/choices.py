"""What the builder's selects offer: lists, sequences, senders, members and time zones.

Sequences are those the workflow's owner could enroll into by hand (published, not
archived, read and write access), the rule the service checks at save. Senders are
"Record owner", the owner themself, and the teammates who turned on delegated sending
for the chosen sequence: exactly whom ``enrollment.enroll(owner, ..., member_id=...)``
accepts.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache

from sequencer.crm.models import PersonList
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, delegation
from sequencer.sequences.models import SequenceStatus
from sequencer.web.automations.builder_form import RECORD_OWNER
from sequencer.web.automations.wording import member_label
from sequencer.workspace.models import User


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def lists() -> list[Choice]:
    return [
        Choice(str(pk), name)
        for pk, name in PersonList.objects.order_by("name", "pk").values_list("pk", "name")
    ]


def enrollable_sequences(owner: User) -> list[Choice]:
    live = list(
        access.visible_sequences(owner).filter(status=SequenceStatus.LIVE).order_by("name", "pk")
    )
    levels = access.levels_for(owner, live)
    return [Choice(str(s.pk), s.display_name) for s in live if levels[s.pk] >= Level.READ_WRITE]


def with_current(
    offered: list[Choice], current: str, names: dict[int, str], *, prefix: str = ""
) -> list[Choice]:
    """``offered``, plus the one already chosen when it is not offered any more (a sequence
    archived since, a delegated sender who stopped): the form keeps it, and the service
    says why it cannot stay."""
    value = f"{prefix}{current}"
    if not current.isdigit() or any(c.value == value for c in offered):
        return offered
    name = names.get(int(current)) or ("A sequence" if not prefix else "A member")
    return [*offered, Choice(value, f"{name} (not available)")]


def senders(owner: User, viewer: User, sequence_id: str) -> list[Choice]:
    """Who may send an enrollment made by this workflow into that sequence."""
    you = " (you)" if owner.pk == viewer.pk else ""
    found = [
        Choice(RECORD_OWNER, "Record owner"),
        Choice(f"member:{owner.pk}", f"{member_label(owner)}{you}"),
    ]
    if not sequence_id.isdigit():
        return found
    try:
        delegates = delegation.delegates(owner, int(sequence_id))
    except (access.NoAccess, access.InsufficientAccess):
        return found
    found += [
        Choice(f"member:{d.member.pk}", f"{member_label(d.member)} (delegated sender)")
        for d in delegates
        if d.status == delegation.ACTIVE
        and d.has_access
        and d.mailbox is not None
        and d.member.pk != owner.pk
    ]
    return found


def members() -> list[tuple[int, str]]:
    return [
        (u.pk, member_label(u))
        for u in User.objects.filter(is_active=True).order_by("name", "email")
    ]


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
