import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.peers.fault_proxy import DROP_AFTER_FORWARDING, Delay, FaultProxy, Reply


class Upstream:
    """An HTTP server that answers every request with what it received, and counts them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _echo(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.received.append((self.command, self.path, body))
                answer = json.dumps(
                    {
                        "method": self.command,
                        "path": self.path,
                        "body": body.decode(),
                        "auth": self.headers.get("Authorization"),
                    }
                ).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Upstream", "yes")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PATCH = do_DELETE = _echo

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


def test_requests_are_forwarded_as_they_came_and_recorded(proxy, upstream):
    answer = httpx.post(
        f"{proxy.url}/v1/things?x=1",
        content=b'{"a": 1}',
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    assert answer.status_code == 201
    assert answer.headers["X-Upstream"] == "yes"
    assert answer.json() == {
        "method": "POST",
        "path": "/v1/things?x=1",
        "body": '{"a": 1}',
        "auth": "Bearer t",
    }
    [recorded] = proxy.requests
    assert (recorded.method, recorded.path, recorded.query) == ("POST", "/v1/things", "x=1")
    assert recorded.json() == {"a": 1}
    assert (recorded.status, recorded.forwarded) == (201, True)


def test_a_scripted_reply_is_given_once_without_reaching_the_upstream(proxy, upstream):
    proxy.script(Reply(429, json={"error": "slow down"}, headers={"Retry-After": "17"}))
    first = httpx.get(f"{proxy.url}/a")
    second = httpx.get(f"{proxy.url}/a")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "17")
    assert first.json() == {"error": "slow down"}
    assert second.status_code == 200
    assert upstream.received == [("GET", "/a", b"")]


def test_a_script_applies_only_to_the_method_and_path_it_names(proxy, upstream):
    proxy.script(Reply(503), method="POST", path="/send", times=2)
    assert httpx.get(f"{proxy.url}/send").status_code == 200
    assert httpx.post(f"{proxy.url}/other").status_code == 201
    assert httpx.post(f"{proxy.url}/send").status_code == 503
    assert httpx.post(f"{proxy.url}/send?q=1").status_code == 503
    assert httpx.post(f"{proxy.url}/send").status_code == 201


def test_dropping_after_forwarding_leaves_the_client_without_an_answer(proxy, upstream):
    proxy.script(DROP_AFTER_FORWARDING)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{proxy.url}/send", content=b"hello")
    assert upstream.received == [("POST", "/send", b"hello")]
    assert proxy.requests[0].status is None


def test_a_delay_holds_the_upstream_answer_past_a_short_client_timeout(proxy, upstream):
    proxy.script(Delay(1.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{proxy.url}/slow", timeout=0.2)
    assert upstream.received == [("GET", "/slow", b"")]
