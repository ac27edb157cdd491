"""Whether the sequences list and an editor page stay as fast with 10,000 enrollments in
the workspace as with 100.

On PostgreSQL, in two databases of its own (created and dropped here), the child process
sets up a workspace with five published sequences and loads 100 enrollments into one
and 10,000 into the other, all into the first sequence (the one whose editor is timed,
the worst case for it), each with one email: sent for half of them, scheduled for the
rest, and a tenth of the enrollments finished. Rows are made with ``INSERT ... SELECT
generate_series``, then VACUUM ANALYZE so the planner knows the tables' sizes.

Then it GETs ``/sequences/`` and ``/sequences/<id>/`` through Django's test client,
signed in as the admin (the whole server side: middleware, views, queries, templates):
two untimed requests on a fresh connection, then five timed ones, in alternating rounds
on the two databases so that whatever else the machine does weighs on both alike. Each
figure is the median of 30 requests.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

from bench import support

FIGURES = {
    "page_ms_ratio_10k_vs_100": (
        "median server time of the sequences list page and of an editor page with 10,000 "
        "enrollments in the workspace divided by the same with 100; the larger of the two "
        "ratios (Django test client, PostgreSQL)",
        "ratio",
        ("<=", 1.5),
    ),
    "list_page_ms_100": ("median server time of /sequences/, 100 enrollments", "ms", None),
    "list_page_ms_10k": ("median server time of /sequences/, 10,000 enrollments", "ms", None),
    "editor_page_ms_100": (
        "median server time of a sequence's editor page, 100 enrollments",
        "ms",
        None,
    ),
    "editor_page_ms_10k": (
        "median server time of a sequence's editor page, 10,000 enrollments",
        "ms",
        None,
    ),
}

SMALL = 100
LARGE = 10_000
SEQUENCES = 5
REQUESTS = 30
ROUND = 5
WARM_UP = 2


def run() -> dict[str, float]:
    import psycopg

    names = [f"sequencer_bench_pages_{size}_{os.getpid()}" for size in ("100", "10k")]
    server = support.POSTGRES_SERVER.rstrip("/")

    def admin_sql(sql: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    try:
        for name in names:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin_sql(f'CREATE DATABASE "{name}"')
        result = support.run_child("bench_pages", *names, database_url=f"{server}/{names[0]}")
    finally:
        for name in names:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    figures = {
        "list_page_ms_100": result["list"]["small"],
        "list_page_ms_10k": result["list"]["large"],
        "editor_page_ms_100": result["editor"]["small"],
        "editor_page_ms_10k": result["editor"]["large"],
    }
    figures["page_ms_ratio_10k_vs_100"] = max(
        figures["list_page_ms_10k"] / figures["list_page_ms_100"],
        figures["editor_page_ms_10k"] / figures["editor_page_ms_100"],
    )
    return figures


# -- child ----------------------------------------------------------------------------

_PEOPLE = """
INSERT INTO crm_person
    (id, first_name, last_name, job_title, company_id, time_zone, attributes,
     created_at, updated_at)
SELECT g, 'Person', 'Bench', '', NULL, '', '{}'::jsonb, %(now)s, %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

# One in ten has finished the sequence; the others are still in it.
_ENROLLMENTS = """
INSERT INTO sequences_enrollment
    (id, sequence_id, version_id, person_id, email, mailbox_id, sender_id, enrolled_by_id,
     status, exit_reason, failure_reason, time_zone, enrolled_at, finished_at, paused_at)
SELECT g, %(sequence)s, %(version)s, g, 'p' || g || '@bench.test', %(mailbox)s, %(user)s,
       %(user)s, CASE WHEN g %% 10 = 0 THEN 'finished' ELSE 'active' END, '', '', 'UTC',
       %(now)s, CASE WHEN g %% 10 = 0 THEN %(now)s END, NULL
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

# Half the first emails were sent; the others are due tomorrow.
_EMAILS = """
INSERT INTO sequences_scheduledemail
    (id, enrollment_id, step, mailbox_id, state, due_at, lease_until, lease_owner, attempts,
     message_id, subject, attempted_at, sent_at, provider_message_id, thread_id, last_error,
     skip_window, created_at)
SELECT g, g, 0, %(mailbox)s, CASE WHEN g %% 2 = 0 THEN 'sent' ELSE 'scheduled' END,
       %(now)s + interval '1 day', NULL, '', 0, '<' || g || '.bench@example.test>',
       'Quick question', NULL, CASE WHEN g %% 2 = 0 THEN %(now)s END, '', '', '', false,
       %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

_TABLES = ("crm_person", "sequences_enrollment", "sequences_scheduledemail")


def _use(database: str) -> None:
    """Point the default connection at ``database`` (as Django's test runner does)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = database


def _prepare(database: str, size: int, now: Any) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    _use(database)
    call_command("migrate", verbosity=0)
    admin = support.make_admin()
    sequences = [support.publish_sequence(admin, steps=3) for _ in range(SEQUENCES)]
    mailbox = support.make_mailbox(admin)
    timed = sequences[0]
    params = {
        "now": now,
        "sequence": timed.pk,
        "version": timed.versions.get().pk,
        "mailbox": mailbox.pk,
        "user": admin.pk,
        "lo": 1,
        "hi": size,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (_PEOPLE, _ENROLLMENTS, _EMAILS):
            cursor.execute(sql, params)
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [size])
        for table in _TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"admin_id": admin.pk, "sequence_id": timed.pk}


def _round(database: str, setup: dict[str, Any]) -> dict[str, list[float]]:
    """Two untimed requests of each page on a fresh connection, then ROUND timed ones."""
    from django.test import Client

    from sequencer.workspace.models import User

    _use(database)
    client = Client()
    client.force_login(
        User.objects.get(pk=setup["admin_id"]),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    pages = {"list": "/sequences/", "editor": f"/sequences/{setup['sequence_id']}/"}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    for n in range(WARM_UP + ROUND):
        for name, path in pages.items():
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            if n >= WARM_UP:
                timings[name].append(elapsed * 1000)
    return timings


def child(small_db: str, large_db: str) -> dict[str, dict[str, float]]:
    support.setup_django(migrate=False)
    from django.db import connection

    from sequencer.clock import system_clock

    if connection.vendor != "postgresql":
        raise RuntimeError("bench_pages needs PostgreSQL (DATABASE_URL)")
    now = system_clock.now()
    setups = {small_db: _prepare(small_db, SMALL, now), large_db: _prepare(large_db, LARGE, now)}
    timings: dict[str, dict[str, list[float]]] = {db: {"list": [], "editor": []} for db in setups}
    for r in range(REQUESTS // ROUND):
        order = (small_db, large_db) if r % 2 == 0 else (large_db, small_db)
        for database in order:
            for name, values in _round(database, setups[database]).items():
                timings[database][name] += values
    return {
        page: {
            "small": statistics.median(timings[small_db][page]),
            "large": statistics.median(timings[large_db][page]),
        }
        for page in ("list", "editor")
    }


if __name__ == "__main__":
    support.emit(child(sys.argv[1], sys.argv[2]))
