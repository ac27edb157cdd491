"""Secrets at rest: mailbox passwords and OAuth tokens are stored encrypted.

Fernet (AES-128-CBC with HMAC-SHA256, a random IV per value) keeps a stolen database
dump from leaking working credentials. The keys are derived with HKDF (RFC 5869) from
secrets the operator already keeps, so there is no separate key file to lose:

* ``SEQUENCER_ENCRYPTION_KEYS`` (optional): comma-separated secrets of any length. The
  first encrypts; every one of them decrypts. To rotate, put a new secret first, keep the
  old ones after it until :func:`reencrypt` has rewritten every value.
* ``settings.SECRET_KEY``: always tried last, so values written before encryption keys
  were configured stay readable.

A secret is never written to a log or an API answer; only ciphertext reaches the
database (``tests/unit/test_crypto.py`` reads the raw column to prove it).
"""

from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

ENV_KEYS = "SEQUENCER_ENCRYPTION_KEYS"

# Fixed, public HKDF parameters: the salt separates these keys from any other use of the
# same secret (Django signs sessions with SECRET_KEY too); ``info`` names the purpose and
# version, so a future scheme can derive different keys from the same secret.
_SALT = b"sequencer/secrets-at-rest"
_INFO = b"fernet-v1"


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


def _derive(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=8)
def _fernet(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_derive(s) for s in secrets])


def _configured_secrets() -> tuple[str, ...]:
    extra = [k.strip() for k in os.environ.get(ENV_KEYS, "").split(",") if k.strip()]
    found: list[str] = []
    for secret in [*extra, str(settings.SECRET_KEY)]:
        if secret not in found:
            found.append(secret)
    return tuple(found)


def _keys() -> MultiFernet:
    # Read on every call (cheap; the derivation is cached) so that a test or an operator
    # changing the environment is honoured without a restart of the interpreter.
    return _fernet(_configured_secrets())


def encrypt(plaintext: str) -> str:
    """Ciphertext of ``plaintext`` under the first configured key (ASCII, URL-safe)."""
    return _keys().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _keys().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys. Restore the "
            "previous SEQUENCER_SECRET_KEY, or add it to SEQUENCER_ENCRYPTION_KEYS (after the "
            "new key), then reconnect the mailbox."
        ) from None


def reencrypt(ciphertext: str) -> str:
    """The same secret encrypted under the current first key (for key rotation)."""
    try:
        return _keys().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("A stored secret cannot be decrypted for rotation.") from None


class EncryptedTextField(models.TextField):
    """A text column whose value is stored as Fernet ciphertext.

    The Python value is the plaintext; ``None`` is stored as SQL NULL. Because each
    encryption uses a fresh IV, the column cannot be searched or compared in SQL.
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return decrypt(value)


class EncryptedJSONField(models.Field):
    """A JSON value (dict, list, ...) serialised and stored as Fernet ciphertext."""

    description = "JSON encrypted at rest"

    def get_internal_type(self) -> str:
        return "TextField"

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        # Forms and deserialisation hand over either the decoded value or its JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
