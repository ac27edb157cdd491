"""How fast ``sequencer backup`` copies a SQLite database, and ``sequencer restore`` checks
and puts it back.

A 210 MB WAL-mode SQLite file of its own (a table of random 4 KiB blobs, 51,200 rows,
so that gzip cannot shrink it to nothing) is backed up with
:func:`sequencer.operations.backup.backup_sqlite` (its default pages per step, keys from
a throw-away secret) and restored with :func:`sequencer.operations.restore.restore`,
which checks the sha256s, ``PRAGMA integrity_check`` and the row counts. Each is timed
once on a file the page cache already holds (it was just written), so the figures are
about the work done, not the disk.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sequencer.operations.backup import backup_sqlite
from sequencer.operations.key_material import KeyMaterial
from sequencer.operations.restore import restore

ROWS = 51_200
BLOB = 4096
MEGABYTES = ROWS * BLOB / 1e6

FIGURES = {
    "backup_mb_per_second": (
        f"sequencer backup of a {MEGABYTES:.0f} MB SQLite database (online backup API, "
        "sha256, gzip'd tar)",
        "MB/s",
        None,
    ),
    "restore_mb_per_second": (
        "sequencer restore of the same (sha256 check, integrity_check, row counts)",
        "MB/s",
        None,
    ),
}


def _database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    conn.executemany(
        "INSERT INTO blobs (data) VALUES (?)", ((os.urandom(BLOB),) for _ in range(ROWS))
    )
    conn.commit()
    conn.close()


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sequencer-bench-backup-") as scratch:
        root = Path(scratch)
        database = root / "sequencer.sqlite3"
        _database(database)
        keys = KeyMaterial(files={"secret_key": b"bench-" + b"k" * 50})
        started = time.perf_counter()
        backup_sqlite(database, root / "backup.tgz", keys, now=datetime.now(UTC))
        backed_up = time.perf_counter() - started
        started = time.perf_counter()
        restore(root / "backup.tgz", root / "restored")
        restored = time.perf_counter() - started
    return {
        "backup_mb_per_second": MEGABYTES / backed_up,
        "restore_mb_per_second": MEGABYTES / restored,
    }
