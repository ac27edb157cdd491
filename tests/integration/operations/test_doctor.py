"""The doctor names each misconfiguration it checks, with the fix, and passes a healthy
installation. Servers are real: an https server with a throw-away certificate for the base
URL, the SMTP peer and Dovecot for the mailbox, a closed port for what is unreachable."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from sequencer.cli import main
from sequencer.clock import system_clock
from sequencer.operations import doctor
from sequencer.operations.doctor import DiskUsage, Finding, Setup, Status
from sequencer.operations.heartbeat import Heart
from sequencer.testing.clock import FakeClock
from sequencer.workspace.models import User
from tests.peers.tls import PeerCertificate

pytestmark = pytest.mark.django_db


class _Hello(BaseHTTPRequestHandler):
    """Answers /healthz as Sequencer behind a proxy would; anything else is not found."""

    def do_GET(self) -> None:
        found = self.path == "/healthz"
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if found else b"not found")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_site(peer_certificate: PeerCertificate) -> Iterator[str]:
    """An https server on 127.0.0.1 that answers /healthz, as the proxy in front would."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = peer_certificate.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def setup(tmp_path: Path, https_site: str, peer_certificate: PeerCertificate) -> Setup:
    return Setup(
        secret_key=secrets.token_urlsafe(50),
        secret_key_source="environment",
        base_url=https_site,
        base_url_set=True,
        data_dir=tmp_path,
        clock=system_clock,
        http_timeout=2.0,
        tls_verify=peer_certificate.client_context(),
        mailbox_timeout=5.0,
    )


def only(findings: list[Finding]) -> Finding:
    [finding] = findings
    return finding


def test_a_healthy_installation_passes_every_check(
    setup: Setup, admin: User, peer_mailbox: Any
) -> None:
    peer_mailbox(admin)
    Heart("doctor-test:1:ok").beat(system_clock.now())

    findings = doctor.examine(setup)

    assert [(f.name, f.status) for f in findings] == [
        ("secret key", Status.OK),
        ("base URL", Status.OK),
        ("base URL reachable", Status.OK),
        ("database", Status.OK),
        ("migrations", Status.OK),
        ("clock", Status.OK),
        ("mailbox alice@example.test", Status.OK),
        ("workers", Status.OK),
        ("disk space", Status.OK),
    ], findings


@pytest.mark.parametrize("key", ["", "change-me", "django-insecure-abc", "short-key", "a" * 60])
def test_a_missing_example_short_or_simple_secret_key_fails_with_how_to_make_one(
    setup: Setup, key: str
) -> None:
    from dataclasses import replace

    finding = only(doctor.check_secret_key(replace(setup, secret_key=key)))
    assert finding.status is Status.FAIL
    assert "SEQUENCER_SECRET_KEY" in finding.message and "token_urlsafe" in finding.message


def test_an_http_base_url_fails_naming_one_click_unsubscribe(setup: Setup) -> None:
    from dataclasses import replace

    public = only(doctor.check_base_url(replace(setup, base_url="http://sequencer.example.com")))
    local = only(doctor.check_base_url(replace(setup, base_url="http://127.0.0.1:8000")))
    unset = only(doctor.check_base_url(replace(setup, base_url_set=False)))

    assert public.status is Status.FAIL and "RFC 8058" in public.message
    assert local.status is Status.WARN and "trial" in local.message
    assert unset.status is Status.FAIL and "SEQUENCER_BASE_URL is not set" in unset.message


def test_an_unreachable_base_url_fails_saying_what_to_check(setup: Setup, closed_port: int) -> None:
    from dataclasses import replace

    url = f"https://127.0.0.1:{closed_port}"
    finding = only(doctor.check_base_url_reachable(replace(setup, base_url=url)))

    assert finding.status is Status.FAIL
    assert f"GET {url}/healthz failed" in finding.message
    assert "sequencer serve" in finding.message


def test_a_base_url_that_leads_elsewhere_fails(setup: Setup, https_site: str) -> None:
    from dataclasses import replace

    finding = only(doctor.check_base_url_reachable(replace(setup, base_url=https_site + "/app")))

    assert finding.status is Status.FAIL
    assert "answered 404, not 200: the base URL does not lead to Sequencer" in finding.message


def test_a_pending_migration_fails_with_the_command_to_run(setup: Setup) -> None:
    # As a database of the previous release: the newest operations migration not applied.
    MigrationRecorder(connection).record_unapplied("operations", "0001_worker_heartbeat")

    finding = only(doctor.check_migrations(setup))

    assert finding.status is Status.FAIL
    assert finding.message.startswith("1 not applied (operations.0001_worker_heartbeat)")
    assert "sequencer migrate" in finding.message


def test_while_migrations_are_pending_the_checks_of_sequencer_s_tables_wait(setup: Setup) -> None:
    MigrationRecorder(connection).record_unapplied("operations", "0001_worker_heartbeat")

    findings = doctor.examine(
        setup, [doctor.check_migrations, doctor.check_mailboxes, doctor.check_workers]
    )

    assert [(f.name, f.status) for f in findings] == [
        ("migrations", Status.FAIL),
        ("mailboxes", Status.WARN),
        ("workers", Status.WARN),
    ]
    assert findings[1].message == "Not checked until the migrations are applied."


@pytest.mark.parametrize(
    ("offset", "status"),
    [(timedelta(seconds=20), Status.WARN), (timedelta(minutes=-10), Status.FAIL)],
)
def test_a_clock_apart_from_the_database_is_named_with_ntp_as_the_fix(
    setup: Setup, offset: timedelta, status: Status
) -> None:
    from dataclasses import replace

    skewed = FakeClock(system_clock.now() + offset)

    finding = only(doctor.check_clock_skew(replace(setup, clock=skewed)))

    assert finding.status is status
    assert f"differ by {abs(offset.total_seconds()):.0f} s" in finding.message
    assert "NTP" in finding.message


def test_a_mailbox_whose_smtp_server_refuses_the_login_fails_at_the_login_step(
    setup: Setup, admin: User, peer_mailbox: Any, smtp_server: Any
) -> None:
    peer_mailbox(
        admin,
        imap=False,
        smtp={
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "username": "alice",
            "password": "not-her-password",
        },
    )

    finding = only(doctor.check_mailboxes(setup))

    assert finding.name == "mailbox alice@example.test"
    assert finding.status is Status.FAIL
    assert finding.message.startswith("sending (login):")
    assert "Settings > Mailboxes" in finding.message


def test_no_worker_heartbeat_fails_saying_how_to_start_one(setup: Setup) -> None:
    never = only(doctor.check_workers(setup))
    Heart("gone:1:x").beat(system_clock.now() - timedelta(minutes=5))
    stale = only(doctor.check_workers(setup))

    assert never.status is stale.status is Status.FAIL
    assert "no worker has ever run" in never.message
    assert "the last beat was at" in stale.message and "sequencer worker" in stale.message


def test_low_disk_space_in_the_data_directory_is_a_warning(setup: Setup) -> None:
    from dataclasses import replace

    real = only(doctor.check_disk_space(replace(setup, min_free_bytes=1 << 62)))
    nearly_full = only(
        doctor.check_disk_space(
            replace(setup, disk_usage=lambda path: DiskUsage(100 << 30, 97 << 30, 3 << 30))
        )
    )

    assert real.status is nearly_full.status is Status.WARN
    assert "3.0 GB (3%) free" in nearly_full.message
    assert "SEQUENCER_DATA_DIR" in nearly_full.message


def test_checks_needing_the_database_are_skipped_when_it_is_down(setup: Setup) -> None:
    def check_database(_: Setup) -> list[Finding]:
        return [Finding("database", Status.FAIL, "Cannot connect")]

    findings = doctor.examine(setup, [check_database, doctor.check_migrations])

    assert findings[1] == Finding("migrations", Status.FAIL, "Not checked: no database connection.")


def test_the_doctor_command_prints_one_line_per_check_and_exits_1_when_something_fails() -> None:
    result = CliRunner().invoke(main, ["doctor"])

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("✗ workers: No worker") for line in lines)
    assert any(line.startswith("✓ database: Connected") for line in lines)
    assert "to fix" in result.stderr


def test_the_doctor_command_exits_0_on_a_healthy_installation(
    https_site: str,
    peer_certificate: PeerCertificate,
    admin: User,
    peer_mailbox: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = secrets.token_urlsafe(50)
    settings.SECRET_KEY, settings.BASE_URL = key, https_site
    monkeypatch.setenv("SEQUENCER_SECRET_KEY", key)
    monkeypatch.setenv("SEQUENCER_BASE_URL", https_site)
    # A private CA, as an admin would name theirs: httpx honours SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(peer_certificate.cert_file))
    peer_mailbox(admin)
    Heart("doctor-test:2:ok").beat(system_clock.now())

    result = CliRunner().invoke(main, ["doctor"])

    assert result.exit_code == 0, result.output
    assert all(line.startswith("✓") for line in result.stdout.splitlines()[:-1]), result.output
    assert result.stdout.splitlines()[-1] == "All good."
