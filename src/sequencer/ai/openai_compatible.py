"""Any server that speaks OpenAI's chat completions API: OpenAI, Azure OpenAI, Ollama,
llama.cpp's server, vLLM, LM Studio, OpenRouter and the like.

The server is the one an admin configures (Settings → AI), not one a
member types in, so ``netguard`` does not apply: a model server on the same host
(Ollama on 127.0.0.1:11434) is the common self-hosted setup.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from sequencer.ai.generator import GenerationFailed
from sequencer.domain.chat import Generation, GenerationRequest


def chat_completions_url(base_url: str) -> str:
    """The chat completions endpoint for a base URL written the way providers document it.

    ``https://api.openai.com/v1``, ``http://127.0.0.1:11434`` (Ollama, no ``/v1``) and
    the full ``.../v1/chat/completions`` all work: a bare host gets ``/v1``.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path.removesuffix("/chat/completions")
    elif not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/chat/completions", "", ""))


def _shown(url: str) -> str:
    """``url`` without any user:password part, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenAICompatible:
    """A :class:`~sequencer.ai.generator.TextGenerator` over ``POST {base}/chat/completions``.

    With ``azure_api_version`` set, the base URL is an Azure OpenAI deployment
    (``https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT``), the key goes in
    the ``api-key`` header and the version in the ``api-version`` query parameter, as
    Azure documents; otherwise the key is a Bearer token (RFC 6750, section 2.1).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        azure_api_version: str = "",
    ) -> None:
        if azure_api_version:
            scheme, netloc, path, _, _ = urlsplit(base_url.strip())
            if scheme not in {"http", "https"} or not netloc:
                raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
            path = path.rstrip("/").removesuffix("/chat/completions")
            self._url = urlunsplit((scheme, netloc, f"{path}/chat/completions", "", ""))
            params = {"api-version": azure_api_version}
            headers = {"api-key": api_key} if api_key else {}
        else:
            self._url = chat_completions_url(base_url)
            params = {}
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model
        self._key = api_key
        self._timeout = timeout
        # httpx.Client is safe to share between threads and keeps connections open.
        self._client = httpx.Client(
            headers=headers, params=params, timeout=timeout, follow_redirects=False
        )

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def url(self) -> str:
        return _shown(self._url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatible:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _failed(self, message: str) -> GenerationFailed:
        if self._key:  # never hand the key to a log, a page or an exception
            message = message.replace(self._key, "[the API key]")
        return GenerationFailed(message)

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": False,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        return body

    def generate(self, request: GenerationRequest) -> Generation:
        started = time.perf_counter()
        try:
            response = self._client.post(self._url, json=self._body(request))
        except httpx.TimeoutException as error:
            raise self._failed(
                f"The AI server at {self.url} did not answer within {self._timeout:g} "
                "seconds: is it overloaded, or is the model still loading? "
                "(SEQUENCER_AI_TIMEOUT sets the limit.)"
            ) from error
        except httpx.ConnectError as error:
            raise self._failed(
                f"Could not connect to the AI server at {self.url} ({error}): is it running, "
                "and is the base URL in Settings → AI right?"
            ) from error
        except httpx.HTTPError as error:
            raise self._failed(
                f"The connection to the AI server at {self.url} failed ({error})."
            ) from error
        if response.status_code != 200:
            raise self._failed(self._refusal(response))
        try:
            answer = response.json()
            text = answer["choices"][0]["message"]["content"] or ""
            if not isinstance(text, str):
                raise TypeError("content is not text")
            usage = answer.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
            raise self._failed(
                f"The AI server at {self.url} answered with something that is not an "
                f"OpenAI chat completion ({type(error).__name__}: {error}): is "
                "the base URL in Settings → AI the server's API address?"
            ) from error
        return Generation(
            text=text,
            model=str(answer.get("model") or self._model),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=time.perf_counter() - started,
        )

    def _refusal(self, response: httpx.Response) -> str:
        status = response.status_code
        said = _server_message(response)
        where = f"The AI server at {self.url} answered HTTP {status}"
        if status in {401, 403}:
            if not self._key:
                return f"{where}{said}: it needs an API key; set one in Settings → AI."
            return f"{where}{said}: it refused the API key; check the key in Settings → AI."
        if status == 404:
            return (
                f"{where}{said}: the model {self._model!r} or the address is unknown there; "
                "check the model and base URL in Settings → AI."
            )
        if status == 429:
            return f"{where}{said}: too many requests or the quota is used up; try again later."
        if status >= 500:
            return f"{where}{said}: the server failed; see its logs, then try again."
        return f"{where}{said}."


def _server_message(response: httpx.Response) -> str:
    """The error text an OpenAI-style server put in its answer, shortened, or ''."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        text = response.text.strip()
    else:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            text = str(error.get("message") or "")
        elif error:
            text = str(error)
        else:
            text = str(body.get("detail") or "") if isinstance(body, dict) else ""
    text = " ".join(text.split())[:200]
    return f' ("{text}")' if text else ""
