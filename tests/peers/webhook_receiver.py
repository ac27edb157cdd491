"""A real HTTP server that receives webhooks, as a customer's system would.

It listens on 127.0.0.1 on a free port, keeps every request it gets (path, headers,
exact body) and answers with scripted statuses: ``answer(500)`` makes every request
get 500 until changed, ``queue(500, 503)`` makes the next two get those first. While
:meth:`hold` is on, each request waits inside the server (the client sees no answer)
until :meth:`release`; :attr:`holding` tells when one is waiting, so a test can act
while a receiver hangs without sleeping.

:meth:`verified` checks a received request's signature with
:func:`sequencer.domain.webhook_signing.verify`, as a receiver would.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sequencer.domain.webhook_signing import verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return str(self.json["type"])

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split()


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._status = 200
        self._body = b'{"ok":true}'
        self._queued: deque[int] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._release = threading.Event()
        self._release.set()
        self.holding = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = receiver._take(self.path, dict(self.headers.items()), body)
                if not receiver._release.is_set():
                    receiver.holding.set()
                    receiver._release.wait()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    # -- scripting -------------------------------------------------------------------

    def answer(self, status: int, body: bytes = b'{"ok":true}') -> None:
        """Answer every later request with ``status`` and ``body``."""
        with self._lock:
            self._status, self._body = status, body

    def queue(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order, then as before."""
        with self._lock:
            self._queued.extend(statuses)

    def hold(self) -> None:
        """Make each request wait without an answer until :meth:`release`."""
        self.holding.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._arrived:
            self.received.append(Received(path, lowered, body))
            self._arrived.notify_all()
            status = self._queued.popleft() if self._queued else self._status
            return status, self._body

    # -- reading ---------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Whether ``count`` requests have arrived within ``timeout`` seconds."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def of_type(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.type == kind]

    def types(self) -> list[str]:
        return [r.type for r in self.received]

    @staticmethod
    def verified(received: Received, secret: str, now: datetime) -> bool:
        """Whether ``received`` carries a valid signature by ``secret`` at ``now``."""
        try:
            verify(secret, received.headers, received.body, now)
        except ValueError:
            return False
        return True
