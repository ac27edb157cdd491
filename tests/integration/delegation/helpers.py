"""Small helpers shared by the delegated sending tests."""

from __future__ import annotations

from typing import Any

from sequencer.sequences.models import Sequence, SequenceGrant
from sequencer.workspace.models import User


def set_level(sequence: Sequence, user: User, level: str) -> None:
    """Give ``user`` their own grant of ``level`` on ``sequence`` (replacing theirs)."""
    SequenceGrant.objects.update_or_create(sequence=sequence, user=user, defaults={"level": level})


def put(client: Any, path: str, body: Any) -> Any:
    return client.request("PUT", path, body)
