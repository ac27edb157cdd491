"""The address a request came from, for throttling sign-in per address.

Without a proxy it is the TCP peer (``REMOTE_ADDR``); ``X-Forwarded-For`` is then the
client's own claim and ignored, or an attacker would pick a fresh address per attempt.
Behind ``SEQUENCER_PROXY_COUNT`` reverse proxies, each proxy appends the address it saw,
so the client is the entry that many places from the right: entries further left were
written by the client and are not trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    peer = request.META.get("REMOTE_ADDR") or None
    count = int(getattr(settings, "SEQUENCER_PROXY_COUNT", 0))
    if count <= 0:
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        return peer  # not sent through the expected proxies: the peer is all we know
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
