"""What one AI slot's text is written from, and the key that remembers it.

A slot is written from its prompt (standard variables filled in), the recipient's record
as plain strings, the email text before and after it, and the sender's name. The digest
of exactly these is part of the stored text's key: the preview before enrollment and the
send after it compute the same digest and so find the same text, while a changed record
(or a changed email around the slot) gives a new digest and so new text.

The text around a slot is found by rendering the email once with a marker in place of
each slot, turning it into plain text, and cutting around each marker; other slots read
as an ellipsis, since their text is not known (or not written) yet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from sequencer.domain.ai_slot import SlotRequest

# How much email text on each side of a slot the model is shown: enough for the sentence
# and paragraph the slot sits in, small enough for a small local model's context.
AROUND_CHARS = 600
OTHER_SLOT = "…"
RECORD_GROUPS = ("person", "company")


def record_facts(data: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """The person's and company's values as strings, empty ones left out.

    ``data`` is what templates are rendered with (``{"person": {...}, "company": {...},
    "sender": {...}}``); only the recipient's record is a fact about them.
    """
    facts: dict[str, dict[str, str]] = {}
    for group in RECORD_GROUPS:
        values = data.get(group)
        if not isinstance(values, Mapping):
            continue
        kept = {str(name): _as_text(value) for name, value in values.items()}
        facts[group] = {name: text for name, text in kept.items() if text}
    return facts


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(t for t in (_as_text(v) for v in value) if t)
    return str(value).strip()


def slot_digest(slot: SlotRequest) -> str:
    """A sha256 of everything ``slot``'s text is written from (hex, 64 characters)."""
    canonical = json.dumps(
        {
            "prompt": slot.prompt,
            "record": {group: dict(values) for group, values in slot.record.items()},
            "before": slot.before,
            "after": slot.after,
            "sender": slot.sender_name,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def surroundings(
    text: str, markers: Sequence[str], *, limit: int = AROUND_CHARS
) -> list[tuple[str, str]]:
    """For each marker in ``markers``, the text before and after it in ``text``.

    Other markers read as :data:`OTHER_SLOT`; each side keeps at most ``limit``
    characters, the nearest to the slot, cut at a space when there is one. A marker not
    found in ``text`` (a slot the rendering dropped) gets empty sides.
    """
    out: list[tuple[str, str]] = []
    for index, marker in enumerate(markers):
        at = text.find(marker)
        if at < 0:
            out.append(("", ""))
            continue
        others = [m for i, m in enumerate(markers) if i != index]
        before = _replace_all(text[:at], others).lstrip()
        after = _replace_all(text[at + len(marker) :], others).rstrip()
        out.append((_keep_end(before, limit), _keep_start(after, limit)))
    return out


def _replace_all(text: str, markers: Sequence[str]) -> str:
    for marker in markers:
        text = text.replace(marker, OTHER_SLOT)
    return text


def _keep_end(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    kept = text[len(text) - limit :]
    space = kept.find(" ")
    return kept[space + 1 :] if 0 <= space < len(kept) - 1 else kept


def _keep_start(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    kept = text[:limit]
    space = kept.rfind(" ")
    return kept[:space] if space > 0 else kept
