"""Building the generator chosen in Settings → AI: the local model by default, an
OpenAI-compatible or Azure client when asked, and a GenerationFailed naming the field to
fix for settings that cannot work. Base URLs are taken the way providers
document them."""

from __future__ import annotations

import pytest

from sequencer.ai.generator import GenerationFailed
from sequencer.ai.local_model import LocalModel
from sequencer.ai.openai_compatible import OpenAICompatible, chat_completions_url
from sequencer.ai.providers import build_generator
from sequencer.domain.ai_settings import GeneratorSettings, Provider


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/v1/chat/completions"),
        ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1/chat/completions"),
        ("https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1/chat/completions"),
        ("http://h:8080/v1/chat/completions", "http://h:8080/v1/chat/completions"),
    ],
)
def test_a_base_url_is_taken_with_or_without_v1(base: str, url: str) -> None:
    assert chat_completions_url(base) == url


@pytest.mark.parametrize("base", ["ftp://host/v1", "localhost:11434", "", "http:///v1"])
def test_a_base_url_that_is_not_http_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        chat_completions_url(base)


def test_the_shown_url_never_carries_a_password() -> None:
    generator = OpenAICompatible("https://user:hunter2@llm.example/v1", "m")
    assert generator.url == "https://llm.example/v1/chat/completions"


def test_the_local_model_is_the_default() -> None:
    assert isinstance(build_generator(GeneratorSettings()), LocalModel)


def test_a_model_path_setting_points_the_local_model_at_that_file() -> None:
    generator = build_generator(GeneratorSettings(), model_path="/models/tiny-chat.gguf")
    assert isinstance(generator, LocalModel)
    assert generator.model_name == "tiny-chat"


def test_an_openai_compatible_server_gets_a_client_for_its_address() -> None:
    generator = build_generator(
        GeneratorSettings(
            provider=Provider.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:11434", model="llama3.2"
        )
    )
    assert isinstance(generator, OpenAICompatible)
    assert generator.model_name == "llama3.2"
    assert generator.url == "http://127.0.0.1:11434/v1/chat/completions"


def test_an_azure_deployment_is_addressed_under_its_endpoint() -> None:
    generator = build_generator(
        GeneratorSettings(
            provider=Provider.AZURE_OPENAI,
            base_url="https://acme.openai.azure.com/",
            model="mail-writer",
            api_key="k",
            api_version="2024-10-21",
        )
    )
    assert isinstance(generator, OpenAICompatible)
    assert generator.url == (
        "https://acme.openai.azure.com/openai/deployments/mail-writer/chat/completions"
    )


SERVER = Provider.OPENAI_COMPATIBLE


@pytest.mark.parametrize(
    ("chosen", "names"),
    [
        (GeneratorSettings(provider=SERVER, model="m"), "base URL is empty"),
        (GeneratorSettings(provider=SERVER, base_url="http://h/v1"), "model name is empty"),
        (GeneratorSettings(provider=SERVER, base_url="h:1", model="m"), "the base URL:"),
    ],
)
def test_settings_that_cannot_work_name_the_field_to_fix(
    chosen: GeneratorSettings, names: str
) -> None:
    with pytest.raises(GenerationFailed, match=names):
        build_generator(chosen)
