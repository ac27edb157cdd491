"""The one interface every text generator implements."""

from __future__ import annotations

from typing import Protocol

from sequencer.domain.chat import Generation, GenerationRequest


class GenerationFailed(Exception):
    """The provider gave no answer (unreachable, refused, timed out, model missing).

    The message says what to fix, in words an admin understands; it never carries the
    API key.
    """


class TextGenerator(Protocol):
    """Writes text for one request. Implementations are safe to call from many threads."""

    @property
    def model_name(self) -> str: ...

    def generate(self, request: GenerationRequest) -> Generation:
        """Answer ``request``; raise :class:`GenerationFailed` when no answer came."""
        ...
