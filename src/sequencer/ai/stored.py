"""Stored AI text: one row per slot key, the first text stored for a key winning.

A key is a person, a published version, a step, a field (``subject`` or ``body``), a
slot number within that field and the digest of what the text is written from (see
``ai.models``). Writers race (two workers, a preview and a worker): the unique
constraint keeps one row, and every writer returns the text that row holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError

from sequencer.ai.models import AiText, TextSource


@dataclass(frozen=True)
class SlotKey:
    person_id: int
    version_id: int
    step: int
    field: str
    slot: int
    digest: str

    def lookup(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "version_id": self.version_id,
            "step": self.step,
            "field": self.field,
            "slot": self.slot,
            "digest": self.digest,
        }


def find(key: SlotKey) -> AiText | None:
    return AiText.objects.filter(**key.lookup()).first()


def store_text(
    key: SlotKey,
    text: str,
    *,
    source: TextSource,
    now: datetime,
    problem: str = "",
    attempts: int = 1,
    model: str = "",
) -> str:
    """Store ``text`` for ``key`` unless a text is stored already; the stored text."""
    fields = {
        "text": text,
        "source": source,
        "model": model,
        "problem": problem,
        "attempts": attempts,
        "retry_at": None,
        "updated_at": now,
    }
    row, created = _get_or_create(key, {**fields, "created_at": now})
    if created or row.text:
        return row.text  # ours, or the first writer's
    # Our key held a failure: fill it, unless another writer just did.
    AiText.objects.filter(pk=row.pk, text="").update(**fields)
    row.refresh_from_db()
    return row.text


def store_failure(
    key: SlotKey, reason: str, *, attempts: int, retry_at: datetime, now: datetime
) -> str | None:
    """Remember that ``key`` could not be written and when to try again; a text stored
    meanwhile wins (and is returned)."""
    fields = {"problem": reason, "attempts": attempts, "retry_at": retry_at, "updated_at": now}
    row, created = _get_or_create(key, {**fields, "text": "", "created_at": now})
    if not created and not row.text:
        AiText.objects.filter(pk=row.pk, text="").update(**fields)
        row.refresh_from_db()
    return row.text or None


def _get_or_create(key: SlotKey, defaults: dict[str, Any]) -> tuple[AiText, bool]:
    """The row for ``key``, created from ``defaults`` if there is none; a writer that
    loses the race to insert reads the winner's row instead (the unique constraint)."""
    # get_or_create inserts inside a savepoint and, when the insert hits the unique
    # constraint, reads the row that won; the second guard covers a read that still
    # misses it (a writer whose transaction committed in between on another database).
    try:
        return AiText.objects.get_or_create(**key.lookup(), defaults=defaults)
    except IntegrityError:
        return AiText.objects.get(**key.lookup()), False
