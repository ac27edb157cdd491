"""One IMAP watch loop for many mailboxes, against a real Dovecot serving one user per
mailbox, on a real database (a SQLite file or a PostgreSQL database, as the run's own
database is) in a process of its own (the loop's threads need a database they can
share; see ``concurrency.py``)."""

from __future__ import annotations

import pytest

from tests.integration.inbound import concurrency
from tests.peers.dovecot import Dovecot, find_dovecot

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAILBOXES = 50
USERS = [f"user{i}@example.test" for i in range(1, MAILBOXES)]
EXTRA = {
    "held_user": "held@example.test",
    "late_user": "late@example.test",
    "upgraded_user": "upgraded@example.test",
}
SYNC_THREADS = 4


@pytest.fixture(scope="module")
def many_users(smtp_server_session):
    if find_dovecot() is None:
        pytest.skip("Dovecot is not installed (scripts/ensure-peers.sh)")
    users = [concurrency.ALICE, *USERS, *EXTRA.values()]
    server = Dovecot(
        users=dict.fromkeys(users, "secret"),
        relay_port=smtp_server_session.port,
        connections=len(users),
    ).start()
    try:
        yield server
    finally:
        server.stop()


def watch(database, dovecot, smtp_server, **args):
    return concurrency.run(
        "watch",
        database,
        users=args.pop("users", USERS),
        smtp_port=smtp_server.port,
        imap_port=dovecot.imap_port,
        lmtp_port=dovecot.lmtp_port,
        **EXTRA,
        **args,
    )


def test_one_loop_watches_fifty_mailboxes_with_a_few_threads_and_connections(
    database, many_users, smtp_server
):
    result = watch(database, many_users, smtp_server)
    # The loop, its database thread, its sync threads and two for name lookups; the same
    # for 5 or 5,000 mailboxes.
    assert len(result["threads"]) <= 1 + 1 + SYNC_THREADS + 2, result["threads"]
    assert len(result["db_threads"]) <= 1 + SYNC_THREADS, result["db_threads"]
    if "pg_connections" in result:
        # Those, and this process's main thread.
        assert result["pg_connections"] <= 1 + 1 + SYNC_THREADS
    # Each held under the loop's lease, which other workers' ticks leave alone.
    assert result["owners"] == ["watch-test:idle"]
    assert result["other_owner"] == "another-worker"
    assert not result["other_watched"]
    # Replies to mailboxes among the fifty are acted on.
    assert result["exit_reasons"] == ["replied"]
    assert all(t < 10 for t in result["timings"]), result["timings"]
    print(f"reply to exit among {MAILBOXES} watched: {[round(t, 2) for t in result['timings']]}")
    # Leases renewed while watched; one taken over by another worker is let go.
    assert result["renewed"]
    assert result["stolen_dropped_seconds"] < 5
    # Given back, every thread ended, on stop.
    assert result["owners_after_stop"] == [""]
    assert result["threads_after_stop"] == []


def test_a_mailbox_connected_while_the_loop_runs_is_watched_within_seconds(
    database, many_users, smtp_server
):
    result = watch(database, many_users, smtp_server, users=USERS[:4])
    assert result["added_watched_seconds"] < 5
    assert result["added_reply_seconds"] < 10
    assert result["upgraded_watched_seconds"] < 5
    assert result["upgraded_reply_seconds"] < 10
    print(
        f"new mailbox watched after {result['added_watched_seconds']:.2f} s, "
        f"its reply acted on after {result['added_reply_seconds']:.2f} s"
    )


def test_a_mailbox_whose_server_never_answers_holds_up_no_other(database, many_users, smtp_server):
    result = watch(database, many_users, smtp_server, users=USERS[:4])
    assert result["broken_held"] and not result["broken_watched"]
    assert "timed out" in result["broken_error"].lower() or result["broken_error"]
    assert result["exit_reasons"] == ["replied"]


def test_without_idle_the_loop_polls(database, many_users, smtp_server):
    result = watch(
        database, many_users, smtp_server, users=USERS[:2], no_idle=True, poll_seconds=0.3
    )
    assert result["exit_reasons"] == ["replied"]
    assert all(t < 10 for t in result["timings"]), result["timings"]
