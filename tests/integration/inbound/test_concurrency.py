"""What must hold when things happen at once, with real threads on a real database
(a SQLite file or a PostgreSQL database, as the run's own database is), in a process of
their own (see ``concurrency.py``)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from email import message_from_bytes

import pytest

from tests.integration.inbound import concurrency

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

RACE_ITERATIONS = 100


def test_a_reply_racing_a_due_email_never_lets_an_email_out_after_it(database, smtp_server):
    result = concurrency.run(
        "reply_race", database, iterations=RACE_ITERATIONS, smtp_port=smtp_server.port, seed=7
    )
    assert result["errors"] == []
    enrollments = result["enrollments"]
    assert len(enrollments) == RACE_ITERATIONS
    orders = Counter()
    for enrollment_id, enrollment in enrollments.items():
        assert (enrollment["status"], enrollment["exit_reason"]) == ("exited", "replied")
        replied_at = datetime.fromisoformat(enrollment["finished_at"])
        rows = [r for r in result["rows"] if str(r["enrollment"]) == enrollment_id]
        for row in rows:
            if row["step"] == 0:
                assert row["state"] == "sent"
                continue
            if row["step"] == 2:
                # Scheduled when the second email was recorded sent before the reply,
                # then cancelled by it: never attempted.
                assert (row["state"], row["attempted_at"]) == ("cancelled", None), row
                continue
            if row["state"] == "sent":
                # It went out only because it was committed as sending before the reply
                # was recorded: never after.
                assert datetime.fromisoformat(row["attempted_at"]) < replied_at
                orders["sent before the reply"] += 1
            else:
                assert row["state"] == "cancelled", row
                orders["stopped by the reply"] += 1
    # What the SMTP server received is exactly what is recorded as sent, once each.
    arrived = Counter(str(message_from_bytes(m.data)["Message-ID"]) for m in smtp_server.messages)
    sent = Counter(r["message_id"] for r in result["rows"] if r["state"] == "sent")
    assert arrived == sent
    assert sum(orders.values()) == RACE_ITERATIONS
    print(f"race outcomes over {RACE_ITERATIONS} iterations: {dict(orders)}")


def test_two_readers_never_read_one_mailbox_at_the_same_time(database, dovecot):
    count = 30
    result = concurrency.run(
        "two_runners",
        database,
        messages=count,
        smtp_port=1,
        imap_port=dovecot.imap_port,
        lmtp_port=dovecot.lmtp_port,
    )
    assert result["errors"] == []
    assert result["stored"] == result["distinct"] == count
    log = result["log"]
    # Each message handed over once, and by one reader at a time.
    assert len(log) == count
    spans = sorted((start, end, reader) for reader, start, end, _ in log)
    for (_, end, reader), (start, _, other) in itertools.pairwise(spans):
        if reader != other:
            assert start >= end, "two readers were inside one mailbox at once"
    assert all(rounds > 0 for rounds in result["rounds"].values())


def test_the_idle_loop_acts_on_replies_within_seconds(database, dovecot, smtp_server):
    result = concurrency.run(
        "idle",
        database,
        replies=3,
        gap=0.3,
        reissue_seconds=1.0,  # re-issued IDLE several times during the test
        smtp_port=smtp_server.port,
        imap_port=dovecot.imap_port,
        lmtp_port=dovecot.lmtp_port,
    )
    assert result["exit_reasons"] == ["replied"]
    assert result["lease_owner"] == "idle-test:idle"
    assert result["lease_after_tick"] == "idle-test:idle"
    assert result["lease_after_stop"] == ""
    assert max(result["timings"]) <= 5.0, result["timings"]
    print(f"reply to exit with IDLE: {[round(t, 2) for t in result['timings']]} s")
