"""Killing the worker with SIGKILL at random moments never duplicates nor silently loses.

Everything is real and in separate processes: the SMTP server (tests.peers.smtp_process,
slowed at the end of DATA so that kills land mid-send), the database (a SQLite file or
a PostgreSQL database of its own), Dovecot for the Sent folder, and each worker (forked
by tests.integration.engine.worker_process, killed with SIGKILL by its pid). Two of the
kills are placed deliberately at the worst moment: right after the server accepted an
email (and, with IMAP, its copy was filed in Sent), before the engine recorded it.

At the end, counting at the servers: every email marked sent arrived exactly once; every
email marked failed arrived at most once and says that its outcome is unknown; no
Message-ID arrived twice; nothing is left claimed, sending, unknown or scheduled; every
recipient is completed or failed. With IMAP, what is in Sent is marked sent.

Set CHAOS_SEED to replay a run's kill timings.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from sequencer.engine.reconcile import OUTCOME_UNKNOWN
from tests.integration.engine.worker_process import (
    WorkerServer,
    scratch_database,
    wait_until_settled,
)
from tests.peers.fixtures import ALICE, DOVECOT_USERS
from tests.peers.smtp_process import SMTPPeerProcess

pytestmark = pytest.mark.slow

RECIPIENTS = 60
# Each worker sends from three mailboxes at once (engine/sending.py), so kills land
# while several emails are in flight.
MAILBOXES = 3
ROUNDS = 26
# Rounds whose worker kills itself right after an accepted send: early, while plenty is
# still due (three mailboxes at once can finish the 60 emails in a few rounds).
DELIBERATE = (1, 3)
LEASE_SECONDS = 2


def sent_folder_ids(dovecot: Any) -> Counter[str]:
    return Counter(
        str(message_from_bytes(raw, policy=policy.default)["Message-ID"]).strip()
        for raw in dovecot.messages(ALICE, "Sent")
    )


@pytest.mark.parametrize(
    ("backend", "imap"),
    [("sqlite", False), ("postgres", False), ("sqlite", True)],
    ids=["sqlite", "postgres", "sqlite-imap"],
)
def test_sigkill_at_random_moments_sends_each_email_once_or_shows_it_failed(
    backend: str, imap: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    context = f"backend={backend} imap={imap} CHAOS_SEED={seed}"
    dovecot = request.getfixturevalue("dovecot") if imap else None
    imap_settings = (
        {
            "host": dovecot.host,
            "port": dovecot.imap_port,
            "username": ALICE,
            "password": DOVECOT_USERS[ALICE],
        }
        if dovecot
        else None
    )
    smtp = SMTPPeerProcess(tmp_path / "Maildir", delay_before_store=0.1, delay_after_store=0.1)
    with (
        scratch_database(backend, tmp_path) as env,
        smtp,
        WorkerServer(env, tmp_path / "logs") as server,
    ):
        assert (
            server.call(
                "setup",
                recipients=RECIPIENTS,
                smtp_port=smtp.port,
                imap=imap_settings,
                mailboxes=MAILBOXES,
            )
            == RECIPIENTS
        )
        worker = {
            "lease": LEASE_SECONDS,
            "batch_size": 6,
            "send_concurrency": MAILBOXES,
            "idle": 0.1,
        }
        deliberate_pids = []
        for round_ in range(ROUNDS):
            if round_ in DELIBERATE:
                pid = server.spawn(**worker, die_after_accept=1)
                deliberate_pids.append(pid)
                status = server.call("wait", pid=pid, seconds=30, timeout=60)
            else:
                pid = server.spawn(**worker)
                time.sleep(rng.uniform(0.05, 1.5))
                status = server.call("kill", pid=pid)
            # Every worker ran until the SIGKILL: none crashed on its own.
            assert status == {"alive": False, "signal": signal.SIGKILL}, (
                f"round {round_}: {status}; {context}\n{server.stderr()}"
            )
        final = server.spawn(**worker)
        counts = wait_until_settled(server, 60, context)
        assert server.call("kill", pid=final, signum=signal.SIGTERM) == {
            "alive": False,
            "exit_code": 0,
        }
        rows = server.call("rows")
        events = server.events()
        arrived = smtp.message_ids()

    by_id = {row["message_id"]: row for row in rows}
    assert len(rows) == len(by_id) == RECIPIENTS, context  # one email per recipient, no more
    duplicates = {mid: n for mid, n in arrived.items() if n > 1}
    assert not duplicates, f"delivered more than once: {duplicates}; {context}"
    assert set(arrived) <= set(by_id), context
    for row in rows:
        copies = arrived[row["message_id"]]
        if row["state"] == "sent":
            assert copies == 1, f"{row} arrived {copies} times; {context}"
            assert row["enrollment_status"] == "completed", (row, context)
        else:
            assert row["state"] == "failed", f"{row} was left unsettled; {context}"
            assert copies <= 1, (row, context)
            assert row["last_error"] == OUTCOME_UNKNOWN, (row, context)
            assert row["enrollment_status"] == "failed", (row, context)
    assert counts["enrollments"].keys() <= {"completed", "failed"}, (counts, context)

    # The deliberate kills: accepted by the server, then the worker died before recording.
    accepted_by_deliberate = [
        fields[2] for pid, fields in events if pid in deliberate_pids and fields[0] == "accepted"
    ]
    assert len(accepted_by_deliberate) == len(DELIBERATE), (accepted_by_deliberate, context)
    for message_id in accepted_by_deliberate:
        assert arrived[message_id] == 1, context
        # Found in Sent, it is known to be sent; without IMAP nothing can tell.
        assert by_id[message_id]["state"] == ("sent" if imap else "failed"), context

    if dovecot is not None:
        filed = sent_folder_ids(dovecot)
        assert all(n == 1 for n in filed.values()), (filed, context)
        for message_id in filed:
            assert by_id[message_id]["state"] == "sent", (by_id[message_id], context)
            assert arrived[message_id] == 1, context
        found = {fields[2] for _, fields in events if fields[0] == "found" and fields[3] == "True"}
        assert set(accepted_by_deliberate) <= found, context
        for message_id in found:
            assert by_id[message_id]["state"] == "sent", context

    states = Counter(row["state"] for row in rows)
    failed_arrived = sum(1 for r in rows if r["state"] == "failed" and arrived[r["message_id"]])
    found_in_sent = {f[2] for _, f in events if f[0] == "found" and f[3] == "True"}
    print(
        f"\n{context}: {states['sent']} sent ({len(found_in_sent)} settled from Sent), "
        f"{states['failed']} failed as unknown ({failed_arrived} of them had arrived), "
        f"{ROUNDS} kills"
    )
