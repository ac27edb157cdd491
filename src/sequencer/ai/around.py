"""The email text around each AI slot of a field, as the model is shown it.

The field is rendered once with a marker in place of each slot (no model, no stored
text), turned into plain text as the recipient's text part would read, and cut around
each marker (``domain.ai_context.surroundings``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sequencer.domain.ai_context import surroundings
from sequencer.domain.text import html_to_text
from sequencer.sequences.templating import RenderError, render_html_body, render_subject


class Markers:
    """Renders each slot as a marker no template contains, remembering how many."""

    def __init__(self) -> None:
        # Letters and digits only: escaping, sanitising and the text conversion keep them.
        self.nonce = uuid.uuid4().hex
        self.made: list[str] = []

    def resolve(self, prompt: str, *, fallback: str, required: bool) -> str:
        marker = f"AISLOT{self.nonce}N{len(self.made)}E"
        self.made.append(marker)
        return marker


def around_slots(source: str, data: Mapping[str, Any], *, html: bool) -> list[tuple[str, str]]:
    """The plain text before and after each slot of ``source`` rendered with ``data``."""
    markers = Markers()
    try:
        if html:
            text = html_to_text(
                render_html_body(source, data, ai_generator=markers, strict=False), links=False
            )
        else:
            text = render_subject(source, data, ai_generator=markers, strict=False)
    except RenderError:
        return []  # the real render fails the same way and says why
    return surroundings(text, markers.made)
