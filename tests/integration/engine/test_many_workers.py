"""Several worker processes on one PostgreSQL database share the work without overlap.

Four real worker processes start at the same moment against one PostgreSQL database
holding 300 due emails, and send through a real SMTP server in its own process. Each
worker logs the rows it claimed (the ids ``claim_by_mailbox`` returned) and the Message-IDs its
provider handed over. Counted at the server: each of the 300 Message-IDs arrived exactly
once, and all 300 are marked sent. From the workers' logs: no row was claimed by two
workers, each row was handed over by the worker that claimed it, and every worker took
part.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.engine.worker_process import WorkerServer, scratch_database
from tests.peers.smtp_process import SMTPPeerProcess

pytestmark = pytest.mark.slow

RECIPIENTS = 300
WORKERS = 4
PENDING = ("scheduled", "claimed", "sending", "unknown")


def test_four_workers_on_postgresql_send_300_emails_each_exactly_once(tmp_path: Path) -> None:
    with (
        scratch_database("postgres", tmp_path) as env,
        SMTPPeerProcess(tmp_path / "Maildir", delay_before_store=0.01) as smtp,
        WorkerServer(env, tmp_path / "logs") as server,
    ):
        assert server.call("setup", recipients=RECIPIENTS, smtp_port=smtp.port) == RECIPIENTS
        # A lease far longer than a batch takes: no row may change hands here.
        pids = [server.spawn(lease=120, batch_size=10, idle=0.1) for _ in range(WORKERS)]
        deadline = time.monotonic() + 90
        while True:
            counts = server.call("counts")
            if not any(counts["emails"].get(state) for state in PENDING):
                break
            assert time.monotonic() < deadline, f"still pending: {counts}"
            for pid in pids:  # a worker that died would leave its rows behind
                assert server.call("alive", pid=pid) == {"alive": True}, server.stderr()
            time.sleep(0.25)
        for pid in pids:
            assert server.call("kill", pid=pid, signum=signal.SIGTERM) == {
                "alive": False,
                "exit_code": 0,
            }
        rows = server.call("rows")
        events = server.events()
        arrived = smtp.message_ids()

    assert counts == {
        "emails": {"sent": RECIPIENTS},
        "enrollments": {"completed": RECIPIENTS},
    }
    by_id = {row["id"]: row for row in rows}
    assert len(rows) == RECIPIENTS
    # Counted at the server: each Message-ID exactly once, and only ours.
    assert arrived == Counter({row["message_id"]: 1 for row in rows})

    claimed_by: dict[int, list[int]] = {}
    handed_over: dict[str, list[int]] = {}
    for pid, fields in events:
        if fields[0] == "claim":
            for email_id in map(int, fields[2].split(",")):
                claimed_by.setdefault(email_id, []).append(pid)
        elif fields[0] == "accepted":
            handed_over.setdefault(fields[2], []).append(pid)
    double_claims = {i: owners for i, owners in claimed_by.items() if len(owners) > 1}
    assert not double_claims, f"rows claimed by more than one worker: {double_claims}"
    assert set(claimed_by) == set(by_id)
    for email_id, [claimer] in claimed_by.items():
        assert handed_over[by_id[email_id]["message_id"]] == [claimer]
    share = Counter(owners[0] for owners in claimed_by.values())
    assert set(share) == set(pids), f"not every worker took part: {share}"
    print(f"\nemails claimed and sent per worker: {sorted(share.values(), reverse=True)}")
