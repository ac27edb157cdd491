"""One AI slot in one email: what the model is asked, and whether its answer fits.

A member writes a prompt once (``{% ai %}...{% endai %}``); for each recipient the
prompt, with its standard variables filled in, is sent together with the recipient's
record and the email text around the slot. The record is data the member does not
control (a form, an import, a CRM sync), so it is handed over as quoted data, never as
instructions, and the answer is judged before it goes anywhere near an email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from sequencer.domain.chat import ChatMessage, GenerationRequest


class SlotShape(Enum):
    """How much text the slot holds, read from the prompt's own wording."""

    PHRASE = "phrase"
    PARAGRAPH = "paragraph"


@dataclass(frozen=True)
class SlotRequest:
    """Everything one slot's text is written from."""

    prompt: str
    # ``{"person": {...}, "company": {...}}``: attribute names to values, untrusted.
    record: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    before: str = ""
    after: str = ""
    sender_name: str = ""


@dataclass(frozen=True)
class Verdict:
    """The text to put in the slot, or why the answer cannot be used."""

    text: str | None
    problem: str | None = None


MAX_CHARS = {SlotShape.PHRASE: 120, SlotShape.PARAGRAPH: 600}


def shape_of(prompt: str) -> SlotShape:
    """A prompt that asks for a phrase (or a few words) gets a phrase; else a paragraph."""
    wording = prompt.lower()
    return SlotShape.PHRASE if "phrase" in wording or "words" in wording else SlotShape.PARAGRAPH


def build_request(slot: SlotRequest, *, attempt: int) -> GenerationRequest:
    """The messages for ``slot``; each ``attempt`` gets its own seed, so a retry differs."""
    facts = "\n".join(
        f"{group}.{name}: {value}"
        for group, values in sorted(slot.record.items())
        for name, value in sorted(values.items())
    )
    return GenerationRequest(
        messages=(
            ChatMessage("system", "Write only the text asked for, for one email."),
            ChatMessage("user", f"{slot.prompt}\n\nRecipient data:\n{facts}"),
        ),
        seed=attempt,
    )


def judge(raw: str, slot: SlotRequest) -> Verdict:
    """The usable text of ``raw``, or the reason it is unusable."""
    text = raw.strip()
    if not text:
        return Verdict(None, "the model wrote nothing")
    if len(text) > MAX_CHARS[shape_of(slot.prompt)]:
        return Verdict(None, "the text is longer than the slot allows")
    return Verdict(text)
