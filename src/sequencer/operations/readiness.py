"""Whether this installation can do its work: the database answers, its tables are those
of this code, and a worker is running. ``/readyz`` reports these checks.

Each check is cheap enough for a load balancer or an orchestrator to call every few
seconds: at most the two queries of the migration check (until every migration is seen
applied, then none) and one for the heartbeat.

A failing check says in plain words what to fix. No reason names a host, a user or any
part of the database URL: the endpoint needs no sign-in.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from sequencer.operations.heartbeat import FRESH_FOR, alive
from sequencer.operations.models import WorkerHeartbeat

log = logging.getLogger(__name__)

OK = "ok"
NOT_CHECKED = "Not checked: the database cannot be reached."


@dataclass(frozen=True)
class Check:
    name: str
    reason: str = ""  # empty when the check passed

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {check.name: check.reason or OK for check in self.checks},
        }


class Migrations:
    """Whether the database has every migration this code ships.

    The migration files are read once per process (they change only with the code, and a
    code change restarts the process). Once every leaf is seen applied the answer is kept:
    a running installation never un-applies a migration, so from then on the check costs
    no query at all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leaves: dict[tuple[str, str], tuple[tuple[str, str], ...]] | None = None
        self._all_applied = False

    def forget(self) -> None:
        """Check again at the next call (tests that un-apply a migration on purpose)."""
        with self._lock:
            self._all_applied = False

    def unapplied(self, connection: BaseDatabaseWrapper) -> list[str]:
        """The leaf migrations the database lacks, as ``app.name``; empty when up to date."""
        if self._all_applied:
            return []
        leaves = self._leaf_nodes()
        # Two queries: whether django_migrations exists (a database never migrated lacks
        # it), then its rows.
        applied = set(MigrationRecorder(connection).applied_migrations())
        missing = [
            f"{app}.{name}"
            for (app, name), replaced in sorted(leaves.items())
            # A squashed migration counts as applied when everything it replaces is.
            if (app, name) not in applied and not (replaced and set(replaced) <= applied)
        ]
        if not missing:
            self._all_applied = True
        return missing

    def _leaf_nodes(self) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
        with self._lock:
            if self._leaves is None:
                # Without a connection the loader reads only the files: the graph's leaves
                # are the newest migration of each app (squashed ones as themselves).
                loader = MigrationLoader(None, ignore_no_migrations=True)
                self._leaves = {
                    key: tuple(tuple(r) for r in loader.graph.nodes[key].replaces or ())
                    for key in loader.graph.leaf_nodes()
                }
            return self._leaves


MIGRATIONS = Migrations()


def check(connection: BaseDatabaseWrapper, now: datetime) -> Readiness:
    """Database, then migrations, then the worker: a check that cannot run because an
    earlier one failed says so instead of failing with a confusing reason of its own.

    Any query that fails counts against the database: once the migrations are known to
    be applied, the heartbeat query is the one that finds a database gone away.
    """
    try:
        connection.ensure_connection()
        missing = MIGRATIONS.unapplied(connection)
        running = None if missing else alive(now)
    except DatabaseError:
        # The details (host, port, user) go to the log, which only the operator reads.
        log.warning("readiness: the database cannot be reached", exc_info=True)
        return Readiness(
            (
                Check(
                    "database",
                    "The database cannot be reached: check DATABASE_URL and that the "
                    "database server is running and accepts connections.",
                ),
                Check("migrations", NOT_CHECKED),
                Check("worker", NOT_CHECKED),
            )
        )
    if running is None:
        shown = ", ".join(missing[:5])
        if len(missing) > 5:
            shown += f" and {len(missing) - 5} more"
        return Readiness(
            (
                Check("database"),
                Check(
                    "migrations",
                    f"The database lacks migrations of this version ({shown}): "
                    "run `sequencer migrate`.",
                ),
                Check("worker", "Not checked until the migrations are applied."),
            )
        )
    return Readiness((Check("database"), Check("migrations"), _worker(running)))


def _worker(running: list[WorkerHeartbeat]) -> Check:
    if running:
        return Check("worker")
    seconds = int(FRESH_FOR.total_seconds())
    return Check(
        "worker",
        f"No worker has reported in the last {seconds} s: start `sequencer worker`, "
        "or `sequencer serve` without --no-worker.",
    )
