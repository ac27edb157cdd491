"""Helpers shared by the benchmarks that need Django and a database of their own.

Django reads its settings once per process, so a benchmark that needs a database runs
its measuring part in a child process (``python -m bench.<module> ...``) with its own
``SEQUENCER_DATA_DIR`` and ``DATABASE_URL``; the child prints one JSON object on its last
line of output and :func:`run_child` returns it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The PostgreSQL server the benchmarks may use; each creates and drops its own database.
POSTGRES_SERVER = os.environ.get("SEQUENCER_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")

ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "thread_emails": True,
    "include_signature": False,
}

SUBJECT = 'Quick question, {{ person.first_name | default: "there" }}'
BODY = (
    "<p>Hi {{ person.first_name }},</p>"
    "<p>I noticed {{ company.name | default: 'your team' }} is growing and wondered how you "
    "handle outbound email today. We help teams send personal sequences from their own "
    "mailboxes, with replies stopping the sequence automatically.</p>"
    "<p>Would a short call next week be useful? Here is "
    '<a href="https://example.test/demo">a two-minute demo</a>.</p>'
    "<p>Best,<br>Alice</p>"
)


# -- parent side ----------------------------------------------------------------------


def run_child(
    module: str, *args: str, database_url: str | None = None, timeout: float = 480
) -> dict[str, Any]:
    """Run ``python -m bench.<module> *args`` with a fresh data directory (and SQLite
    file database unless ``database_url`` is given); its last output line is JSON."""
    data_dir = tempfile.mkdtemp(prefix="sequencer-bench-")
    env = {
        **os.environ,
        "SEQUENCER_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "sequencer.config.settings",
        "DATABASE_URL": database_url or f"sqlite:///{data_dir}/bench.sqlite3",
        "SEQUENCER_LOG_LEVEL": "WARNING",
        "SEQUENCER_DEBUG": "",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.{module}", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.{module} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"bench.{module} printed nothing:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def own_databases(bench: str, *sizes: str) -> Iterator[list[str]]:
    """Empty PostgreSQL databases of the benchmark's own on :data:`POSTGRES_SERVER`, one
    per size (``sequencer_bench_<bench>_<size>_<pid>``); dropped afterwards whatever happens."""
    import psycopg

    names = [f"sequencer_bench_{bench}_{size}_{os.getpid()}" for size in sizes]

    def admin_sql(sql: str) -> None:
        with psycopg.connect(postgres_url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    try:
        for name in names:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin_sql(f'CREATE DATABASE "{name}"')
        yield names
    finally:
        for name in names:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_url(database: str) -> str:
    return f"{POSTGRES_SERVER.rstrip('/')}/{database}"


@contextmanager
def sink_smtp_server() -> Iterator[int]:
    """An aiosmtpd server in another process that accepts and discards every message;
    yields its port."""
    with smtp_server("aiosmtpd.handlers.Sink") as port:
        yield port


@contextmanager
def latent_smtp_server(seconds: float) -> Iterator[int]:
    """As :func:`sink_smtp_server`, but each reply to the final "." of DATA comes
    ``seconds`` late (bench/latent_smtp.py); yields its port."""
    with smtp_server("bench.latent_smtp.Latent", str(seconds)) as port:
        yield port


@contextmanager
def smtp_server(handler: str, *handler_args: str) -> Iterator[int]:
    """An aiosmtpd server in another process with the handler class at ``handler``."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"),
            *("-c", handler, *handler_args),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- child side (Django configured from the environment run_child set) ---------------


def setup_django(*, migrate: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer.config.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def use_database(database: str) -> None:
    """Point the default connection at ``database`` (as Django's test runner does)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = database


def emit(result: dict[str, Any]) -> None:
    """The child's answer: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


def make_admin() -> Any:
    from sequencer.workspace import services

    return services.set_up_workspace(
        "Bench", "admin@bench.test", "correct-horse-battery-staple", admin_name="Ada Admin"
    )


def publish_sequence(admin: Any, *, steps: int = 1) -> Any:
    """A published sequence of ``steps`` emails (two days apart), sendable all day."""
    from sequencer.clock import system_clock
    from sequencer.sequences import authoring
    from sequencer.sequences.authoring import StepInput

    sequence = authoring.create_sequence(
        admin,
        name="Bench",
        settings=ALL_DAY,
        steps=[
            StepInput(
                delay_days=0 if i == 0 else 2, subject=SUBJECT if i == 0 else "", body_html=BODY
            )
            for i in range(steps)
        ],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    sequence.refresh_from_db()
    return sequence


def make_mailbox(admin: Any, *, smtp_port: int = 25, email: str = "alice@example.test") -> Any:
    """A plain-SMTP mailbox (no IMAP, no authentication) with limits out of the way."""
    from sequencer.mail import mailboxes

    box = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {
                "provider": "smtp_imap",
                "email": email,
                "display_name": email.split("@")[0].title(),
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
            }
        ),
    )
    # per_hour's upper bound is 10,000 (domain.pacing.MailboxLimits).
    box.per_hour = 10_000
    box.per_day = 100_000
    box.min_spacing_seconds = 0
    box.save()
    # The benchmark measures sending, not the address proof: mark it proven.
    from sequencer.clock import system_clock
    from sequencer.mail import proof
    from sequencer.mail.models import AddressProof

    return proof.mark_proven(box, AddressProof.ADMIN, system_clock)


def make_people(count: int, tag: str) -> list[int]:
    """``count`` people with a company and one primary address each; their ids."""
    from sequencer.crm.models import Company, EmailAddress, Person

    company = Company.objects.create(name=f"Initech {tag}")
    people = Person.objects.bulk_create(
        [
            Person(first_name=f"Person{i}", last_name=f"Tester{tag}", company=company)
            for i in range(count)
        ]
    )
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(person=p, email=f"p{i}.{tag}@initech.test", is_primary=True)
            for i, p in enumerate(people)
        ]
    )
    return [p.pk for p in people]
