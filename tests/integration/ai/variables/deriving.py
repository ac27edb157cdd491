"""A text generator for these tests: it answers from a script, then with text derived
from the request, so that different requests get different text.

Only for logic around the model (storing, retrying, holding emails): the real local
model is tested with the providers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sequencer.ai.generator import GenerationFailed
from sequencer.domain.chat import Generation, GenerationRequest


class DerivingGenerator:
    model_name = "deriving-1"
    provider = "deriving"

    def __init__(self, script: Iterable[str | Exception] = ()) -> None:
        self.script = list(script)
        self.requests: list[GenerationRequest] = []

    def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
        else:
            answer = derived_text(request)
        return Generation(
            text=answer, model=self.model_name, prompt_tokens=40, completion_tokens=9, seconds=0.5
        )


def derived_text(request: GenerationRequest) -> str:
    """Text that differs whenever the messages differ (the seed is left out)."""
    said = "\n".join(m.content for m in request.messages)
    return f"Your team's work on {hashlib.sha256(said.encode()).hexdigest()[:10]} stands out."


def failing(times: int) -> list[str | Exception]:
    return [GenerationFailed("the model server did not answer")] * times


# What SEQUENCER_AI_GENERATOR points at in these tests (see the ``generator`` fixture).
ACTIVE: list[DerivingGenerator] = []


def active() -> DerivingGenerator | None:
    return ACTIVE[-1] if ACTIVE else None
