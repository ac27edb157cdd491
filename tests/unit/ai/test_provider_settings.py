"""Building the configured generator from the SEQUENCER_AI_* settings: the local model by
default, an OpenAI-compatible client when asked, and a GenerationFailed naming the
variable to fix for settings that cannot work. Base URLs are taken the way providers
document them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sequencer.ai.generator import GenerationFailed
from sequencer.ai.local_model import LocalModel
from sequencer.ai.openai_compatible import OpenAICompatible, chat_completions_url
from sequencer.ai.providers import AISettings, build_generator


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
    assert isinstance(build_generator(AISettings()), LocalModel)


def test_a_model_path_setting_points_the_local_model_at_that_file() -> None:
    generator = build_generator(AISettings(model_path="/models/tiny-chat.gguf"))
    assert isinstance(generator, LocalModel)
    assert generator.model_name == "tiny-chat"


def test_openai_builds_a_client_for_the_configured_server() -> None:
    generator = build_generator(
        AISettings(provider="openai", base_url="http://127.0.0.1:11434", model="llama3.2")
    )
    assert isinstance(generator, OpenAICompatible)
    assert generator.model_name == "llama3.2"
    assert generator.url == "http://127.0.0.1:11434/v1/chat/completions"


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        (AISettings(provider="openai", model="m"), "SEQUENCER_AI_BASE_URL is empty"),
        (AISettings(provider="openai", base_url="http://h/v1"), "SEQUENCER_AI_MODEL is empty"),
        (AISettings(provider="openai", base_url="h:1", model="m"), "SEQUENCER_AI_BASE_URL:"),
        (AISettings(provider="gpt"), "must be one of local, openai"),
    ],
)
def test_settings_that_cannot_work_name_the_variable_to_fix(
    settings: AISettings, names: str
) -> None:
    with pytest.raises(GenerationFailed, match=names):
        build_generator(settings)


def test_settings_are_read_from_django_and_their_repr_hides_the_key() -> None:
    source = SimpleNamespace(
        SEQUENCER_AI_PROVIDER="openai",
        SEQUENCER_AI_MODEL_PATH="",
        SEQUENCER_AI_BASE_URL="https://api.openai.com/v1",
        SEQUENCER_AI_MODEL="gpt-4o-mini",
        SEQUENCER_AI_API_KEY="sk-live-abcdef",
        SEQUENCER_AI_AZURE_API_VERSION="",
        SEQUENCER_AI_TIMEOUT=30.0,
    )
    ai = AISettings.from_django(source)
    assert (ai.provider, ai.model, ai.api_key, ai.timeout) == (
        "openai",
        "gpt-4o-mini",
        "sk-live-abcdef",
        30.0,
    )
    assert "sk-live-abcdef" not in repr(ai)
    assert "api_key=set" in repr(ai)
