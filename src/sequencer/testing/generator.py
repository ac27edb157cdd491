"""A text generator that answers from a script, for unit tests of the rules around AI.

:class:`ScriptedGenerator` implements :class:`~sequencer.ai.generator.TextGenerator`.
It returns the given answers in order (a string, or a :class:`GenerationFailed` to
raise), records every request in :attr:`requests`, and raises ``AssertionError`` when
asked more often than scripted, so a test never passes on an answer it did not write.
Real providers are tested against the real model and a real server; this fake exists so
that prompt building and answer checking can be pinned down exactly.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from sequencer.ai.generator import GenerationFailed
from sequencer.domain.chat import Generation, GenerationRequest

__all__ = ["ScriptedGenerator"]


class ScriptedGenerator:
    def __init__(
        self, answers: Iterable[str | GenerationFailed] = (), model: str = "scripted"
    ) -> None:
        self._answers: deque[str | GenerationFailed] = deque(answers)
        self._model = model
        self._lock = threading.Lock()  # the protocol promises thread safety
        self.requests: list[GenerationRequest] = []

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def remaining(self) -> int:
        return len(self._answers)

    def add(self, *answers: str | GenerationFailed) -> None:
        with self._lock:
            self._answers.extend(answers)

    def generate(self, request: GenerationRequest) -> Generation:
        with self._lock:
            self.requests.append(request)
            if not self._answers:
                raise AssertionError(
                    f"ScriptedGenerator was asked {len(self.requests)} times but given "
                    f"{len(self.requests) - 1} answers; last request: {request!r}"
                )
            answer = self._answers.popleft()
        if isinstance(answer, GenerationFailed):
            raise answer
        return Generation(
            text=answer,
            model=self._model,
            # Whitespace-separated words stand in for tokens: enough for tests of limits.
            prompt_tokens=sum(len(m.content.split()) for m in request.messages),
            completion_tokens=len(answer.split()),
            seconds=0.0,
        )
