"""Other accounts on the machine cannot read the data directory or the SQLite database."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory made by ``sequencer migrate`` from nothing, as the first start
    makes it (one migration run, about ten seconds, shared by the tests below)."""
    data_dir = tmp_path_factory.mktemp("private-files") / "data"
    _migrate(data_dir)
    return data_dir


@pytest.mark.slow
def test_sequencer_migrate_keeps_the_data_dir_the_database_and_the_key_private(migrated, tmp_path):
    assert _mode(migrated) == 0o700
    assert _mode(migrated / "sequencer.sqlite3") == 0o600
    assert _mode(migrated / "secret_key") == 0o600

    # On a copy (copytree keeps the modes), so that the shared directory stays as
    # migrate left it for the next test.
    data_dir = tmp_path / "data"
    shutil.copytree(migrated, data_dir)
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
def test_a_data_dir_left_readable_by_an_older_version_is_narrowed_at_start(migrated, tmp_path):
    # Migrated once already: this start finds the database up to date, as after an upgrade
    # that brings no new migration.
    data_dir = tmp_path / "data"
    shutil.copytree(migrated, data_dir)
    data_dir.chmod(0o755)
    (data_dir / "sequencer.sqlite3").chmod(0o644)
    (data_dir / "secret_key").chmod(0o644)

    _migrate(data_dir)

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "sequencer.sqlite3") == 0o600
    assert _mode(data_dir / "secret_key") == 0o600
