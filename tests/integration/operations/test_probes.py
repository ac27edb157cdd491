"""``/healthz`` says the process answers; ``/readyz`` says whether the installation can
work, and when it cannot, what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.utils import load_backend
from django.test import Client

from sequencer.clock import system_clock
from sequencer.operations import readiness
from sequencer.operations.heartbeat import FRESH_FOR, Heart

pytestmark = pytest.mark.django_db

NO_WORKER = (
    "No worker has reported in the last 90 s: start `sequencer worker`, "
    "or `sequencer serve` without --no-worker."
)


@pytest.fixture(autouse=True)
def migrations_checked_afresh() -> Iterator[None]:
    """Each test sees the migration check as a new process would."""
    readiness.MIGRATIONS.forget()
    yield
    readiness.MIGRATIONS.forget()


def _beating(name: str = "probe:1:abc") -> Heart:
    heart = Heart(name)
    heart.beat(system_clock.now())
    return heart


def test_healthz_answers_ok_without_a_query_a_session_or_an_allowed_host(
    django_assert_num_queries: Any,
) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz", headers={"Host": "10.1.2.3:8000"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not response.cookies
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_ready_with_a_fresh_heartbeat_in_at_most_three_queries_then_one(
    django_assert_max_num_queries: Any,
) -> None:
    _beating()
    with django_assert_max_num_queries(3):
        response = Client().get("/readyz", headers={"Host": "10.1.2.3:8000"})
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }
    # Migrations, once seen applied, are not read again.
    with django_assert_max_num_queries(1):
        assert Client().get("/readyz/").status_code == 200


def test_readyz_is_not_ready_once_the_worker_has_stopped() -> None:
    heart = _beating()
    heart.stop(system_clock.now())

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "migrations": "ok", "worker": NO_WORKER},
    }


def test_readyz_is_not_ready_when_no_worker_ever_reported_or_the_last_beat_is_stale() -> None:
    assert Client().get("/readyz").json()["checks"]["worker"] == NO_WORKER

    Heart("silent:1:abc").beat(system_clock.now() - FRESH_FOR - timedelta(seconds=1))

    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == NO_WORKER


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_migration_the_database_lacks_and_how_to_apply_it() -> None:
    _beating()
    assert Client().get("/readyz").status_code == 200
    call_command("migrate", "operations", "zero", verbosity=0)
    try:
        # A real process would never see this (migrations do not un-apply while it
        # runs); a new one would.
        readiness.MIGRATIONS.forget()
        response = Client().get("/readyz")
    finally:
        call_command("migrate", "operations", verbosity=0)

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"].startswith("The database lacks migrations of this version (")
    assert "operations.0001_worker_heartbeat" in checks["migrations"]
    assert checks["migrations"].endswith("run `sequencer migrate`.")
    assert checks["worker"] == "Not checked until the migrations are applied."


def test_an_unreachable_database_fails_every_check_without_naming_its_address_or_password() -> None:
    settings_dict = dict(connection.settings_dict)
    settings_dict["PASSWORD"] = "the-database-password"
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-directory/sequencer.sqlite3"
    else:
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", "1"
    unreachable = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "down")

    result = readiness.check(unreachable, system_clock.now())

    assert not result.ready
    body = str(result.as_json())
    assert "The database cannot be reached: check DATABASE_URL" in body
    for secret in ("the-database-password", "nonexistent-directory", "127.0.0.1"):
        assert secret not in body
    unreachable.close()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_only_get_and_head_with_a_policy_that_loads_nothing(path: str) -> None:
    _beating()
    client = Client()
    answer = client.head(path)
    assert answer.status_code == 200
    assert answer["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer["X-Frame-Options"] == "DENY"
    assert not answer.cookies
    refused = client.post(path)
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
