"""Where the keys that decrypt stored secrets come from, so a backup can carry them.

Mailbox passwords and OAuth tokens are encrypted with keys derived from the secret key
and ``SEQUENCER_ENCRYPTION_KEYS`` (:mod:`sequencer.crypto`). A database restored without
them holds ciphertext nobody can read, so every backup takes them along: the generated
``secret_key`` file of the data directory as a file, and keys given in the environment
by their variable's name and value (the environment is not something a restore can put
back, so the restore names the variables to set).

Nothing here reads Django settings: the caller passes the data directory and the
environment, so the same code serves the backup, the restore and the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sequencer.crypto import ENV_KEYS

SECRET_KEY_ENV = "SEQUENCER_SECRET_KEY"
SECRET_KEY_FILE = "secret_key"
KEY_VARIABLES = (SECRET_KEY_ENV, ENV_KEYS)


@dataclass(frozen=True)
class KeyMaterial:
    """The key files of the data directory and the key variables of the environment."""

    files: dict[str, bytes] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        """For the manifest and the report: each key, where it came from, and a
        fingerprint (the first 12 hex digits of its sha256) to compare without showing it."""
        found = {f"file {name}": fingerprint(data) for name, data in self.files.items()}
        found.update(
            {f"environment {name}": fingerprint(v.encode()) for name, v in self.environment.items()}
        )
        return found

    @property
    def empty(self) -> bool:
        return not self.files and not self.environment


def fingerprint(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:12]


def read_key_material(data_dir: Path, environ: Mapping[str, str]) -> KeyMaterial:
    """What :mod:`sequencer.config.settings` and :mod:`sequencer.crypto` read."""
    environment = {name: environ[name] for name in KEY_VARIABLES if environ.get(name)}
    files: dict[str, bytes] = {}
    path = data_dir / SECRET_KEY_FILE
    # The settings generate this file only when SEQUENCER_SECRET_KEY is unset; an old
    # file next to an environment key is kept too: values encrypted under it before the
    # key moved to the environment may still need it.
    if path.is_file():
        files[SECRET_KEY_FILE] = path.read_bytes()
    return KeyMaterial(files=files, environment=environment)
