"""``sequencer backup``: one archive with a consistent copy of the SQLite database and the
keys that decrypt the secrets in it.

The copy is made with SQLite's online backup API while workers keep sending. Its source
connection first opens a read transaction and keeps it for the whole copy: in WAL mode
that pins one snapshot, so the copy is the database as it was at that instant, however
many emails are sent meanwhile, and writers are never blocked. (Without the pinned
snapshot, SQLite restarts a paged backup each time another process writes, which under a
busy worker may never end.) The manifest's row counts are read in the same snapshot, so
they describe exactly what the copy holds, and the restore checks them.

The archive is a gzip'd tar, mode 0600 from its creation (it holds keys), written to a
temporary name next to the target and renamed into place when complete::

    manifest.json         format, version, migrations applied, rows per table, sha256s
    sequencer.sqlite3     the database
    keys/secret_key       the generated secret key, when the data directory has one
    keys/environment.json key variables set in the environment (name -> value), if any

On PostgreSQL the database is backed up with ``pg_dump`` (:func:`pg_dump_command`) and
``--keys-only`` writes an archive with the manifest and the keys alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sequencer.operations.key_material import KeyMaterial

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "sequencer.sqlite3"
KEYS_DIR = "keys"
ENVIRONMENT_KEYS = f"{KEYS_DIR}/environment.json"
# Pages copied per step of the backup API: small enough for a lively progress bar, large
# enough that the per-step overhead does not matter (4 MiB with 4 KiB pages).
PAGES_PER_STEP = 1024
# gzip's fastest level: at its default (9) compressing takes nine tenths of a backup's time
# (bench/bench_backup.py), and a database's text shrinks nearly as well at 1.
COMPRESS_LEVEL = 1

Progress = Callable[[int, int], None]  # (pages copied, pages in all)
Snapshot = Callable[[sqlite3.Connection], None]


class BackupRefused(Exception):
    """The backup cannot be made as asked; the message says what to do instead."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    manifest: dict[str, Any]


def _version() -> str:
    try:
        return importlib.metadata.version("sequencer")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Rows and the largest rowid of every table, in the connection's current snapshot."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    counts = {}
    for name in names:
        rows, max_rowid = conn.execute(f'SELECT count(*), max(rowid) FROM "{name}"').fetchone()
        counts[name] = {"rows": rows, "max_rowid": max_rowid or 0}
    return counts


def applied_migrations(conn: sqlite3.Connection) -> dict[str, str]:
    """Each app's most recent applied migration (by name, which Django numbers)."""
    try:
        rows = conn.execute("SELECT app, max(name) FROM django_migrations GROUP BY app").fetchall()
    except sqlite3.OperationalError:  # never migrated
        return {}
    return dict(sorted(rows))


def _manifest(
    database: dict[str, Any] | None, keys: KeyMaterial, members: dict[str, str], now: datetime
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "sequencer_version": _version(),
        "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "database": database,
        "keys": keys.describe(),
        "members": members,
    }


def _copy_database(
    source: Path,
    target: Path,
    progress: Progress | None,
    on_snapshot: Snapshot | None,
    pages: int,
) -> dict[str, Any]:
    """Copy ``source`` into the new file ``target`` as of one instant; what it holds."""
    # Read-only: the backup never writes to the live database, not even to create it.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None, timeout=20)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("BEGIN")
        # The first read starts the transaction's snapshot; everything below sees it.
        migrations = applied_migrations(src)
        counts = table_counts(src)
        if on_snapshot is not None:
            on_snapshot(src)

        def step(status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        src.backup(dst, pages=pages, progress=step)
        src.execute("COMMIT")
        # The copy is a standalone file: no -wal beside it, whatever the source used.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    return {"engine": "sqlite", "migrations": migrations, "tables": counts}


def _open_private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _write_archive(
    target: Path,
    files: dict[str, Path],
    blobs: dict[str, bytes],
    manifest: dict[str, Any],
    now: datetime,
) -> None:
    """Write the tar to a private temporary file beside ``target``, then rename it."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    fd = _open_private(tmp)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL) as tar,
        ):
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            _add_bytes(tar, MANIFEST, data, now)
            for name, path in files.items():
                tar.add(path, arcname=name, recursive=False, filter=_anonymous)
            for name, blob in blobs.items():
                _add_bytes(tar, name, blob, now)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.chmod(target, 0o600)


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Like the members written from memory: no owner of this machine in the archive.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(now.timestamp())
    tar.addfile(info, io.BytesIO(data))


def _key_blobs(keys: KeyMaterial) -> dict[str, bytes]:
    blobs = {f"{KEYS_DIR}/{name}": data for name, data in keys.files.items()}
    if keys.environment:
        blobs[ENVIRONMENT_KEYS] = json.dumps(keys.environment, indent=2).encode()
    return blobs


def _refuse_existing(target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise BackupRefused(f"{target} already exists: choose another name, or pass --force.")
    if target.is_dir():
        raise BackupRefused(f"{target} is a directory: give the archive's file name.")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} does not exist: create it first.")


def backup_sqlite(
    database: Path,
    target: Path,
    keys: KeyMaterial,
    *,
    now: datetime,
    force: bool = False,
    progress: Progress | None = None,
    on_snapshot: Snapshot | None = None,
    pages: int = PAGES_PER_STEP,
) -> BackupReport:
    """Back ``database`` and ``keys`` up into the archive ``target``.

    ``on_snapshot`` is called with the source connection inside the snapshot the copy is
    made of (the tests read the rows the copy must hold through it).
    """
    _refuse_existing(target, force)
    if not database.is_file() or database.stat().st_size == 0:
        raise BackupRefused(
            f"There is no database at {database}: nothing to back up (run `sequencer migrate`?)."
        )
    with tempfile.TemporaryDirectory(prefix="sequencer-backup-", dir=target.parent) as scratch:
        copy = Path(scratch) / DATABASE
        os.close(_open_private(copy))
        described = _copy_database(database, copy, progress, on_snapshot, pages)
        blobs = _key_blobs(keys)
        members = {DATABASE: _file_sha256(copy)} | {n: _sha256(b) for n, b in blobs.items()}
        manifest = _manifest(described, keys, members, now)
        _write_archive(target, {DATABASE: copy}, blobs, manifest, now)
    return BackupReport(target, manifest)


def backup_keys(
    target: Path, keys: KeyMaterial, *, now: datetime, force: bool = False
) -> BackupReport:
    """An archive of the keys alone (the database is backed up by other means)."""
    _refuse_existing(target, force)
    if keys.empty:
        raise BackupRefused("No key material found: neither a secret_key file nor key variables.")
    blobs = _key_blobs(keys)
    manifest = _manifest(None, keys, {n: _sha256(b) for n, b in blobs.items()}, now)
    _write_archive(target, {}, blobs, manifest, now)
    return BackupReport(target, manifest)


def pg_dump_command(database: Mapping[str, Any], target: str = "sequencer.pgdump") -> str:
    """The ``pg_dump`` command for a PostgreSQL database of Django's settings; the password
    is left out (pg_dump asks for it, or reads PGPASSWORD or ~/.pgpass)."""
    parts = ["pg_dump", "--format=custom"]
    if database.get("HOST"):
        parts.append(f"--host={database['HOST']}")
    if database.get("PORT"):
        parts.append(f"--port={database['PORT']}")
    if database.get("USER"):
        parts.append(f"--username={database['USER']}")
    parts += [f"--file={target}", str(database["NAME"])]
    return " ".join(parts)
