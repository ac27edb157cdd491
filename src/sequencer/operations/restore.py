"""``sequencer restore``: put a backup archive back into an empty data directory.

Only an empty (or missing) directory is accepted, so a restore can never mix two
installations or overwrite a live database. Every member is checked against the sha256
the manifest recorded, the database with ``PRAGMA integrity_check`` and against the
manifest's row counts; only then is anything left in the directory. When a check fails,
what was written is removed again and the directory is as it was.

Members are read by name, never extracted wholesale: an archive cannot write outside the
directory, whatever its paths say.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sequencer.operations.backup import (
    DATABASE,
    ENVIRONMENT_KEYS,
    FORMAT,
    KEYS_DIR,
    MANIFEST,
    table_counts,
)
from sequencer.operations.key_material import SECRET_KEY_FILE

STAGING = ".restoring"
# Where each member goes in the data directory (None: read, not placed).
PLACES: dict[str, str | None] = {
    DATABASE: DATABASE,
    f"{KEYS_DIR}/{SECRET_KEY_FILE}": SECRET_KEY_FILE,
    ENVIRONMENT_KEYS: None,
}
KNOWN_MEMBERS = frozenset(PLACES)


class RestoreRefused(Exception):
    """The archive cannot be restored here; the message says why and what to do."""


@dataclass
class RestoreReport:
    data_dir: Path
    manifest: dict[str, Any]
    restored: list[str] = field(default_factory=list)
    # Key variables the archive holds that the environment must provide again.
    environment_keys: dict[str, str] = field(default_factory=dict)


def _copy_checked(source: IO[bytes], target: Path, expected: str, name: str) -> None:
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != expected:
        raise RestoreRefused(
            f"{name} in the archive does not match its sha256 in the manifest: the archive "
            "is damaged; nothing was restored."
        )


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        raise RestoreRefused(f"No {MANIFEST} in the archive: not a Sequencer backup.") from None
    if member is None:
        raise RestoreRefused(f"{MANIFEST} in the archive is not a file.")
    manifest: dict[str, Any] = json.load(member)
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(
            f"The archive's format is {manifest.get('format')!r}; this version reads {FORMAT}."
        )
    return manifest


def _check_database(path: Path, expected: dict[str, Any]) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise RestoreRefused(
                "The database in the archive fails SQLite's integrity check: "
                + "; ".join(problems[:5])
            )
        found = table_counts(conn)
    finally:
        conn.close()
    if found != expected["tables"]:
        differ = sorted(
            name
            for name in set(found) | set(expected["tables"])
            if found.get(name) != expected["tables"].get(name)
        )
        raise RestoreRefused(
            f"The restored database does not hold the rows the manifest counted: {differ[:5]}."
        )


def _refuse_non_empty(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise RestoreRefused(f"{data_dir} is not a directory.")
    if data_dir.is_dir():
        present = sorted(p.name for p in data_dir.iterdir())
        if present:
            shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
            raise RestoreRefused(
                f"{data_dir} is not empty (it holds {shown}). Restore only into an empty "
                "data directory: move these away or choose another SEQUENCER_DATA_DIR."
            )


def restore(archive: Path, data_dir: Path) -> RestoreReport:
    """Restore ``archive`` into ``data_dir``, which must be empty or missing."""
    _refuse_non_empty(data_dir)
    if not archive.is_file():
        raise RestoreRefused(f"{archive} is not a file.")
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    staging = data_dir / STAGING
    staging.mkdir(mode=0o700)
    try:
        report = _restore_into(archive, data_dir, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                data_dir.rmdir()
        raise
    staging.rmdir()
    return report


def _restore_into(archive: Path, data_dir: Path, staging: Path) -> RestoreReport:
    try:
        tar = tarfile.open(archive, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except tarfile.TarError as exc:
        raise RestoreRefused(f"{archive} is not a backup archive: {exc}") from None
    with tar:
        manifest = _read_manifest(tar)
        members: dict[str, str] = manifest.get("members", {})
        staged: dict[str, Path] = {}
        environment: dict[str, str] = {}
        present = set(tar.getnames())
        for name, expected in members.items():
            if name not in KNOWN_MEMBERS:
                raise RestoreRefused(f"The archive lists {name!r}, which no backup holds.")
            source = tar.extractfile(name) if name in present else None
            if source is None:
                raise RestoreRefused(
                    f"{name}, listed in the manifest, is missing from the archive."
                )
            target = staging / name.replace("/", "_")  # a known name: no path escapes
            _copy_checked(source, target, expected, name)
            staged[name] = target
    # A --keys-only archive has no database (on PostgreSQL, pg_dump backs it up).
    if manifest.get("database") is not None:
        if DATABASE not in staged:
            raise RestoreRefused(f"The manifest describes a database but lists no {DATABASE}.")
        _check_database(staged[DATABASE], manifest["database"])
    if ENVIRONMENT_KEYS in staged:
        environment = json.loads(staged.pop(ENVIRONMENT_KEYS).read_text())
    report = RestoreReport(data_dir, manifest, environment_keys=environment)
    # Everything checked: move the files to their places (same directory, so atomic).
    for name, path in staged.items():
        final = PLACES[name]
        if final is None:
            continue
        os.replace(path, data_dir / final)
        report.restored.append(final)
    for leftover in staging.iterdir():
        leftover.unlink()
    return report
