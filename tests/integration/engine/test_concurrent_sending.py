"""One worker sends from several mailboxes at once, each mailbox one email at a time.

Real processes throughout (tests.integration.engine.worker_process): a worker forked
with a send concurrency, SMTP servers in processes of their own that journal when each
message's final "." arrived and when it was answered (tests.peers.smtp_process), and a
SQLite file or a PostgreSQL database shared by them, so the worker's sending threads
each use a connection of their own, as in production.
"""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine.worker_process import (
    WorkerServer,
    scratch_database,
    wait_until_settled,
)
from tests.peers.smtp_process import JournalLine, SMTPPeerProcess

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgres"]


def send_all(server: WorkerServer, expected: int, **worker: Any) -> list[dict[str, Any]]:
    """Run one worker until nothing is pending, stop it gracefully; the email rows."""
    pid = server.spawn(idle=0.1, **worker)
    counts = wait_until_settled(server, 60)
    assert server.call("kill", pid=pid, signum=signal.SIGTERM) == {"alive": False, "exit_code": 0}
    assert counts["emails"] == {"sent": expected}, counts
    rows: list[dict[str, Any]] = server.call("rows")
    return rows


def claim_order(server: WorkerServer) -> list[int]:
    """Every claimed email id, in the order the worker's claims returned them."""
    return [
        int(email_id)
        for _, fields in server.events()
        if fields[0] == "claim"
        for email_id in fields[2].split(",")
    ]


def arrivals_by_sender(journal: list[JournalLine]) -> dict[str, list[str]]:
    arrived: dict[str, list[str]] = defaultdict(list)
    for line in journal:
        if line.event == "begin":
            arrived[line.sender].append(line.message_id)
    return arrived


def most_in_flight(journal: list[JournalLine], *, per_sender: bool) -> int:
    """The most messages the server had between their final "." and its answer at once
    (for any one sender, or for all senders together)."""
    open_now: dict[str, int] = defaultdict(int)
    most = 0
    for line in journal:
        key = line.sender if per_sender else "all"
        open_now[key] += 1 if line.event == "begin" else -1
        most = max(most, open_now[key])
    return most


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_mailbox_sends_its_emails_one_at_a_time_in_the_order_they_were_claimed(
    backend: str, tmp_path: Path
) -> None:
    mailboxes, per_mailbox = 4, 6
    with (
        scratch_database(backend, tmp_path) as env,
        SMTPPeerProcess(
            tmp_path / "Maildir", delay_after_store=0.05, journal=tmp_path / "journal"
        ) as smtp,
        WorkerServer(env, tmp_path / "logs") as server,
    ):
        total = mailboxes * per_mailbox
        assert (
            server.call("setup", recipients=total, smtp_port=smtp.port, mailboxes=mailboxes)
            == total
        )
        rows = send_all(server, total, send_concurrency=mailboxes, batch_size=total)
        claimed = claim_order(server)
        journal = smtp.journal()

    message_id = {row["id"]: row["message_id"] for row in rows}
    sender = {row["id"]: row["sender"] for row in rows}
    expected: dict[str, list[str]] = defaultdict(list)
    for email_id in claimed:
        expected[sender[email_id]].append(message_id[email_id])
    assert len(expected) == mailboxes
    assert arrivals_by_sender(journal) == expected
    # Never two messages of one mailbox on the wire at once ...
    assert most_in_flight(journal, per_sender=True) == 1
    # ... while several mailboxes were sending at the same time.
    assert most_in_flight(journal, per_sender=False) > 1


@contextmanager
def slow_and_fast_servers(
    backend: str, tmp_path: Path, slow_seconds: float
) -> Iterator[tuple[SMTPPeerProcess, SMTPPeerProcess, WorkerServer]]:
    """A scratch database, an SMTP server that takes ``slow_seconds`` over each
    message, a prompt one (both journaling) and the fork server."""
    with (
        scratch_database(backend, tmp_path) as env,
        SMTPPeerProcess(
            tmp_path / "SlowMaildir",
            delay_before_store=slow_seconds,
            journal=tmp_path / "slow-journal",
        ) as slow,
        SMTPPeerProcess(tmp_path / "Maildir", journal=tmp_path / "journal") as fast,
        WorkerServer(env, tmp_path / "logs") as server,
    ):
        yield slow, fast, server


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slow_mail_server_holds_only_its_own_mailbox(backend: str, tmp_path: Path) -> None:
    fast_mailboxes, per_mailbox, slow_seconds = 3, 3, 2.0
    with slow_and_fast_servers(backend, tmp_path, slow_seconds) as (slow, fast, server):
        total = (1 + fast_mailboxes) * per_mailbox
        # The slow server's mailbox is enrolled first, so its emails are due (and
        # claimed) before the others': sent one mailbox after another, every other
        # email would wait for its three slow sends.
        ports = [slow.port] + [fast.port] * fast_mailboxes
        assert server.call("setup", recipients=total, smtp_ports=ports) == total
        rows = send_all(server, total, send_concurrency=1 + fast_mailboxes, batch_size=total)
        claimed_in = [fields for _, fields in server.events() if fields[0] == "claim"]
        slow_journal, fast_journal = slow.journal(), fast.journal()

    # All in one tick's claim, the slow mailbox's first.
    assert len(claimed_in) == 1
    claimed = [int(i) for i in claimed_in[0][2].split(",")]
    sender = {row["id"]: row["sender"] for row in rows}
    assert {sender[i] for i in claimed[:per_mailbox]} == {"alice@example.test"}
    slow_answers = [line.at for line in slow_journal if line.event == "end"]
    fast_answers = [line.at for line in fast_journal if line.event == "end"]
    assert len(slow_answers) == per_mailbox
    assert len(fast_answers) == fast_mailboxes * per_mailbox
    # Every other mailbox's email was accepted before the slow server answered the
    # first of its mailbox's emails.
    assert max(fast_answers) < min(slow_answers)


def states_by_sender(server: WorkerServer) -> dict[str, list[str]]:
    """Each mailbox's emails' states, oldest email first."""
    states: dict[str, list[str]] = defaultdict(list)
    for row in server.call("rows"):
        states[row["sender"]].append(row["state"])
    return dict(states)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hanging_mail_server_does_not_hold_up_the_next_tick(backend: str, tmp_path: Path) -> None:
    slow_seconds = 6.0
    # Ticks in the fork server's one worker; its sending budget far below the slow
    # server's delay, so a tick stops waiting for that mailbox's send long before it ends.
    ticking = {"send_concurrency": 3, "batch_size": 3, "send_budget_seconds": 0.5}
    with slow_and_fast_servers(backend, tmp_path, slow_seconds) as (slow, fast, server):
        # One email per mailbox, the slow server's mailbox (alice) first.
        ports = [slow.port, fast.port, fast.port]
        assert server.call("setup", recipients=3, smtp_ports=ports) == 3
        assert server.call("tick", **ticking) == 3
        # The tick has returned while the slow server still holds alice's email.
        assert states_by_sender(server) == {
            "alice@example.test": ["sending"],
            "sender1@example.test": ["sent"],
            "sender2@example.test": ["sent"],
        }
        assert server.call("enroll", per_mailbox=1) == 3
        # The next tick sends the other mailboxes' new emails and leaves alice's alone
        # while her first is still on the wire: never two of one mailbox at once.
        assert server.call("tick", **ticking) == 2
        assert states_by_sender(server) == {
            "alice@example.test": ["sending", "scheduled"],
            "sender1@example.test": ["sent", "sent"],
            "sender2@example.test": ["sent", "sent"],
        }
        # Once the slow server has answered, a later tick claims alice's next email.
        claimed_later = 0
        deadline = time.monotonic() + 10 * slow_seconds
        while states_by_sender(server)["alice@example.test"] != ["sent", "sent"]:
            assert time.monotonic() < deadline, states_by_sender(server)
            claimed_later += server.call("tick", **ticking)
            time.sleep(0.2)
        assert claimed_later == 1
        slow_journal = slow.journal()
        slow_copies = slow.message_ids()

    # Each of alice's emails reached the slow server once, one after the other.
    assert sorted(slow_copies.values()) == [1, 1]
    assert [line.event for line in slow_journal] == ["begin", "end", "begin", "end"]
