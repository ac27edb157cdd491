"""Whether claiming due emails stays as fast with a million enrollments as with 10,000.

On PostgreSQL, in two databases of its own (created and dropped here), the child process
loads 10,000 active enrollments into one and 1,000,000 into the other, each with a
scheduled email, 500 of them due now and the rest due over the next 30 days. Rows are
made with ``INSERT ... SELECT generate_series``; VACUUM ANALYZE follows each load so the
planner knows the table's size, and a CHECKPOINT so the load's own write-back does not
slow the claims being timed.

Then it times ``claim_due(now, limit=50)`` 30 times on each, in alternating rounds of
five (after two untimed claims on a fresh connection), so that whatever else the machine
does at the time weighs on both alike; claimed emails are put back before the 500 due
ones run out. The measuring session does not wait for the WAL flush at commit
(``synchronous_commit = off``): that wait depends on the disk, not on the table, and on
a shared machine it is mostly noise.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench import support

FIGURES = {
    "claim_latency_ratio_1m_vs_10k": (
        "median claim_due(limit=50) time with 1,000,000 active enrollments divided by the "
        "same with 10,000 (500 due in both; PostgreSQL, WAL flush not awaited)",
        "ratio",
        ("<=", 1.5),
    ),
    "claim_ms_10k": (
        "median claim_due(limit=50) time, 10,000 active enrollments, PostgreSQL",
        "ms",
        None,
    ),
    "claim_ms_1m": (
        "median claim_due(limit=50) time, 1,000,000 active enrollments, PostgreSQL",
        "ms",
        None,
    ),
}

SMALL = 10_000
LARGE = 1_000_000
DUE = 500
LIMIT = 50
CLAIMS = 30
ROUND = 5
WARM_UP = 2


def run_on_both(module: str, short: str) -> dict[str, Any]:
    """Run ``bench.<module>``'s child on two PostgreSQL databases of its own (10k, 1m)."""
    with support.own_databases(short, "10k", "1m") as names:
        return support.run_child(module, *names, database_url=support.postgres_url(names[0]))


def run() -> dict[str, float]:
    result = run_on_both("bench_claim", "claim")
    return {
        "claim_ms_10k": result["small"],
        "claim_ms_1m": result["large"],
        "claim_latency_ratio_1m_vs_10k": result["large"] / result["small"],
    }


# -- child ----------------------------------------------------------------------------

_PEOPLE = """
INSERT INTO crm_person
    (id, first_name, last_name, job_title, company_id, time_zone, attributes,
     created_at, updated_at)
SELECT g, 'Person', 'Bench', '', NULL, '', '{}'::jsonb, %(now)s, %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

_ENROLLMENTS = """
INSERT INTO sequences_enrollment
    (id, sequence_id, version_id, person_id, email, mailbox_id, sender_id, enrolled_by_id,
     status, exit_reason, failure_reason, time_zone, enrolled_at, finished_at, paused_at)
SELECT g, %(sequence)s, %(version)s, g, 'p' || g || '@bench.test', %(mailbox)s, %(user)s,
       %(user)s, 'active', '', '', 'UTC', %(now)s, NULL, NULL
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

# The first DUE rows are due (spread over the last hour); the others fall due at
# scattered moments over the next 30 days.
_EMAILS = """
INSERT INTO sequences_scheduledemail
    (id, enrollment_id, step, mailbox_id, state, due_at, lease_until, lease_owner, attempts,
     message_id, subject, attempted_at, sent_at, provider_message_id, thread_id, last_error,
     skip_window, created_at)
SELECT g, g, 0, %(mailbox)s, 'scheduled',
       CASE WHEN g <= %(due)s
            THEN %(now)s - make_interval(secs => g * 3600.0 / %(due)s)
            ELSE %(now)s + make_interval(secs => 60 + (g::bigint * 2654435761) %% 2592000)
       END,
       NULL, '', 0, '<' || g || '.bench@example.test>', '', NULL, NULL, '', '', '', false,
       %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""


def _load(params: dict[str, Any], lo: int, hi: int, emails: str = _EMAILS) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        for sql in (_PEOPLE, _ENROLLMENTS, emails):
            cursor.execute(sql, {**params, "lo": lo, "hi": hi})
    with connection.cursor() as cursor:
        for table in ("crm_person", "sequences_enrollment", "sequences_scheduledemail"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [hi])
        # Outside a transaction (Django autocommits): VACUUM refuses to run in one.
        for table in ("crm_person", "sequences_enrollment", "sequences_scheduledemail"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        # Flush the load's dirty pages now, so that the checkpointer writing them back
        # does not slow the commits being measured.
        cursor.execute("CHECKPOINT")


def _prepare(database: str, size: int, now: Any, emails: str = _EMAILS) -> None:
    """A migrated database with ``size`` enrollments, each with the email ``emails``
    inserts (by default: scheduled, :data:`DUE` of them due now)."""
    from django.core.management import call_command

    support.use_database(database)
    call_command("migrate", verbosity=0)
    admin = support.make_admin()
    sequence = support.publish_sequence(admin)
    mailbox = support.make_mailbox(admin)
    params = {
        "now": now,
        "due": DUE,
        "sequence": sequence.pk,
        "version": sequence.versions.get().pk,
        "mailbox": mailbox.pk,
        "user": admin.pk,
    }
    _load(params, 1, size, emails)


def _round(database: str, now: Any) -> list[float]:
    """Two untimed claims on a fresh connection, then ROUND timed ones (seconds)."""
    from django.db import connection

    from sequencer.engine.claim import claim_due
    from sequencer.sequences.models import EmailState, ScheduledEmail

    support.use_database(database)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    lease = timedelta(minutes=5)
    timings: list[float] = []
    claimed: list[int] = []
    for n in range(WARM_UP + ROUND):
        if len(claimed) + LIMIT > DUE:
            ScheduledEmail.objects.filter(id__in=claimed).update(
                state=EmailState.SCHEDULED, lease_until=None, lease_owner=""
            )
            claimed.clear()
        started = time.perf_counter()
        ids = claim_due(now, limit=LIMIT, lease=lease, owner="bench")
        elapsed = time.perf_counter() - started
        if len(ids) != LIMIT:
            raise RuntimeError(f"claimed {len(ids)} emails, expected {LIMIT}")
        claimed.extend(ids)
        if n >= WARM_UP:
            timings.append(elapsed)
    ScheduledEmail.objects.filter(id__in=claimed).update(
        state=EmailState.SCHEDULED, lease_until=None, lease_owner=""
    )
    return timings


def prepare_both(bench: str, small_db: str, large_db: str, emails: str = _EMAILS) -> Any:
    """Django set up, :data:`SMALL` and :data:`LARGE` enrollments loaded into the two
    databases (see :func:`_prepare`); the moment they were loaded at."""
    support.setup_django(migrate=False)
    from django.db import connection

    from sequencer.clock import system_clock

    if connection.vendor != "postgresql":
        raise RuntimeError(f"{bench} needs PostgreSQL (DATABASE_URL)")
    now = system_clock.now()
    _prepare(small_db, SMALL, now, emails)
    _prepare(large_db, LARGE, now, emails)
    return now


def child(small_db: str, large_db: str) -> dict[str, float]:
    now = prepare_both("bench_claim", small_db, large_db)
    timings: dict[str, list[float]] = {small_db: [], large_db: []}
    for r in range(CLAIMS // ROUND):
        order = (small_db, large_db) if r % 2 == 0 else (large_db, small_db)
        for database in order:
            timings[database] += _round(database, now)
    return {
        "small": statistics.median(timings[small_db]) * 1000,
        "large": statistics.median(timings[large_db]) * 1000,
    }


if __name__ == "__main__":
    support.emit(child(sys.argv[1], sys.argv[2]))
