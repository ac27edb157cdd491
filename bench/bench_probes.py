"""What ``/healthz`` and ``/readyz`` cost a process that a probe calls every few seconds,
and what a JSON log line costs to write.

In a child process on a SQLite file (migrated, one worker heartbeat fresh), each probe is
requested through Django's test client (the whole server side: the middleware answers
before any other): ``/readyz`` once cold (the first call reads the migration files and
the applied migrations), then both probes 300 times each, timed one by one; the figures
are medians. The queries of a warm ``/readyz`` are counted. The log figure formats one
WARNING record with context keys through the settings' JSON handler (redaction filter and
formatter) 20,000 times into a buffer.
"""

from __future__ import annotations

import io
import logging
import statistics
import time
from typing import Any

from bench import support

FIGURES: dict[str, tuple[str, str, tuple[str, float] | None]] = {
    "healthz_ms": ("median server time of GET /healthz (test client, SQLite)", "ms", ("<=", 1)),
    "readyz_ms": (
        "median server time of GET /readyz once the migrations were seen applied",
        "ms",
        ("<=", 3),
    ),
    "readyz_cold_ms": (
        "the first GET /readyz of a process (reads the migration files and the applied ones)",
        "ms",
        None,
    ),
    "readyz_queries": ("queries of a GET /readyz once warm", "queries", ("<=", 1)),
    "log_json_line_us": (
        "writing one log line with context keys as JSON, redaction filter included",
        "µs",
        ("<=", 50),
    ),
}
REQUESTS = 300
LOG_LINES = 20_000


def run() -> dict[str, float]:
    return support.run_child("bench_probes")


def _median_ms(client: object, path: str) -> float:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return statistics.median(times)


def _log_line_us() -> float:
    from sequencer.operations.log_format import logging_config
    from sequencer.testing.logs import console_handler

    handler = console_handler(logging_config("json", "INFO"), io.StringIO())
    log = logging.getLogger("bench.probes")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    extra = {"enrollment": 12, "email": 345, "mailbox": 6, "duration": 12.5}
    started = time.perf_counter()
    for i in range(LOG_LINES):
        log.warning("email %s: the mailbox failed: %s", i, "535 rejected", extra=extra)
    return (time.perf_counter() - started) / LOG_LINES * 1e6


def child() -> dict[str, float]:
    support.setup_django()
    from django.db import connection
    from django.test import Client

    from sequencer.clock import system_clock
    from sequencer.operations.heartbeat import Heart

    Heart("bench:1:probe").beat(system_clock.now())
    client = Client()
    started = time.perf_counter()
    assert client.get("/readyz").status_code == 200
    cold = (time.perf_counter() - started) * 1000
    # Counted by an execute wrapper: the test client's request_started empties the
    # connection's own query log mid-request.
    queries: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        client.get("/readyz")
    return {
        "healthz_ms": _median_ms(client, "/healthz"),
        "readyz_ms": _median_ms(client, "/readyz"),
        "readyz_cold_ms": cold,
        "readyz_queries": float(len(queries)),
        "log_json_line_us": _log_line_us(),
    }


if __name__ == "__main__":
    support.emit(child())
