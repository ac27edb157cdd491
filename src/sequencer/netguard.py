"""Which hosts a member's mailbox or calendar settings may make this server connect to.

A connection test reports what the server at a host and port answered, so without a
rule any member could use Sequencer to probe the machines around it: the database, an
admin panel on localhost, a cloud metadata service at 169.254.169.254. With
``SEQUENCER_BLOCK_PRIVATE_HOSTS`` on, a host is refused when any address it resolves to
is not globally reachable (loopback, private, link-local, shared, reserved, multicast or
unspecified; RFC 6890's special-purpose registries, as Python's ``ipaddress`` knows
them). Every address counts, not only the first: a name with one public and one private
address could otherwise be pointed at the private one.

The setting is off by default, because a mail server on the same host or network is a
common self-hosted setup. This checks names when the connection is set up; a name whose
answers change between the check and the connection (DNS rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class BlockedHost(ConnectionError):
    """Connecting to this host is not allowed here; the message says why, for people."""


def check(host: str, port: int | None = None) -> None:
    """Raise :class:`BlockedHost` when :func:`refusal` refuses ``host``."""
    if reason := refusal(host, port):
        raise BlockedHost(reason)


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    return not address.is_global or address.is_multicast


def _addresses(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # the connection fails on its own, with the resolver's message
    found = []
    for *_, sockaddr in answers:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0").
        found.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    return found


def refusal(host: str, port: int | None = None) -> str | None:
    """Why connecting to ``host`` is not allowed here, or None when it is."""
    if not settings.SEQUENCER_BLOCK_PRIVATE_HOSTS or not host:
        return None
    for address in _addresses(host, port):
        if _blocked(address):
            where = host if str(address) == host.strip("[]") else f"{host} ({address})"
            return (
                f"{where} is a loopback, private or reserved address, and this server's "
                "administrator does not allow connections to such addresses "
                "(SEQUENCER_BLOCK_PRIVATE_HOSTS). Use the server's public host name."
            )
    return None


def url_refusal(url: str) -> str | None:
    """:func:`refusal` for the host of ``url``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return refusal(parts.hostname or "", port)
