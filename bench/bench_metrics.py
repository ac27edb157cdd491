"""How long reading the metrics' figures takes with 10,000 emails and with 1,000,000.

A scrape (``/metrics``) reads every figure of ``operations.figures.read_figures``: counts
grouped by state, kind, status and provider over whole tables, and the due emails
through the claim's partial index (Settings → Status also reads the hourly series of the
last 48 hours, not timed here). The query count is fixed (a test checks it), but the
grouped counts read every row, so the time grows with the table: this says how much, so
that an admin can choose a scrape interval.

On PostgreSQL, in two databases of its own, the child loads the enrollments of
``bench_claim`` with one email each: 60% sent over the last 48 hours (each a few
minutes late), 10% cancelled, 10% failed and 20% scheduled (500 of them due now). Then it
times ``read_figures(now)`` 10 times on each, alternating, after one untimed read.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from bench import bench_claim, support

FIGURES = {
    "metrics_read_ms_10k": (
        "median time to read every metrics figure (one scrape) with 10,000 emails, PostgreSQL",
        "ms",
        None,
    ),
    "metrics_read_ms_1m": (
        "median time to read every metrics figure (one scrape) with 1,000,000 emails, PostgreSQL",
        "ms",
        None,
    ),
    "metrics_read_queries": (
        "queries one read of every metrics figure makes, whatever the number of rows",
        "queries",
        None,
    ),
}

DUE = 500
READS = 10

_EMAILS = """
INSERT INTO sequences_scheduledemail
    (id, enrollment_id, step, mailbox_id, state, due_at, lease_until, lease_owner, attempts,
     message_id, subject, attempted_at, sent_at, provider_message_id, thread_id, last_error,
     skip_window, created_at)
SELECT g, g, 0, %(mailbox)s,
       CASE WHEN g <= %(due)s THEN 'scheduled'
            WHEN g %% 10 < 6 THEN 'sent'
            WHEN g %% 10 = 6 THEN 'cancelled'
            WHEN g %% 10 = 7 THEN 'failed'
            ELSE 'scheduled' END,
       CASE WHEN g <= %(due)s THEN %(now)s - make_interval(secs => g)
            WHEN g %% 10 < 8 THEN %(now)s - make_interval(secs => 60 + g %% 172800 + g %% 900)
            ELSE %(now)s + make_interval(secs => 60 + g %% 2592000) END,
       NULL, '', 1, '<' || g || '.bench@example.test>', '', NULL,
       CASE WHEN g > %(due)s AND g %% 10 < 6
            THEN %(now)s - make_interval(secs => 60 + g %% 172800) END,
       '', '', '', false, %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""


def run() -> dict[str, float]:
    result = bench_claim.run_on_both("bench_metrics", "metrics")
    return {
        "metrics_read_ms_10k": result["small"],
        "metrics_read_ms_1m": result["large"],
        "metrics_read_queries": result["queries"],
    }


# -- child ----------------------------------------------------------------------------


def _reads(database: str, now: Any, count: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sequencer.operations.figures import read_figures

    support.use_database(database)
    read_figures(now)  # untimed: a fresh connection
    timings = []
    queries = 0
    for _ in range(count):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            read_figures(now)
        timings.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return timings, queries


def child(small_db: str, large_db: str) -> dict[str, float]:
    now = bench_claim.prepare_both("bench_metrics", small_db, large_db, _EMAILS)
    timings: dict[str, list[float]] = {small_db: [], large_db: []}
    queries: set[int] = set()
    for r in range(READS // 2):
        for database in (small_db, large_db) if r % 2 == 0 else (large_db, small_db):
            found, count = _reads(database, now, 2)
            timings[database] += found
            queries.add(count)
    if len(queries) != 1:
        raise RuntimeError(f"the query count changed with the rows: {queries}")
    return {
        "small": statistics.median(timings[small_db]) * 1000,
        "large": statistics.median(timings[large_db]) * 1000,
        "queries": queries.pop(),
    }


if __name__ == "__main__":
    support.emit(child(sys.argv[1], sys.argv[2]))
