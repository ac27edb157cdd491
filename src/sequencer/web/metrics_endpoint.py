"""``/metrics``: the Prometheus text, for a scraper holding ``SEQUENCER_METRICS_TOKEN``.

With no token configured the endpoint is off (404, saying how to turn it on), so a new
installation shows its figures to no one. The token is compared in constant time. An
admin who would rather not hand out a token binds the metrics to an address of their
choice instead (``SEQUENCER_METRICS_ADDRESS``, served by the worker; see
:mod:`sequencer.operations.metrics`).
"""

from __future__ import annotations

import hmac
import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sequencer.clock import system_clock
from sequencer.operations.metrics import scrape_registry

TOKEN_VARIABLE = "SEQUENCER_METRICS_TOKEN"


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _presented_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    expected = os.environ.get(TOKEN_VARIABLE, "")
    if not expected:
        return _text(
            404,
            f"Metrics are off. Set {TOKEN_VARIABLE} and scrape with "
            "'Authorization: Bearer <token>', or set SEQUENCER_METRICS_ADDRESS to serve "
            "them on an address of your choice.",
        )
    presented = _presented_token(request)
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        response = _text(401, "Send the metrics token as 'Authorization: Bearer <token>'.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(
        generate_latest(scrape_registry(system_clock)), content_type=CONTENT_TYPE_LATEST
    )
