"""The workspace's AI configuration: the built-in model needs nothing, a server needs an
http(s) base URL and a model, Azure a key and an API version too; limits stay in range."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.ai_settings import (
    MAX_TRIES_RANGE,
    PARAGRAPH_CHARS_RANGE,
    PHRASE_CHARS_RANGE,
    GeneratorSettings,
    Provider,
    parse_provider,
    problems,
    url_problem,
)
from sequencer.domain.errors import InvalidInput

SERVER = GeneratorSettings(
    provider=Provider.OPENAI_COMPATIBLE, base_url="https://llm.example.test/v1", model="qwen2.5"
)
AZURE = GeneratorSettings(
    provider=Provider.AZURE_OPENAI,
    base_url="https://acme.openai.azure.com",
    model="writer",
    api_key="k3y",
    api_version="2024-10-21",
)


def _fields(settings: GeneratorSettings) -> list[str | None]:
    return [p.field for p in problems(settings)]


def test_the_defaults_are_the_local_model_with_three_tries_120_and_600_characters():
    settings = GeneratorSettings()
    assert settings.provider is Provider.LOCAL
    assert (settings.max_tries, settings.max_phrase_chars, settings.max_paragraph_chars) == (
        3,
        120,
        600,
    )
    assert problems(settings) == []


def test_a_server_with_a_base_url_and_a_model_is_accepted_without_a_key():
    assert problems(SERVER) == []


def test_a_server_needs_a_base_url_and_a_model():
    assert _fields(replace(SERVER, base_url="", model="")) == ["base_url", "model"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://llm.example.test",
        "llm.example.test/v1",
        "https://",
        "https://user:pw@llm.example.test/v1",
        "https://llm.example.test/v1?key=1",
        "https://llm.example.test:99999/v1",
        "https://llm example.test",
        "not a url",
    ],
)
def test_a_base_url_that_is_not_a_plain_http_or_https_url_is_refused(url):
    assert _fields(replace(SERVER, base_url=url)) == ["base_url"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/v1", "https://api.example.com/v1/", "http://llm:11434/v1"]
)
def test_http_and_https_urls_with_a_port_or_a_path_are_accepted(url):
    assert url_problem(url) is None


def test_azure_needs_a_key_and_an_api_version_and_calls_the_deployment():
    assert problems(AZURE) == []
    assert _fields(replace(AZURE, api_key="", api_version="")) == ["api_key", "api_version"]
    assert _fields(replace(AZURE, api_version="latest")) == ["api_version"]
    assert AZURE.chat_completions_url == (
        "https://acme.openai.azure.com/openai/deployments/writer/chat/completions"
        "?api-version=2024-10-21"
    )


def test_an_openai_compatible_server_is_called_at_its_base_url():
    assert replace(SERVER, base_url="http://h/v1/").chat_completions_url == (
        "http://h/v1/chat/completions"
    )
    assert GeneratorSettings().chat_completions_url == ""


def test_the_local_model_keeps_the_server_fields_it_does_not_use():
    kept = replace(SERVER, provider=Provider.LOCAL)
    assert problems(kept) == []


def test_a_paragraph_may_not_be_shorter_than_a_phrase():
    settings = GeneratorSettings(max_phrase_chars=300, max_paragraph_chars=200)
    assert _fields(settings) == ["max_paragraph_chars"]


def test_the_key_is_never_in_the_settings_repr():
    assert "k3y" not in repr(AZURE)


def test_an_unknown_provider_is_refused_naming_the_choices():
    with pytest.raises(InvalidInput) as refused:
        parse_provider("gpt")
    assert refused.value.field == "provider" and "openai_compatible" in refused.value.message


texts = st.text(max_size=80)
numbers = st.integers(min_value=-5, max_value=20_000)


@st.composite
def any_settings(draw: st.DrawFn) -> GeneratorSettings:
    return GeneratorSettings(
        provider=draw(st.sampled_from(Provider)),
        base_url=draw(
            st.one_of(texts, st.builds(lambda s: f"https://{s}", texts), st.just(SERVER.base_url))
        ),
        model=draw(texts),
        api_key=draw(texts),
        api_version=draw(st.one_of(texts, st.just("2024-10-21"))),
        max_tries=draw(numbers),
        max_phrase_chars=draw(numbers),
        max_paragraph_chars=draw(numbers),
    )


@given(any_settings())
def test_every_setting_is_judged_without_raising_and_each_field_at_most_once(settings):
    found = problems(settings)
    assert all(isinstance(p, InvalidInput) and p.field and p.message for p in found)
    fields = [p.field for p in found]
    assert len(fields) == len(set(fields))


@given(any_settings())
def test_accepted_settings_obey_every_rule(settings):
    if problems(settings):
        return
    assert MAX_TRIES_RANGE[0] <= settings.max_tries <= MAX_TRIES_RANGE[1]
    assert PHRASE_CHARS_RANGE[0] <= settings.max_phrase_chars <= PHRASE_CHARS_RANGE[1]
    assert PARAGRAPH_CHARS_RANGE[0] <= settings.max_paragraph_chars <= PARAGRAPH_CHARS_RANGE[1]
    assert settings.max_phrase_chars <= settings.max_paragraph_chars
    if settings.provider.is_server:
        parts = urlsplit(settings.base_url)
        assert parts.scheme in ("http", "https") and parts.hostname
        assert settings.model.strip()
    if settings.provider is Provider.AZURE_OPENAI:
        assert settings.api_key and settings.api_version
