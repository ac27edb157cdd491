"""An HTTP proxy in front of one upstream server, for the failures the upstream never has.

It listens on a free loopback port, forwards every request to the upstream as it came
(method, path, query, headers, body) and the answer back, and records both. A test
scripts what the next matching request gets instead::

    proxy.script(Reply(429, headers={"Retry-After": "17"}, json={...}))   # answer itself
    proxy.script(Reply(401), method="GET", path="/v1.0/me", times=2)
    proxy.script(Reply(503), path=re.compile(r"/v1.0/me/messages/[^/]+/send"))
    proxy.script(DROP_AFTER_FORWARDING, method="POST")  # upstream acts; client hears nothing
    proxy.script(Delay(2.0))                            # forward, then answer 2 s late
    proxy.script(Compute(answer), method="GET", path="/search", times=5)

Scripts are used in the order given, each for ``times`` matching requests (``path`` is
the exact path without the query, or a pattern the whole path must match); requests that
match none are forwarded. ``Reply`` never reaches the upstream, so it shows what
the client does with an answer the upstream would not give (a 429, a 401 for a token it
would accept). ``Compute`` answers with what a function makes of the request and the
upstream's own data: a stand-in for one endpoint the upstream gets wrong (see
``tests/peers/gmail_search.py``), so the client's real query decides the answer.
"""

from __future__ import annotations

import json as jsonlib
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "host",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)


@dataclass(frozen=True)
class Reply:
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        if self.json is None:
            return self.body, dict(self.headers)
        return jsonlib.dumps(self.json).encode(), {
            "Content-Type": "application/json",
            **self.headers,
        }


@dataclass(frozen=True)
class Delay:
    seconds: float


DROP_AFTER_FORWARDING = "drop the connection after the upstream answered"


@dataclass(frozen=True)
class Compute:
    """Answer with ``answer(request, upstream)``; ``upstream`` is a client for the
    upstream's base URL, for reading its data."""

    answer: Callable[[Recorded, httpx.Client], Reply]


Action = Reply | Delay | Compute | str


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the client got; None when the connection was dropped
    forwarded: bool = False

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class _Script:
    action: Action
    method: str | None
    path: str | re.Pattern[str] | None
    times: int

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, method):
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return self.path in (None, path)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[Recorded] = []
        self._scripts: list[_Script] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=self.upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------

    def script(
        self,
        action: Action,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` with
        ``action``."""
        with self._lock:
            self._scripts.append(_Script(action, method, path, times))

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _take(self, method: str, path: str) -> Action | None:
        with self._lock:
            for script in self._scripts:
                if script.matches(method, path):
                    script.times -= 1
                    if script.times <= 0:
                        self._scripts.remove(script)
                    return script.action
        return None

    # -- serving -------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        record = Recorded(
            method=handler.command,
            path=parts.path,
            query=parts.query,
            headers={k: v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(record)
        action = self._take(record.method, record.path)
        if isinstance(action, Compute):
            action = action.answer(record, self._client)
        if isinstance(action, Reply):
            content, headers = action.encoded()
            self._answer(handler, record, action.status, headers, content)
            return
        upstream = self._client.request(
            record.method,
            handler.path,
            content=body,
            headers={k: v for k, v in record.headers.items() if k.lower() not in _HOP_BY_HOP},
        )
        record.forwarded = True
        if action == DROP_AFTER_FORWARDING:
            # Close without a byte of answer: for the client the request went out and the
            # connection broke before the server said anything.
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(action, Delay):
            time.sleep(action.seconds)
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        self._answer(handler, record, upstream.status_code, headers, upstream.content)

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        record: Recorded,
        status: int,
        headers: dict[str, str],
        content: bytes,
    ) -> None:
        # Recorded first: the client may read the answer before this thread goes on.
        record.status = status
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(content)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(content)
        except OSError:
            record.status = None  # the client gave up waiting (a Delay past its timeout)
        handler.close_connection = True
