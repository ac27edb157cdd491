"""The OpenAI-compatible provider against a real server: llama.cpp's server on 127.0.0.1
serving the same GGUF, started with an API key. And what it says when the server is
not there, refuses the key, is at the wrong address, never answers or answers nonsense:
always GenerationFailed with what to fix, never the key."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.ai.openai_compatible import OpenAICompatible
from sequencer.domain.chat import ChatMessage, GenerationRequest
from tests.integration.ai.conftest import SERVER_KEY
from tests.peers.llama_server import LlamaServer

pytestmark = pytest.mark.model

Client = Callable[..., OpenAICompatible]


@pytest.fixture
def client() -> Iterator[Client]:
    """Makes OpenAICompatible clients, and closes them (their connections) after the test."""
    made: list[OpenAICompatible] = []

    def make(*args: Any, **kwargs: Any) -> OpenAICompatible:
        made.append(OpenAICompatible(*args, **kwargs))
        return made[-1]

    yield make
    for generator in made:
        generator.close()


def ask(text: str, *, seed: int | None = 7, max_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest(
        messages=(
            ChatMessage("system", "You write short, friendly sales emails."),
            ChatMessage("user", text),
        ),
        max_tokens=max_tokens,
        seed=seed,
    )


def test_it_gets_a_real_answer_with_token_counts(client: Client, llama_server: LlamaServer) -> None:
    generator: TextGenerator = client(llama_server.base_url, llama_server.alias, api_key=SERVER_KEY)
    answer = generator.generate(ask("Write one sentence inviting Ann to a call."))
    assert answer.text.strip()
    assert answer.prompt_tokens > 10
    assert 0 < answer.completion_tokens <= 16
    assert answer.model == "smollm2"
    assert answer.seconds > 0


def test_a_base_url_without_v1_works_as_ollama_documents_it(
    client: Client, llama_server: LlamaServer
) -> None:
    bare = f"http://127.0.0.1:{llama_server.port}"
    generator = client(bare, llama_server.alias, api_key=SERVER_KEY)
    assert generator.url == f"{bare}/v1/chat/completions"
    assert generator.generate(ask("Say hello to Bob.", max_tokens=4)).completion_tokens > 0


def test_a_wrong_key_is_refused_and_the_message_never_shows_a_key(
    client: Client,
    llama_server: LlamaServer,
) -> None:
    wrong = "sk-wrong-0123456789abcdef"
    generator = client(llama_server.base_url, llama_server.alias, api_key=wrong)
    with pytest.raises(GenerationFailed) as failure:
        generator.generate(ask("Hello"))
    message = str(failure.value)
    assert "refused the API key" in message
    assert "the key in Settings → AI" in message
    assert "401" in message
    assert wrong not in message
    assert SERVER_KEY not in message


def test_no_key_for_a_server_that_wants_one_says_to_set_it(
    client: Client, llama_server: LlamaServer
) -> None:
    generator = client(llama_server.base_url, llama_server.alias)
    with pytest.raises(GenerationFailed, match="needs an API key; set one in Settings → AI"):
        generator.generate(ask("Hello"))


def test_a_wrong_path_is_a_404_naming_the_url_and_what_to_check(
    client: Client,
    llama_server: LlamaServer,
) -> None:
    base = f"http://127.0.0.1:{llama_server.port}/not-the-api"
    generator = client(base, llama_server.alias, api_key=SERVER_KEY)
    with pytest.raises(GenerationFailed) as failure:
        generator.generate(ask("Hello"))
    message = str(failure.value)
    assert f"{base}/chat/completions" in message
    assert "HTTP 404" in message
    assert "base URL in Settings → AI" in message


def test_nothing_listening_is_a_failure_naming_the_url(client: Client, closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    generator = client(base, "any", api_key="sk-secret-never-shown")
    with pytest.raises(GenerationFailed) as failure:
        generator.generate(ask("Hello"))
    message = str(failure.value)
    assert f"Could not connect to the AI server at {base}/chat/completions" in message
    assert "is it running" in message
    assert "sk-secret-never-shown" not in message


def test_a_server_that_never_answers_times_out_with_the_limit_named(
    client: Client, silent_port: int
) -> None:
    base = f"http://127.0.0.1:{silent_port}/v1"
    generator = client(base, "any", timeout=0.5)
    with pytest.raises(GenerationFailed, match=r"did not answer within 0\.5 seconds"):
        generator.generate(ask("Hello"))


class _Scripted(BaseHTTPRequestHandler):
    """Answers every POST with the status and body the test put on the server."""

    def do_POST(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[HTTPServer]:
    """A plain HTTP server on 127.0.0.1 that answers what the test tells it to."""
    server = HTTPServer(("127.0.0.1", 0), _Scripted)
    server.answer = (200, b"{}")  # type: ignore[attr-defined]
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _base(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.mark.parametrize(
    "body",
    [b"<html>a login page</html>", b'{"choices": []}', b'{"object": "list", "data": []}'],
)
def test_an_answer_that_is_not_a_chat_completion_is_a_failure(
    client: Client, odd_server: HTTPServer, body: bytes
) -> None:
    odd_server.answer = (200, body)  # type: ignore[attr-defined]
    generator = client(_base(odd_server), "m")
    with pytest.raises(GenerationFailed, match="not an OpenAI chat completion"):
        generator.generate(ask("Hello"))


def test_a_server_error_says_the_server_failed_and_quotes_it(
    client: Client, odd_server: HTTPServer
) -> None:
    odd_server.answer = (503, b'{"error": {"message": "model is overloaded"}}')  # type: ignore[attr-defined]
    generator = client(_base(odd_server), "m")
    with pytest.raises(GenerationFailed) as failure:
        generator.generate(ask("Hello"))
    assert "HTTP 503" in str(failure.value)
    assert "model is overloaded" in str(failure.value)
    assert "the server failed" in str(failure.value)


def test_a_server_that_echoes_the_key_in_its_error_does_not_leak_it(
    client: Client,
    odd_server: HTTPServer,
) -> None:
    key = "sk-echoed-in-the-error-1234"
    odd_server.answer = (  # type: ignore[attr-defined]
        401,
        b'{"error": {"message": "Incorrect API key provided: sk-echoed-in-the-error-1234"}}',
    )
    generator = client(_base(odd_server), "m", api_key=key)
    with pytest.raises(GenerationFailed) as failure:
        generator.generate(ask("Hello"))
    assert key not in str(failure.value)
    assert "[the API key]" in str(failure.value)


def test_azure_gets_the_key_in_api_key_and_the_version_in_the_query(
    client: Client,
    odd_server: HTTPServer,
) -> None:
    odd_server.answer = (  # type: ignore[attr-defined]
        200,
        b'{"model": "gpt-4o-mini", "choices": [{"message": {"role": "assistant",'
        b' "content": "Hi Ann"}}], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}',
    )
    base = f"http://127.0.0.1:{odd_server.server_address[1]}/openai/deployments/mini"
    generator = client(base, "mini", api_key="azure-key", azure_api_version="2024-10-21")
    answer = generator.generate(ask("Hello"))
    assert (answer.text, answer.model, answer.prompt_tokens, answer.completion_tokens) == (
        "Hi Ann",
        "gpt-4o-mini",
        9,
        2,
    )
    headers = {k.lower(): v for k, v in odd_server.seen[0].items()}  # type: ignore[attr-defined]
    assert headers["api-key"] == "azure-key"
    assert "authorization" not in headers
