"""``sequencer doctor``: is this installation set up to send, and if not, what to fix.

Each check looks at one thing and returns :class:`Finding`s (most one, the mailbox check
one per mailbox): ``ok``, ``warn`` (works, but something will bite) or ``fail`` (something
does not work), with a message that says what to do. :func:`examine` runs them all; a
check that raises becomes a failure of its own, so one broken part never hides the
others. What a check reads from outside (clock, disk usage, thresholds, TLS trust) comes
in through :class:`Setup`, so that the tests can show each finding for real.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from ipaddress import ip_address
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from sequencer.clock import Clock


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    name: str
    status: Status
    message: str


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


def _disk_usage(path: Path) -> DiskUsage:
    usage = shutil.disk_usage(path)
    return DiskUsage(usage.total, usage.used, usage.free)


@dataclass(frozen=True)
class Setup:
    """What the checks examine, and how far they accept a difference."""

    secret_key: str
    # Where the secret key came from: "environment", or "file" (generated in the data dir).
    secret_key_source: str
    base_url: str
    # Whether SEQUENCER_BASE_URL is set at all (else the default, a local address).
    base_url_set: bool
    data_dir: Path
    clock: Clock
    http_timeout: float = 3.0
    # Trust for the base URL's certificate: True (the system's), or a context.
    tls_verify: ssl.SSLContext | bool = True
    max_clock_skew: timedelta = timedelta(seconds=5)
    min_free_bytes: int = 1 << 30
    min_free_ratio: float = 0.05
    disk_usage: Callable[[Path], DiskUsage] = field(default=_disk_usage)
    mailbox_timeout: float = 10.0


Check = Callable[[Setup], Iterable[Finding]]


def _ok(name: str, message: str) -> list[Finding]:
    return [Finding(name, Status.OK, message)]


def _warn(name: str, message: str) -> list[Finding]:
    return [Finding(name, Status.WARN, message)]


def _fail(name: str, message: str) -> list[Finding]:
    return [Finding(name, Status.FAIL, message)]


# -- the secret key and the base URL ---------------------------------------------------

# Keys seen in examples, tutorials and this project's own tests: never for real use.
KNOWN_KEYS = ("change-me", "changeme", "secret", "dev", "development", "test", "insecure")
MIN_KEY_LENGTH = 50


def check_secret_key(setup: Setup) -> list[Finding]:
    name, key = "secret key", setup.secret_key
    fix = (
        "set SEQUENCER_SECRET_KEY to a long random value (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'), the same on every machine; keep the old one "
        "in SEQUENCER_ENCRYPTION_KEYS (after the new) so stored mailbox passwords stay readable"
    )
    lowered = key.lower()
    if not key:
        return _fail(name, f"The secret key is empty: {fix}.")
    if lowered in KNOWN_KEYS or lowered.startswith("django-insecure"):
        return _fail(name, f"The secret key is a well-known example value: {fix}.")
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < 5:
        return _fail(
            name,
            f"The secret key is too short or too simple ({len(key)} characters; at least "
            f"{MIN_KEY_LENGTH} of many kinds needed): {fix}.",
        )
    if setup.secret_key_source == "file":
        return _ok(
            name,
            f"Generated into {setup.data_dir / 'secret_key'}; on several machines set "
            "SEQUENCER_SECRET_KEY to the same value everywhere instead.",
        )
    return _ok(name, f"Set in SEQUENCER_SECRET_KEY ({len(key)} characters).")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(setup: Setup) -> list[Finding]:
    name, url = "base URL", setup.base_url
    parts = urlsplit(url)
    if not setup.base_url_set:
        return _fail(
            name,
            f"SEQUENCER_BASE_URL is not set, so links in emails (unsubscribe, images) point "
            f"to {url}, which recipients cannot open: set it to the public https address.",
        )
    if parts.scheme == "https" and parts.hostname:
        return _ok(name, f"{url} (https: one-click unsubscribe works).")
    reason = (
        f"{url} is not https: mail providers only honour one-click unsubscribe (RFC 8058) "
        "at an https address, and sign-in cookies travel in the clear. Put a TLS-terminating "
        "proxy in front and set SEQUENCER_BASE_URL to its https:// address."
    )
    if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
        return _warn(name, f"{reason} (Fine for a trial on this machine.)")
    return _fail(name, reason)


def check_base_url_reachable(setup: Setup) -> list[Finding]:
    """GET the base URL's /healthz: reachable, and leading to this installation (links in
    emails, unsubscribe and proof pages all start with the base URL)."""
    name, url = "base URL reachable", setup.base_url + "/healthz"
    try:
        with httpx.Client(
            timeout=setup.http_timeout, verify=setup.tls_verify, follow_redirects=False
        ) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return _fail(
            name,
            f"GET {url} failed ({type(exc).__name__}: {exc}): check that `sequencer serve` "
            "runs, that the proxy forwards to it, and that the name resolves from here.",
        )
    if response.status_code != 200:
        return _fail(
            name,
            f"GET {url} answered {response.status_code}, not 200: the base URL does not "
            "lead to Sequencer. Check SEQUENCER_BASE_URL and the proxy's forwarding.",
        )
    return _ok(name, f"GET {url} answered 200.")


# -- the database ----------------------------------------------------------------------


def check_database(setup: Setup) -> list[Finding]:
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception as exc:
        return _fail(
            "database",
            f"Cannot connect ({type(exc).__name__}: {exc}): check DATABASE_URL and that "
            "the database server runs.",
        )
    return _ok("database", f"Connected ({connection.vendor}, {connection.settings_dict['NAME']}).")


def pending_migrations() -> list[str]:
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def check_migrations(setup: Setup) -> list[Finding]:
    pending = pending_migrations()
    if not pending:
        return _ok("migrations", "All applied.")
    shown = ", ".join(pending[:5]) + (", ..." if len(pending) > 5 else "")
    return _fail(
        "migrations",
        f"{len(pending)} not applied ({shown}): back up, then run `sequencer migrate` "
        "(README: Upgrading).",
    )


def database_now() -> datetime:
    """The database server's clock (for SQLite, this machine's, read through SQLite)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # clock_timestamp(), not now(): now() is when the transaction began.
            cursor.execute("SELECT clock_timestamp()")
            value: Any = cursor.fetchone()[0]
            return value.astimezone(UTC)
        cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        return datetime.fromisoformat(cursor.fetchone()[0]).replace(tzinfo=UTC)


def check_clock_skew(setup: Setup) -> list[Finding]:
    before = setup.clock.now()
    db = database_now()
    after = setup.clock.now()
    # The database's reading lies between the two local ones when the clocks agree.
    local = before + (after - before) / 2
    skew = abs((db - local).total_seconds())
    name = "clock"
    if skew <= setup.max_clock_skew.total_seconds():
        return _ok(name, f"This machine and the database agree within {skew:.1f} s.")
    message = (
        f"This machine's clock and the database's differ by {skew:.0f} s: emails are "
        "scheduled to the minute and leases are timed, so run NTP (chrony or "
        "systemd-timesyncd) on every machine."
    )
    return (_fail if skew > 60 else _warn)(name, message)


# -- mailboxes, workers, disk -----------------------------------------------------------


def check_mailboxes(setup: Setup) -> list[Finding]:
    """The Settings page's connection test for every mailbox (without its side effects:
    the doctor sends no proof message), plus whether the address is proven and whether
    the mailbox may send."""
    from sequencer.mail.mailboxes import provider_for
    from sequencer.mail.models import Mailbox
    from sequencer.mail.proof import unproven_message
    from sequencer.mail.readiness import why_cannot_send

    findings = []
    boxes = Mailbox.objects.select_related("owner").order_by("email", "id")
    for mailbox in boxes:
        name = f"mailbox {mailbox.email}"
        try:
            report = provider_for(
                mailbox, clock=setup.clock, timeout=setup.mailbox_timeout
            ).test_connection()
        except Exception as exc:
            findings.append(Finding(name, Status.FAIL, f"Cannot be checked: {exc}"))
            continue
        problems, worries = [], []
        if not report.sending.ok:
            problems.append(f"sending ({report.sending.step}): {report.sending.message}")
        if report.reading.ok is False:
            problems.append(f"reading: {report.reading.message}")
        elif report.reading.ok is None:
            worries.append(report.reading.message)
        if not mailbox.address_proven:
            problems.append(unproven_message(mailbox))
        blocked = why_cannot_send(mailbox, setup.clock)
        if blocked and blocked not in problems and mailbox.address_proven:
            problems.append(blocked)
        if problems:
            fix = " Fix it in Settings > Mailboxes, then run its Test connection."
            findings.append(Finding(name, Status.FAIL, " ".join(problems) + fix))
        elif worries:
            findings.append(Finding(name, Status.WARN, " ".join(worries)))
        else:
            findings.append(Finding(name, Status.OK, report.sending.message))
    if not findings:
        return _warn(
            "mailboxes", "No mailbox is connected: members connect one in Settings > Mailboxes."
        )
    return findings


def check_workers(setup: Setup) -> list[Finding]:
    from sequencer.operations.heartbeat import FRESH_FOR, alive, last_beat

    now = setup.clock.now()
    running = alive(now)
    if running:
        names = ", ".join(w.name for w in running[:5])
        return _ok("workers", f"{len(running)} alive ({names}).")
    last = last_beat(now)
    when = (
        "no worker has ever run"
        if last is None
        else f"the last beat was at {last:%Y-%m-%d %H:%M:%S} UTC"
    )
    return _fail(
        "workers",
        f"No worker has beaten in the last {FRESH_FOR.total_seconds():.0f} s ({when}), so "
        "nothing is sent: start `sequencer worker` (or `sequencer serve` without --no-worker).",
    )


def check_disk_space(setup: Setup) -> list[Finding]:
    usage = setup.disk_usage(setup.data_dir)
    free_gb = usage.free / (1 << 30)
    share = usage.free / usage.total if usage.total else 0.0
    where = f"{free_gb:.1f} GB ({share:.0%}) free in {setup.data_dir}"
    if usage.free < setup.min_free_bytes or share < setup.min_free_ratio:
        return _warn(
            "disk space",
            f"Only {where}: SQLite needs room to write (and a backup as much again); "
            "free some space or move SEQUENCER_DATA_DIR to a larger disk.",
        )
    return _ok("disk space", where[0].upper() + where[1:] + ".")


# Configuration first, then what depends on the database, then the outside world.
CHECKS: tuple[Check, ...] = (
    check_secret_key,
    check_base_url,
    check_base_url_reachable,
    check_database,
    check_migrations,
    check_clock_skew,
    check_mailboxes,
    check_workers,
    check_disk_space,
)
NEEDS_DATABASE = {check_migrations, check_clock_skew, check_mailboxes, check_workers}
# Checks that read Sequencer's own tables: on a database not yet migrated, their errors
# ("no such table") would only repeat the migrations' finding, less clearly.
NEEDS_TABLES = {check_mailboxes, check_workers}


def examine(setup: Setup, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Every check's findings, in order. Checks that need the database are skipped (one
    failure each) when it cannot be reached, and those that read Sequencer's tables (a
    warning each) while migrations are pending."""
    findings: list[Finding] = []
    database_down = migrations_pending = False
    for check in checks:
        label = check.__name__.removeprefix("check_").replace("_", " ")
        if database_down and check in NEEDS_DATABASE:
            findings.append(Finding(label, Status.FAIL, "Not checked: no database connection."))
            continue
        if migrations_pending and check in NEEDS_TABLES:
            findings.append(
                Finding(label, Status.WARN, "Not checked until the migrations are applied.")
            )
            continue
        try:
            found = list(check(setup))
        except Exception as exc:
            found = [Finding(label, Status.FAIL, f"The check itself failed: {exc}")]
        if any(f.name == "database" and f.status is Status.FAIL for f in found):
            database_down = True
        if any(f.name == "migrations" and f.status is Status.FAIL for f in found):
            migrations_pending = True
        findings.extend(found)
    return findings


def configured_setup(clock: Clock, **overrides: Any) -> Setup:
    """The :class:`Setup` of this installation, as the settings and environment say."""
    import os

    from django.conf import settings

    return Setup(
        secret_key=str(settings.SECRET_KEY),
        secret_key_source="environment" if os.environ.get("SEQUENCER_SECRET_KEY") else "file",
        base_url=settings.BASE_URL,
        base_url_set=bool(os.environ.get("SEQUENCER_BASE_URL")),
        data_dir=Path(settings.DATA_DIR),
        clock=clock,
        **overrides,
    )
