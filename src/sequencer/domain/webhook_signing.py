"""Signing webhook deliveries the Standard Webhooks way, and checking a signature.

A receiver learns that a delivery is ours and unaltered from three headers:

- ``webhook-id``: the event's id (``msg_…``), the same on every retry, so a receiver
  can ignore one it already handled;
- ``webhook-timestamp``: the attempt's time in whole seconds since the epoch, so a
  receiver can refuse old messages replayed by someone who captured one;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``
  under the endpoint's secret, several space-separated when more than one secret signs
  (during the day after a rotation both the new and the previous secret do, so a
  receiver may switch to the new one whenever it likes).

A secret is ``whsec_`` followed by the base64 of random bytes; the bytes are the HMAC
key. Nothing here reads a clock or draws randomness: the caller passes both in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

__all__ = [
    "PREFIX",
    "SECRET_BYTES",
    "TOLERANCE",
    "BadSignature",
    "format_secret",
    "secret_key",
    "sign",
    "signature_header",
    "signed_headers",
    "verify",
]

PREFIX = "whsec_"
SECRET_BYTES = 32
# How far a delivery's timestamp may be from the receiver's clock (the spec's default).
TOLERANCE = timedelta(minutes=5)
_VERSION = "v1"


class BadSignature(ValueError):
    """The delivery is not proven to come from the holder of the secret; says why."""


def format_secret(random_bytes: bytes) -> str:
    """A secret as receivers store it, made from 24 to 64 random bytes."""
    if not 24 <= len(random_bytes) <= 64:
        raise ValueError("a webhook secret needs 24 to 64 random bytes")
    return PREFIX + base64.b64encode(random_bytes).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for."""
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None


def _content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature, ``v1,<base64>``."""
    digest = hmac.new(secret_key(secret), _content(msg_id, timestamp, body), hashlib.sha256)
    return f"{_VERSION},{base64.b64encode(digest.digest()).decode('ascii')}"


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    signatures = [sign(s, msg_id, timestamp, body) for s in secrets]
    if not signatures:
        raise ValueError("a delivery is signed with at least one secret")
    return " ".join(signatures)


def signed_headers(
    secrets: Iterable[str], msg_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The three headers of a delivery sent at ``at``."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise BadSignature(f"the {name} header is missing")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> None:
    """Raise :class:`BadSignature` unless one of the signatures in ``headers`` is
    ``secret``'s over this id, timestamp and ``body``, with a timestamp within
    ``tolerance`` of ``now`` (the receiver's side, for tests and for documentation)."""
    msg_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise BadSignature("the webhook-timestamp header is not a number") from None
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise BadSignature("the webhook-timestamp is too far from now (a replay?)")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in _header(headers, "webhook-signature").split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise BadSignature("no signature matches the secret")
