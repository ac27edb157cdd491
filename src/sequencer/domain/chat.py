"""What a text generator is asked and what it answers: plain values, no model, no I/O.

Every provider (the embedded local model, any OpenAI-compatible server) takes a
:class:`GenerationRequest` and returns a :class:`Generation`, so the rules that build
prompts and judge answers (``domain.ai_slot``) never know which model ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion: the messages, and how much and how freely to write."""

    messages: tuple[ChatMessage, ...]
    max_tokens: int = 120
    temperature: float = 0.7
    # The same seed and messages give the same text on the local model, which is what
    # lets a retry ask for something different (a new seed) on purpose.
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generation:
    """A model's answer, with what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
