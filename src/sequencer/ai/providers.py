"""Which text generator this installation uses, from the SEQUENCER_AI_* settings.

``local`` (the default) runs the model shipped with the install; ``openai`` talks to the
OpenAI-compatible server at SEQUENCER_AI_BASE_URL. A setting that cannot work is
reported as :class:`GenerationFailed` with the variable to fix, so a page that asks for
text shows that instead of an error page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.ai.local_model import LocalModel
from sequencer.ai.openai_compatible import OpenAICompatible

PROVIDERS = ("local", "openai")


@dataclass(frozen=True)
class AISettings:
    provider: str = "local"
    model_path: str = ""
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    azure_api_version: str = ""
    timeout: float = 60.0

    def __repr__(self) -> str:
        # Settings printed in a log or a traceback keep the key out.
        shown = "set" if self.api_key else "unset"
        return (
            f"AISettings(provider={self.provider!r}, base_url={self.base_url!r}, "
            f"model={self.model!r}, api_key={shown})"
        )

    @classmethod
    def from_django(cls, source: Any = settings) -> AISettings:
        return cls(
            provider=source.SEQUENCER_AI_PROVIDER,
            model_path=source.SEQUENCER_AI_MODEL_PATH,
            base_url=source.SEQUENCER_AI_BASE_URL,
            model=source.SEQUENCER_AI_MODEL,
            api_key=source.SEQUENCER_AI_API_KEY,
            azure_api_version=source.SEQUENCER_AI_AZURE_API_VERSION,
            timeout=source.SEQUENCER_AI_TIMEOUT,
        )


def build_generator(ai: AISettings) -> TextGenerator:
    """A new generator for ``ai``; raises :class:`GenerationFailed` for settings that
    cannot work."""
    if ai.provider == "local":
        return LocalModel(ai.model_path or None)
    if ai.provider == "openai":
        if not ai.base_url:
            raise GenerationFailed(
                "SEQUENCER_AI_PROVIDER is openai but SEQUENCER_AI_BASE_URL is empty: set it "
                "to the server's API address, e.g. https://api.openai.com/v1 or "
                "http://127.0.0.1:11434 for Ollama."
            )
        if not ai.model:
            raise GenerationFailed(
                "SEQUENCER_AI_PROVIDER is openai but SEQUENCER_AI_MODEL is empty: set it to "
                "the model (or Azure deployment) name the server knows."
            )
        try:
            return OpenAICompatible(
                ai.base_url,
                ai.model,
                api_key=ai.api_key,
                timeout=ai.timeout,
                azure_api_version=ai.azure_api_version,
            )
        except ValueError as error:
            raise GenerationFailed(f"SEQUENCER_AI_BASE_URL: {error}.") from error
    raise GenerationFailed(
        f"SEQUENCER_AI_PROVIDER is {ai.provider!r}; it must be one of {', '.join(PROVIDERS)}."
    )


@functools.cache
def configured_generator() -> TextGenerator:
    """This process's generator, built once from the settings (the local model loads
    once per process)."""
    return build_generator(AISettings.from_django())
