"""Which URLs a webhook endpoint may have: http or https, a server name, nothing that
would leak a password into pages and logs. Whether this server may connect to that
host at all is :mod:`sequencer.netguard`'s decision, made when the endpoint is saved
and again before every attempt."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["MAX_URL_CHARS", "url_problem"]

MAX_URL_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXAMPLE = "https://hooks.example.com/sequencer"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook endpoint's URL, or None."""
    if not url:
        return f"Enter the URL that should receive the events, such as {_EXAMPLE}."
    if len(url) > MAX_URL_CHARS:
        return f"The URL is longer than {MAX_URL_CHARS} characters."
    if _CONTROL.search(url) or " " in url:
        return f"A URL has no spaces; enter one such as {_EXAMPLE}."
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
        host = parts.hostname
    except ValueError:
        return f"This is not a URL; enter one such as {_EXAMPLE}."
    del port
    if parts.scheme not in ("http", "https"):
        return f"Enter an http:// or https:// URL, such as {_EXAMPLE}."
    if not host:
        return f"The URL names no server; enter one such as {_EXAMPLE}."
    try:
        host.encode("idna")
    except UnicodeError:
        return f"The server name in the URL is not valid; enter one such as {_EXAMPLE}."
    if parts.username is not None or parts.password is not None:
        # The URL is shown on the settings page and in logs; deliveries prove who sent
        # them with their signature instead.
        return "Put no user name or password in the URL; check the signature instead."
    if parts.fragment:
        return "Leave out the #fragment: it is never sent to the server."
    return None
