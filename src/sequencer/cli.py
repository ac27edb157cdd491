"""The ``sequencer`` command: a thin layer over the services."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer.config.settings")
    import django

    django.setup()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Sequencer: automated email sequences sent from your own mailbox."""


@main.command()
def migrate() -> None:
    """Create or update the database tables."""
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


def _unapplied_migrations() -> int:
    """How many migrations the database still lacks (all of them when it was never set up)."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Serve pages and API only; run workers apart.")
def serve(host: str, port: int, threads: int, no_worker: bool) -> None:
    """Serve the web app and API (with an embedded worker unless --no-worker)."""
    _django()
    missing = _unapplied_migrations()
    if missing:
        # Every page would fail on a missing table: say what to do instead of serving 500s.
        raise click.ClickException(
            f"The database is not ready ({missing} migration{'s' if missing != 1 else ''} "
            "not applied). Run `sequencer migrate` first, then `sequencer serve` again."
        )
    from django.core.management import call_command
    from waitress import serve as waitress_serve

    from sequencer.clock import system_clock
    from sequencer.config.wsgi import application
    from sequencer.operations.metrics import serve_on_configured_address

    call_command("collectstatic", interactive=False, verbosity=0)
    # Prometheus' own server on the admin's address, when SEQUENCER_METRICS_ADDRESS is set.
    serve_on_configured_address(system_clock)
    stop = threading.Event()
    if not no_worker:
        from sequencer.engine.worker import Worker, inbound_handler
        from sequencer.mail.sync.runner import start_idle_loop

        # The embedded worker makes one process enough for a small team on SQLite.
        embedded = Worker(clock=system_clock)
        threading.Thread(target=embedded.run, args=(stop,), name="worker", daemon=True).start()
        start_idle_loop(
            stop, owner=embedded.name, clock=system_clock, act=inbound_handler(system_clock)
        )
    click.echo(f"Sequencer is serving on http://{host}:{port}/")
    try:
        waitress_serve(application, host=host, port=port, threads=threads, ident="sequencer")
    finally:
        stop.set()


@main.command()
@click.option(
    "--once",
    is_flag=True,
    help="Run one tick (settle, claim, send), one round of webhook deliveries, and exit.",
)
@click.option(
    "--send-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="How many mailboxes send at once (default: SEQUENCER_SEND_CONCURRENCY, 8).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Emails claimed per tick (default: 4 per sending mailbox slot).",
)
@click.option(
    "--idle-seconds",
    default=2.0,
    show_default=True,
    type=float,
    help="How long to wait when nothing was due.",
)
def worker(
    once: bool, send_concurrency: int | None, batch_size: int | None, idle_seconds: float
) -> None:
    """Send due emails. Run as many as you like, on any machines sharing the database."""
    _django()
    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker, inbound_handler

    engine = Worker(send_concurrency=send_concurrency, batch_size=batch_size, clock=system_clock)
    if once:
        from sequencer.webhooks.delivery import deliver_due

        report = engine.tick()
        delivered = deliver_due(system_clock.now(), owner=engine.name, clock=system_clock)
        click.echo(
            f"claimed {report.claimed}, handed over {report.handed_over}, settled {report.settled}"
            f", webhook attempts {delivered}"
        )
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from sequencer.mail.sync.runner import start_idle_loop
    from sequencer.operations.metrics import serve_on_configured_address

    serve_on_configured_address(system_clock)
    # Replies arrive through IMAP IDLE within seconds, not at the next poll.
    start_idle_loop(stop, owner=engine.name, clock=system_clock, act=inbound_handler(system_clock))
    click.echo(f"worker {engine.name} running; Ctrl-C stops it once the emails in flight are sent")
    engine.run(stop, idle_seconds=idle_seconds)


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
def housekeeping(dry_run: bool) -> None:
    """Remove what is kept no longer (raw inbound messages, unused files, seen calendar
    events, finished deliveries), as the SEQUENCER_KEEP_*_DAYS settings say. Workers also
    do this once a day."""
    _django()
    from sequencer.clock import system_clock
    from sequencer.domain.errors import InvalidInput
    from sequencer.housekeeping.retention_settings import configured
    from sequencer.housekeeping.sweep import KINDS, sweep

    try:
        retention = configured()
    except InvalidInput as wrong:
        raise click.ClickException(wrong.message) from None
    report = sweep(system_clock.now(), retention, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for kind in KINDS:
        click.echo(f"{kind.name}: {verb} {report.removed[kind.name]} {kind.label}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option(
    "--keys-only",
    is_flag=True,
    help="Only the keys that decrypt stored secrets (with PostgreSQL, next to pg_dump).",
)
def backup(file: Path, force: bool, keys_only: bool) -> None:
    """Back the SQLite database and the encryption keys up into FILE (mode 0600), while
    workers keep sending. On PostgreSQL: pg_dump, plus --keys-only."""
    _django()
    from django.conf import settings

    from sequencer.clock import system_clock
    from sequencer.operations import backup as backups
    from sequencer.operations.key_material import read_key_material

    keys = read_key_material(settings.DATA_DIR, os.environ)
    database = settings.DATABASES["default"]
    on_sqlite = database["ENGINE"] == "django.db.backends.sqlite3"
    try:
        if keys_only:
            report = backups.backup_keys(file, keys, now=system_clock.now(), force=force)
        elif not on_sqlite:
            raise click.ClickException(
                "The database is PostgreSQL: back it up with pg_dump, and the keys with "
                "Sequencer, both:\n"
                f"  1. {backups.pg_dump_command(database)}\n"
                f"  2. sequencer backup --keys-only {file}\n"
                "Without the keys, the mailbox passwords and tokens in the dump cannot be read."
            )
        else:
            report = _backup_sqlite_with_progress(Path(database["NAME"]), file, keys, force)
    except backups.BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    described = report.manifest["database"]
    if described is not None:
        rows = sum(t["rows"] for t in described["tables"].values())
        click.echo(f"Database: {len(described['tables'])} tables, {rows} rows.")
    for key, fingerprint in report.manifest["keys"].items():
        click.echo(f"Key: {key} (fingerprint {fingerprint})")
    if keys.environment:
        click.echo(
            "Keys set in the environment are in the archive too: restore sets none of them; "
            "set the same variables where you restore."
        )
    click.echo(f"Backup written to {report.path} (mode 0600: it holds keys).")


def _backup_sqlite_with_progress(database: Path, file: Path, keys: Any, force: bool) -> Any:
    from rich.progress import Progress

    from sequencer.clock import system_clock
    from sequencer.operations.backup import backup_sqlite

    with Progress(transient=True) as progress:
        task = progress.add_task("Copying the database", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return backup_sqlite(
            database, file, keys, now=system_clock.now(), force=force, progress=advance
        )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to restore (empty or missing); by default SEQUENCER_DATA_DIR.",
)
def restore(file: Path, data_dir: Path | None) -> None:
    """Restore a backup into an empty data directory, after checking every file's sha256,
    the database's integrity and its row counts."""
    # No Django here: loading the settings would create files in the data directory.
    from sequencer.operations.key_material import fingerprint
    from sequencer.operations.restore import RestoreRefused
    from sequencer.operations.restore import restore as restore_archive

    target = (data_dir or Path(os.environ.get("SEQUENCER_DATA_DIR", "./data"))).resolve()
    try:
        report = restore_archive(file, target)
    except RestoreRefused as refused:
        raise click.ClickException(str(refused)) from None
    manifest = report.manifest
    described = manifest["database"]
    click.echo(
        f"Restored into {target} a backup made {manifest['created_at']} by Sequencer "
        f"{manifest['sequencer_version']}: {', '.join(report.restored) or 'no files'}."
    )
    click.echo(f"Checked: the sha256 of {len(manifest['members'])} files.")
    if described is not None:
        rows = sum(t["rows"] for t in described["tables"].values())
        click.echo(
            f"Checked: integrity_check ok; {len(described['tables'])} tables and {rows} rows, "
            "as the manifest counted."
        )
    else:
        click.echo("The archive holds keys only: restore the database with pg_restore.")
    for name, value in report.environment_keys.items():
        current = os.environ.get(name)
        same = current is not None and fingerprint(current.encode()) == fingerprint(value.encode())
        click.echo(
            f"{name} came from the environment: "
            + (
                "the one set here is the same."
                if same
                else f"set it to the value in {file}'s keys/environment.json "
                f"(tar -xzOf {file} keys/environment.json) before starting Sequencer."
            )
        )
    restored_database = target / "sequencer.sqlite3"
    database_url = os.environ.get("DATABASE_URL", "")
    if described is not None and database_url and str(restored_database) not in database_url:
        click.echo(f"DATABASE_URL names another database: unset it to use {restored_database}.")


@main.command()
def doctor() -> None:
    """Check the set-up (keys, base URL, database, migrations, clocks, mailboxes, workers,
    disk) and say what to fix; exit 1 when something is wrong."""
    _django()
    from sequencer.clock import system_clock
    from sequencer.operations.doctor import Status, configured_setup, examine

    findings = examine(configured_setup(system_clock))
    marks = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗"}
    for finding in findings:
        click.echo(f"{marks[finding.status]} {finding.name}: {finding.message}")
    failed = sum(f.status is Status.FAIL for f in findings)
    warned = sum(f.status is Status.WARN for f in findings)
    if failed:
        click.echo(f"{failed} to fix, {warned} to look at.", err=True)
        sys.exit(1)
    click.echo(f"Nothing to fix ({warned} to look at)." if warned else "All good.")


@main.group()
def user() -> None:
    """Manage workspace members."""


@user.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters, not a common one.")
@click.option("--name", default="")
@click.option("--admin", is_flag=True, help="Make the member a workspace admin.")
@click.option(
    "--workspace",
    "workspace_name",
    default="My workspace",
    show_default=True,
    help="Name of the workspace, used when this creates it.",
)
def user_create(email: str, password: str, name: str, admin: bool, workspace_name: str) -> None:
    """Create a member (the first one created sets the workspace up as its admin)."""
    _django()
    from sequencer.domain.errors import InvalidInput
    from sequencer.workspace import services

    try:
        if not services.is_set_up():
            created = services.set_up_workspace(workspace_name, email, password, admin_name=name)
        else:
            created = services.create_user(
                email, password, name=name, role="admin" if admin else "member"
            )
    except InvalidInput as exc:
        raise click.ClickException(
            f"{exc.field}: {exc.message}" if exc.field else exc.message
        ) from None
    click.echo(f"Created {created.role} {created.email}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="cli")
@click.option(
    "--read-only",
    is_flag=True,
    help="Only reads (GET) are allowed with this token; by default it reads and writes.",
)
def token_create(email: str, name: str, read_only: bool) -> None:
    """Create an API token for EMAIL and print only the token."""
    _django()
    from sequencer.workspace import services
    from sequencer.workspace.models import TokenScope, User

    member = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if member is None:
        raise click.ClickException(f"No active member has the address {email}.")
    scope = TokenScope.READ_ONLY if read_only else TokenScope.READ_WRITE
    _, raw = services.create_token(member, name, scope)
    click.echo(raw)


@main.group("import")
def import_() -> None:
    """Import CRM records from CSV files."""


def _run_import(kind: str, file: Path) -> None:
    _django()
    from rich.progress import Progress

    from sequencer.clock import system_clock
    from sequencer.crm.importing import import_csv

    with file.open("rb") as stream, Progress(transient=True) as progress:
        task = progress.add_task(f"Importing {kind}", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        report = import_csv(kind, stream, progress=advance, clock=system_clock)
    for error in report.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    click.echo(f"{report.created} created, {report.updated} updated, {len(report.errors)} failed")
    if report.errors:
        sys.exit(1)


@import_.command("people")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_people(file: Path) -> None:
    """Import people from a CSV file (matched on email address)."""
    _run_import("people", file)


@import_.command("companies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_companies(file: Path) -> None:
    """Import companies from a CSV file (matched on domain)."""
    _run_import("companies", file)


if __name__ == "__main__":
    main()
