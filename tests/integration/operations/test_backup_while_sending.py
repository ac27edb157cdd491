"""A backup taken while a real worker sends loses no email row, and restores exactly.

Everything is real and in separate processes: the SMTP peer (tests.peers.smtp_process,
slowed a little so that sending goes on for the whole backup), a SQLite database file,
and a worker forked by tests.integration.engine.worker_process. The backup runs in this
process against the same file, as ``sequencer backup`` would from a shell.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sequencer.operations.backup import backup_sqlite
from sequencer.operations.key_material import read_key_material
from sequencer.operations.restore import restore
from tests.integration.engine.worker_process import WorkerServer, scratch_database
from tests.peers.smtp_process import SMTPPeerProcess

pytestmark = pytest.mark.slow

RECIPIENTS = 120
EMAILS = "sequences_scheduledemail"


def email_rows(conn: sqlite3.Connection) -> dict[int, bytes]:
    """Every scheduled email as the bytes of its raw column values, by id."""
    return {
        row[0]: repr(tuple(row)).encode()
        for row in conn.execute(f"SELECT * FROM {EMAILS} ORDER BY id")
    }


def sent_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {EMAILS} WHERE state = 'sent'").fetchone()[0])


def test_a_backup_taken_while_the_worker_sends_restores_every_email_row_byte_for_byte(
    tmp_path: Path,
) -> None:
    """What is compared, and why that is the honest claim.

    A live database has no single "now" to compare with while the worker writes: a row
    read before the backup may be sent a millisecond later. The backup copies one
    snapshot (a read transaction held for the whole copy), so the claim is about it:

    1. ``before``: the rows committed before the backup started, read on a connection
       of their own. Each is in the restore (no row lost), and each one the worker did
       not change between that read and the snapshot is byte-for-byte the same.
    2. ``at_snapshot``: the rows as the snapshot holds them, read through the backup's
       own source connection inside its transaction (the manifest's counts are read
       there too). The restored table equals it byte for byte: nothing missing, nothing
       extra, no value different.
    3. The worker really wrote during the copy: the copy waits (in its progress
       callback) until the source has more sent emails than the snapshot, and the
       restore still equals the snapshot, not the later state.
    """
    smtp = SMTPPeerProcess(tmp_path / "Maildir", delay_before_store=0.02)
    with (
        scratch_database("sqlite", tmp_path) as env,
        smtp,
        WorkerServer(env, tmp_path / "logs") as server,
    ):
        assert server.call("setup", recipients=RECIPIENTS, smtp_port=smtp.port) == RECIPIENTS
        database = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
        watcher = sqlite3.connect(database, timeout=20)
        worker = server.spawn(lease=30, batch_size=5, idle=0.05)
        deadline = time.monotonic() + 60
        while sent_count(watcher) < 10:
            assert time.monotonic() < deadline, server.stderr()
            time.sleep(0.05)
        before = email_rows(watcher)
        snapshot: dict[str, Any] = {}
        sent_during: list[int] = []

        def read_snapshot(conn: sqlite3.Connection) -> None:
            snapshot["rows"] = email_rows(conn)
            snapshot["sent"] = sent_count(conn)

        def wait_for_the_worker(done: int, total: int) -> None:
            if sent_during:
                return
            while sent_count(watcher) <= snapshot["sent"]:
                assert time.monotonic() < deadline + 60, "the worker stopped sending"
                time.sleep(0.02)
            sent_during.append(sent_count(watcher))

        report = backup_sqlite(
            database,
            tmp_path / "backup.tgz",
            read_key_material(database.parent, env),
            now=datetime.now(UTC),
            on_snapshot=read_snapshot,
            progress=wait_for_the_worker,
            pages=8,
        )
        after = email_rows(watcher)
        watcher.close()
        assert server.call("kill", pid=worker, signum=15)["alive"] is False

    restored_report = restore(tmp_path / "backup.tgz", tmp_path / "restored")
    restored_conn = sqlite3.connect(tmp_path / "restored" / "sequencer.sqlite3")
    restored = email_rows(restored_conn)
    restored_sent = sent_count(restored_conn)
    restored_conn.close()

    assert restored_report.restored == ["sequencer.sqlite3"]  # the key is in the environment
    assert sent_during, "the worker sent nothing while the backup ran"
    at_snapshot = snapshot["rows"]
    assert restored == at_snapshot
    assert after != at_snapshot  # the source moved on during the copy...
    assert restored_sent == snapshot["sent"] < sent_during[0]  # ...the restore did not
    assert set(before) <= set(restored)
    unchanged = [i for i, row in before.items() if at_snapshot[i] == row]
    assert unchanged, "every row changed before the snapshot: the check would be empty"
    assert all(restored[i] == before[i] for i in unchanged)
    assert report.manifest["database"]["tables"][EMAILS]["rows"] == len(restored) == RECIPIENTS
    assert list(report.manifest["keys"]) == ["environment SEQUENCER_SECRET_KEY"]
