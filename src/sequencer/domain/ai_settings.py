"""The workspace's AI configuration: which model writes text, and how much it may write.

An admin chooses the model once for the whole workspace:

* the **local model**, built in: a small model that runs on this
  server, with no network and no key (the default, so AI works offline from the start);
* an **OpenAI-compatible server**: any server answering ``POST {base}/chat/completions``
  as OpenAI's API does (a hosted service, vLLM, llama.cpp's server, Ollama...), with a
  model name and, when the server wants one, an API key;
* **Azure OpenAI**: the same API under Azure's addressing, where the model is the
  deployment's name and every call names an ``api-version``.

This module holds the values and the rules they obey; no storage, no I/O. The service
(:mod:`sequencer.workspace.ai_settings`) stores them, with the key encrypted at rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, urlsplit

from sequencer.domain.errors import InvalidInput


class Provider(StrEnum):
    LOCAL = "local"
    OPENAI_COMPATIBLE = "openai_compatible"
    AZURE_OPENAI = "azure_openai"

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self]

    @property
    def is_server(self) -> bool:
        return self is not Provider.LOCAL


PROVIDER_LABELS = {
    Provider.LOCAL: "Local model, built in",
    Provider.OPENAI_COMPATIBLE: "OpenAI-compatible server",
    Provider.AZURE_OPENAI: "Azure OpenAI",
}

# The defaults hold the amounts the slot rules were first written with (a phrase is a
# line, a paragraph a short block); a retry asks the model again with a new seed.
DEFAULT_MAX_TRIES = 3
DEFAULT_MAX_PHRASE_CHARS = 120
DEFAULT_MAX_PARAGRAPH_CHARS = 600

# What an admin may set, inclusive.
MAX_TRIES_RANGE = (1, 10)
PHRASE_CHARS_RANGE = (20, 1_000)
# The judge reads at most ai_answer.RAW_LIMIT characters of an answer.
PARAGRAPH_CHARS_RANGE = (50, 4_000)
MAX_URL_CHARS = 500
MAX_MODEL_CHARS = 200
MAX_KEY_CHARS = 1_000
# Azure's versions are dates, some with a suffix: 2024-10-21, 2025-01-01-preview.
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-[a-z0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything needed to build the configured :class:`~sequencer.ai.generator.TextGenerator`
    and to bound what it writes."""

    provider: Provider = Provider.LOCAL
    base_url: str = ""
    model: str = ""
    # The plaintext key, only ever in memory; kept out of ``repr`` so that a log line or a
    # traceback showing these settings does not show the key.
    api_key: str = field(default="", repr=False)
    api_version: str = ""
    max_tries: int = DEFAULT_MAX_TRIES
    max_phrase_chars: int = DEFAULT_MAX_PHRASE_CHARS
    max_paragraph_chars: int = DEFAULT_MAX_PARAGRAPH_CHARS

    @property
    def chat_completions_url(self) -> str:
        """Where a server provider is asked (empty for the local model).

        OpenAI-compatible servers are given the API's base, as their clients are
        (``https://host/v1``); Azure addresses a deployment and names the API version.
        """
        base = self.base_url.rstrip("/")
        if self.provider is Provider.OPENAI_COMPATIBLE:
            return f"{base}/chat/completions"
        if self.provider is Provider.AZURE_OPENAI:
            return (
                f"{base}/openai/deployments/{quote(self.model, safe='')}/chat/completions"
                f"?api-version={self.api_version}"
            )
        return ""


def parse_provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        choices = ", ".join(p.value for p in Provider)
        raise InvalidInput(
            f"Choose the provider: one of {choices}.", field="provider", code="invalid_choice"
        ) from None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL, or None."""
    if len(url) > MAX_URL_CHARS:
        return f"The URL is longer than {MAX_URL_CHARS} characters."
    if _CONTROL.search(url) or " " in url:
        return "A URL has no spaces; enter one such as https://api.example.com/v1."
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return "This is not a URL; enter one such as https://api.example.com/v1."
    del port
    if parts.scheme not in ("http", "https"):
        return "Enter an http:// or https:// URL, such as https://api.example.com/v1."
    if not parts.hostname:
        return "The URL names no server; enter one such as https://api.example.com/v1."
    if parts.username is not None or parts.password is not None:
        # A key in the URL would be shown on the page and written to logs: it has its
        # own field, stored encrypted.
        return "Put no user name or password in the URL; enter the key in API key."
    if parts.query or parts.fragment:
        return "Enter the base URL only, without ?query or #fragment."
    return None


def problems(settings: GeneratorSettings) -> list[InvalidInput]:
    """Every reason ``settings`` cannot be saved, one per field, in the page's order."""
    found: list[InvalidInput] = []
    server = settings.provider.is_server
    label = settings.provider.label
    if settings.base_url:
        problem = url_problem(settings.base_url)
        if problem:
            found.append(InvalidInput(problem, field="base_url", code="invalid_url"))
    elif server:
        found.append(
            InvalidInput(
                f"Enter the base URL of the {label}, such as https://api.example.com/v1.",
                field="base_url",
                code="required",
            )
        )
    model = settings.model
    if len(model) > MAX_MODEL_CHARS or _CONTROL.search(model) or model != model.strip():
        found.append(
            InvalidInput(
                f"A model name is one line of at most {MAX_MODEL_CHARS} characters.",
                field="model",
                code="invalid",
            )
        )
    elif server and not model:
        what = "deployment" if settings.provider is Provider.AZURE_OPENAI else "model"
        found.append(
            InvalidInput(
                f"Enter the name of the {what} the server should use.",
                field="model",
                code="required",
            )
        )
    key = settings.api_key
    if len(key) > MAX_KEY_CHARS or _CONTROL.search(key) or " " in key:
        found.append(
            InvalidInput(
                f"An API key is one word of at most {MAX_KEY_CHARS} characters, without spaces.",
                field="api_key",
                code="invalid",
            )
        )
    elif settings.provider is Provider.AZURE_OPENAI and not key:
        found.append(
            InvalidInput("Azure OpenAI needs an API key.", field="api_key", code="required")
        )
    if settings.api_version and not _API_VERSION.fullmatch(settings.api_version):
        found.append(
            InvalidInput(
                "An API version is a date, such as 2024-10-21 or 2025-01-01-preview.",
                field="api_version",
                code="invalid",
            )
        )
    elif settings.provider is Provider.AZURE_OPENAI and not settings.api_version:
        found.append(
            InvalidInput(
                "Azure OpenAI needs an API version, such as 2024-10-21.",
                field="api_version",
                code="required",
            )
        )
    found += _range_problems(settings)
    return found


def _range_problems(settings: GeneratorSettings) -> list[InvalidInput]:
    found = []
    for name, (low, high), what in (
        ("max_tries", MAX_TRIES_RANGE, "tries"),
        ("max_phrase_chars", PHRASE_CHARS_RANGE, "characters"),
        ("max_paragraph_chars", PARAGRAPH_CHARS_RANGE, "characters"),
    ):
        value = getattr(settings, name)
        if not low <= value <= high:
            found.append(
                InvalidInput(
                    f"Enter a whole number of {what} from {low} to {high:,}.",
                    field=name,
                    code="out_of_range",
                )
            )
    if (
        not any(p.field in ("max_phrase_chars", "max_paragraph_chars") for p in found)
        and settings.max_paragraph_chars < settings.max_phrase_chars
    ):
        found.append(
            InvalidInput(
                "A paragraph may hold at least as many characters as a phrase.",
                field="max_paragraph_chars",
                code="out_of_range",
            )
        )
    return found
