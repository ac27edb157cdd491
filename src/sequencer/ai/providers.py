"""Which text generator this installation uses: the one chosen in Settings → AI.

The built-in model (the default) runs the GGUF shipped with the install; a server
provider talks to any OpenAI-compatible API, or to an Azure OpenAI deployment. Two
things stay with the installation rather than the page, because they are about the
machine: ``SEQUENCER_AI_MODEL_PATH`` (another GGUF file for the built-in model) and
``SEQUENCER_AI_TIMEOUT`` (seconds to wait for a server).

Settings that cannot work raise :class:`GenerationFailed` naming the field to fix, so a
page that asks for text shows that rather than an error page.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from django.conf import settings

from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.ai.local_model import LocalModel
from sequencer.ai.openai_compatible import OpenAICompatible
from sequencer.domain.ai_settings import GeneratorSettings, Provider
from sequencer.workspace.ai_settings import generator_settings


@functools.lru_cache(maxsize=8)
def build_generator(
    chosen: GeneratorSettings, *, model_path: str = "", timeout: float = 60.0
) -> TextGenerator:
    """The generator for ``chosen``, built once per distinct settings (the local model
    loads once per process; a server client keeps its connections)."""
    if chosen.provider is Provider.LOCAL:
        return LocalModel(model_path or None)
    if not chosen.base_url:
        raise GenerationFailed("Settings → AI: the server's base URL is empty.")
    if not chosen.model:
        raise GenerationFailed(
            "Settings → AI: the model name is empty; give the model (or Azure deployment) "
            "the server knows."
        )
    base = chosen.base_url
    if chosen.provider is Provider.AZURE_OPENAI:
        # Azure addresses one deployment under the resource's endpoint.
        base = f"{base.rstrip('/')}/openai/deployments/{quote(chosen.model, safe='')}"
    try:
        return OpenAICompatible(
            base,
            chosen.model,
            api_key=chosen.api_key,
            timeout=timeout,
            azure_api_version=chosen.api_version
            if chosen.provider is Provider.AZURE_OPENAI
            else "",
        )
    except ValueError as error:
        raise GenerationFailed(f"Settings → AI: the base URL: {error}.") from error


def workspace_generator() -> TextGenerator:
    """The generator the workspace chose in Settings → AI (the built-in model until an
    admin chooses otherwise)."""
    return build_generator(
        generator_settings(),
        model_path=settings.SEQUENCER_AI_MODEL_PATH,
        timeout=settings.SEQUENCER_AI_TIMEOUT,
    )
