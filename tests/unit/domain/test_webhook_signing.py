"""Signing and checking webhook deliveries (Standard Webhooks style)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.webhook_signing import (
    BadSignature,
    format_secret,
    secret_key,
    sign,
    signed_headers,
    verify,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

secrets_ = st.binary(min_size=24, max_size=64).map(format_secret)
bodies = st.binary(max_size=2000)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=40)


@given(secrets_, ids, bodies)
def test_a_signed_delivery_verifies_with_its_secret(secret: str, msg_id: str, body: bytes) -> None:
    headers = signed_headers([secret], msg_id, NOW, body)
    verify(secret, headers, body, NOW)


@given(secrets_, secrets_, ids, bodies)
def test_another_secret_does_not_verify(one: str, other: str, msg_id: str, body: bytes) -> None:
    if secret_key(one) == secret_key(other):
        return
    headers = signed_headers([one], msg_id, NOW, body)
    with pytest.raises(BadSignature):
        verify(other, headers, body, NOW)


@given(secrets_, ids, bodies, st.binary(min_size=1, max_size=20))
def test_a_changed_body_does_not_verify(
    secret: str, msg_id: str, body: bytes, extra: bytes
) -> None:
    headers = signed_headers([secret], msg_id, NOW, body)
    with pytest.raises(BadSignature):
        verify(secret, headers, body + extra, NOW)


@given(secrets_, secrets_, ids, bodies)
def test_with_two_secrets_either_one_verifies(new: str, old: str, msg_id: str, body: bytes) -> None:
    headers = signed_headers([new, old], msg_id, NOW, body)
    assert len(headers["webhook-signature"].split()) == 2
    verify(new, headers, body, NOW)
    verify(old, headers, body, NOW)


def test_an_old_timestamp_is_refused_even_with_a_valid_signature() -> None:
    secret = format_secret(b"s" * 32)
    headers = signed_headers([secret], "msg_1", NOW, b"{}")
    verify(secret, headers, b"{}", NOW + timedelta(minutes=4))
    with pytest.raises(BadSignature, match="too far"):
        verify(secret, headers, b"{}", NOW + timedelta(minutes=6))


def test_the_signature_is_the_standard_webhooks_hmac() -> None:
    raw = b"0123456789abcdef0123456789abcdef"
    secret = format_secret(raw)
    assert secret.startswith("whsec_")
    expected = hmac.new(raw, b"msg_1.1772445600.{}", hashlib.sha256).digest()
    assert sign(secret, "msg_1", 1772445600, b"{}") == "v1," + base64.b64encode(expected).decode()


def test_missing_headers_and_short_secrets_are_errors() -> None:
    secret = format_secret(b"s" * 32)
    with pytest.raises(BadSignature, match="webhook-id"):
        verify(secret, {}, b"{}", NOW)
    with pytest.raises(ValueError):
        format_secret(b"short")
