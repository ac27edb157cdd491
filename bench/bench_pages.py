"""Whether the pages a member opens most stay as fast with 10,000 enrollments and people
in the workspace as with 100.

On PostgreSQL, in two databases of its own (created and dropped here), the child process
sets up a workspace with five published sequences and loads 100 people into one and
10,000 into the other (each with one address and, one in twenty, no company; the rest in
one of a company per fifty people), all enrolled into the first sequence (the one whose
editor and Recipients tab are timed, the worst case for them), each enrollment with one
email: sent for half of them, scheduled for the rest, and a tenth of the enrollments
finished. Rows are made with ``INSERT ... SELECT generate_series``, then VACUUM ANALYZE
so the planner knows the tables' sizes.

Then it GETs each page of ``PAGES`` through Django's test client, signed in as the admin
(the whole server side: middleware, views, queries, templates): two untimed requests on
a fresh connection, then five timed ones, in alternating rounds on the two databases so
that whatever else the machine does weighs on both alike. Each figure is the median of
30 requests; the headline figure is the worst page's ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from bench import support

# Page key (the figures' prefix) → what it is, for the figures' descriptions.
PAGES: dict[str, str] = {
    "list": "/sequences/",
    "editor": "a sequence's editor page",
    "recipients": "a sequence's Recipients tab (/sequences/<id>/recipients/)",
    "people": "the People table (/people/)",
    "people_search": "the People table searched for a word every person's name has",
    "people_last": "the People table's last page (page 2 of 100 people, 200 of 10,000)",
    "person": "a person's page (/people/<id>/), one enrollment",
}

FIGURES: dict[str, tuple[str, str, tuple[str, float] | None]] = {
    "page_ms_ratio_10k_vs_100": (
        "median server time of each page below with 10,000 enrollments and people in the "
        "workspace divided by the same with 100; the largest of the ratios (Django test "
        "client, PostgreSQL)",
        "ratio",
        ("<=", 1.5),
    ),
}
for _key, _what in PAGES.items():
    FIGURES[f"{_key}_page_ms_100"] = (f"median server time of {_what}, 100 rows", "ms", None)
    FIGURES[f"{_key}_page_ms_10k"] = (f"median server time of {_what}, 10,000 rows", "ms", None)
    FIGURES[f"{_key}_page_ms_ratio_10k_vs_100"] = (
        f"{_what}: 10,000 rows divided by 100",
        "ratio",
        ("<=", 1.5),
    )

SMALL = 100
LARGE = 10_000
SEQUENCES = 5
REQUESTS = 30
ROUND = 5
WARM_UP = 2
# The People table's page size (web.records.selection.PAGE_SIZE).
PEOPLE_PAGE = 50


def run() -> dict[str, float]:
    with support.own_databases("pages", "100", "10k") as names:
        result = support.run_child(
            "bench_pages", *names, database_url=support.postgres_url(names[0])
        )
    figures: dict[str, float] = {}
    for key in PAGES:
        small, large = result[key]["small"], result[key]["large"]
        figures[f"{key}_page_ms_100"] = small
        figures[f"{key}_page_ms_10k"] = large
        figures[f"{key}_page_ms_ratio_10k_vs_100"] = large / small
    figures["page_ms_ratio_10k_vs_100"] = max(
        figures[f"{key}_page_ms_ratio_10k_vs_100"] for key in PAGES
    )
    return figures


# -- child ----------------------------------------------------------------------------

PEOPLE_PER_COMPANY = 50

_COMPANIES = """
INSERT INTO crm_company (id, name, attributes, created_at, updated_at)
SELECT g, 'Company ' || g, '{}'::jsonb, %(now)s, %(now)s
FROM generate_series(1, %(companies)s) AS g
"""

# Varied names so that sorting by name is real work; one in twenty has no company.
_PEOPLE = """
INSERT INTO crm_person
    (id, first_name, last_name, job_title, company_id, time_zone, attributes,
     created_at, updated_at)
SELECT g, 'Person' || g, 'Bench' || (g * 7919 %% 1000), '',
       CASE WHEN g %% 20 = 0 THEN NULL ELSE 1 + g %% %(companies)s END, '', '{}'::jsonb,
       %(now)s, %(now)s
FROM generate_series(%(lo)s, %(hi)s) AS g
"""

_ADDRESSES = """
INSERT INTO crm_emailaddress
    (id, person_id, email, is_primary, position, undeliverable_since, undeliverable_reason)
SELECT g, g, 'p' || g || '@bench.test', true, 0, NULL, ''
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

_TABLES = (
    "crm_company",
    "crm_person",
    "crm_emailaddress",
    "sequences_enrollment",
    "sequences_scheduledemail",
)


def _prepare(database: str, size: int, now: Any) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    support.use_database(database)
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
        "companies": size // PEOPLE_PER_COMPANY,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (_COMPANIES, _PEOPLE, _ADDRESSES, _ENROLLMENTS, _EMAILS):
            cursor.execute(sql, params)
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [size])
        for table in _TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"admin_id": admin.pk, "sequence_id": timed.pk, "size": size}


def _paths(setup: dict[str, Any]) -> dict[str, str]:
    sequence = setup["sequence_id"]
    last_page = -(-setup["size"] // PEOPLE_PAGE)
    return {
        "list": "/sequences/",
        "editor": f"/sequences/{sequence}/",
        "recipients": f"/sequences/{sequence}/recipients/",
        "people": "/people/",
        "people_search": "/people/?q=bench",
        "people_last": f"/people/?page={last_page}",
        # Person 1 is enrolled in the timed sequence in both databases.
        "person": "/people/1/",
    }


def _round(database: str, setup: dict[str, Any]) -> dict[str, list[float]]:
    """Two untimed requests of each page on a fresh connection, then ROUND timed ones."""
    from django.test import Client

    from sequencer.workspace.models import User

    support.use_database(database)
    client = Client()
    client.force_login(
        User.objects.get(pk=setup["admin_id"]),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    pages = _paths(setup)
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
    timings: dict[str, dict[str, list[float]]] = {db: {p: [] for p in PAGES} for db in setups}
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
        for page in PAGES
    }


if __name__ == "__main__":
    support.emit(child(sys.argv[1], sys.argv[2]))
