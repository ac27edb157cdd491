"""Other accounts on the machine cannot read the data directory or the SQLite database."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _migrate(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEQUENCER_SECRET_KEY"}}
    env["SEQUENCER_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.umask(0o022); from sequencer.cli import main; main()",
            "migrate",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_sequencer_migrate_keeps_the_data_dir_the_database_and_the_key_private(tmp_path):
    data_dir = tmp_path / "data"
    _migrate(data_dir)

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "sequencer.sqlite3") == 0o600
    assert _mode(data_dir / "secret_key") == 0o600

    # SQLite creates its write-ahead log and shared-memory index while a connection is
    # open, with the database file's mode; a permissive umask must not widen them.
    previous = os.umask(0o022)
    try:
        db = sqlite3.connect(data_dir / "sequencer.sqlite3")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE probe (x)")
        db.commit()
        for suffix in ("-wal", "-shm"):
            assert _mode(data_dir / f"sequencer.sqlite3{suffix}") == 0o600
        db.close()
    finally:
        os.umask(previous)


@pytest.mark.slow
def test_a_data_dir_left_readable_by_an_older_version_is_narrowed_at_start(tmp_path):
    data_dir = tmp_path / "data"
    _migrate(data_dir)
    data_dir.chmod(0o755)
    (data_dir / "sequencer.sqlite3").chmod(0o644)
    (data_dir / "secret_key").chmod(0o644)

    _migrate(data_dir)

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "sequencer.sqlite3") == 0o600
    assert _mode(data_dir / "secret_key") == 0o600
