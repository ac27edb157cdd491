"""Settings that follow from how browsers reach Sequencer: the base URL's scheme, proxies.

Pure functions of the configured values, so that tests can check what an https or an
http deployment gets without restarting Django.
"""

from __future__ import annotations

from typing import Any

# One year: long enough to matter (RFC 6797 §11.2), and what browsers' preload lists ask.
HSTS_SECONDS = 365 * 24 * 3600


def https_settings(base_url: str, proxy_count: int) -> dict[str, Any]:
    """Cookie flags, HSTS and proxy trust for a deployment at ``base_url``.

    Over https, the session and CSRF cookies are marked ``Secure`` (never sent over plain
    http, where anyone on the path could read them) and browsers are told to use https
    only (HSTS). Subdomains are left out: a self-hoster's other hosts may still be http.

    Behind ``proxy_count`` reverse proxies the TLS connection ends at the proxy, so Django
    learns the scheme from the proxy's ``X-Forwarded-Proto``; without a proxy that header
    comes from the client and is ignored.
    """
    https = base_url.lower().startswith("https://")
    values: dict[str, Any] = {
        "SESSION_COOKIE_SECURE": https,
        "CSRF_COOKIE_SECURE": https,
        "SECURE_HSTS_SECONDS": HSTS_SECONDS if https else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": (
            ("HTTP_X_FORWARDED_PROTO", "https") if proxy_count > 0 else None
        ),
    }
    return values
