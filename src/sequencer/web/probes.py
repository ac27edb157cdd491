"""``/healthz`` and ``/readyz``: what a load balancer, Docker's HEALTHCHECK or Kubernetes'
probes call to know whether to send traffic here or restart the process.

They are answered by a middleware placed first, before everything that could turn them
into something else: the host check (a probe comes from the orchestrator with the pod's
address as Host, which ALLOWED_HOSTS rightly does not list), sessions (no cookie, no
session query), CSRF, sign-in and any HTTPS redirect. Nothing in the answer is built from
the request, so answering any Host is safe.

- ``/healthz``: the process answers. No query, no sign-in: a liveness probe that fails
  only when the process is stuck.
- ``/readyz``: the database answers, every migration is applied and a worker has
  reported recently (:mod:`sequencer.operations.readiness`); 503 names what to fix.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from sequencer.clock import system_clock
from sequencer.operations import readiness

# The headers the security and CSP middlewares would add, which this answer skips: a JSON
# body that loads nothing and must never be framed, sniffed or cached.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    result = readiness.check(connections[DEFAULT_DB_ALIAS], system_clock.now())
    return JsonResponse(result.as_json(), status=200 if result.ready else 503)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is None:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            response: HttpResponse = HttpResponseNotAllowed(["GET", "HEAD"])
        else:
            response = probe(request)
        for header, value in _HEADERS.items():
            response[header] = value
        # A not-ready answer is the probe working, not a server error: without this Django
        # would log "Service Unavailable" at ERROR every few seconds while, say, the worker
        # is stopped. The reason is in the answer; a database failure is logged once per
        # probe at WARNING by the readiness check.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
