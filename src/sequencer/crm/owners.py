"""The owner of a person: the member who looks after them.

Workflows can send as a person's owner ("record owner"), so an owner must be someone
who can sign in: an existing, active member of the workspace.
"""

from __future__ import annotations

from sequencer.domain.errors import InvalidInput
from sequencer.workspace.models import User


def check_owner(owner_id: object, field: str = "owner_id") -> User | None:
    """The active member ``owner_id`` names, or None for no owner."""
    if owner_id is None:
        return None
    if isinstance(owner_id, bool) or not isinstance(owner_id, int):
        raise InvalidInput(f"{field} is the id of a member of the workspace.", field=field)
    owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id > 0 else None
    if owner is None:
        raise InvalidInput(
            f"No active member with id {owner_id} exists; choose a member of the workspace "
            f"(GET /api/v1/members) or leave {field} out.",
            field=field,
            code="missing_record",
        )
    return owner
