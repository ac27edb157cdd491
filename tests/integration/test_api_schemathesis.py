"""The API against its own served spec: generated requests, valid and invalid, to every
operation. No request may end in a server error, and every answer's status code must be
one the spec documents for that operation.

The run is bounded (a few examples an operation, a fixed seed) so that it stays a test,
not a fuzzing campaign; it runs in a transaction like any database test, as the admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import status_code_conformance

from sequencer.config.wsgi import application
from sequencer.workspace import services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SPEC = "/api/v1/openapi.json"

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20240607,
        # Valid and invalid input both; coverage and stateful phases would multiply the
        # run time for little more than the fuzzing phase finds here.
        "generation": {"mode": "all", "max-examples": 5},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


@pytest.fixture(autouse=True)
def connection_kept_across_requests() -> Iterator[None]:
    """The WSGI app closes the database connection at the end of each request (Django's
    ``close_old_connections``), which would end the test's transaction on PostgreSQL;
    Django's own test client detaches the same handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(admin: Any) -> dict[str, str]:
    _, raw = services.create_token(admin, "schemathesis")
    return {"Authorization": f"Bearer {raw}"}


# Served by the app itself (no database needed to read the spec).
schema = schemathesis.openapi.from_wsgi(SPEC, application, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_is_a_server_error_or_an_undocumented_status(
    case: Any, bearer: dict[str, str]
) -> None:
    case.call_and_validate(headers=bearer, checks=[not_a_server_error, status_code_conformance])
