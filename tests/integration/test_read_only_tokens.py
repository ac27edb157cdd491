"""Read-only API tokens: they read everything their member may read and change nothing.

The refusal is one rule in the API's authentication, so the test walks every operation
of the spec: any operation added later is covered without editing this file.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from sequencer.api.app import api as sequencer_api
from sequencer.api.auth import READ_ONLY_POSTS, READ_ONLY_REFUSAL, SAFE_METHODS
from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.workspace import services
from sequencer.workspace.models import TokenScope
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def _operations() -> list[tuple[str, str]]:
    spec = sequencer_api.get_openapi_schema()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                found.append((method.upper(), path))
    return sorted(found)


OPERATIONS = _operations()
UNSAFE = [(m, p) for m, p in OPERATIONS if m not in SAFE_METHODS and (m, p) not in READ_ONLY_POSTS]


def _filled(path: str) -> str:
    # Any value will do: the scope is checked before the path is even parsed.
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def read_only(admin) -> ApiClient:
    _, raw = services.create_token(admin, "dashboard", TokenScope.READ_ONLY)
    return ApiClient(raw)


def test_the_spec_has_unsafe_operations_to_check():
    assert len(UNSAFE) > 50
    assert ("POST", "/api/v1/people") in UNSAFE
    assert ("DELETE", "/api/v1/people/{person_id}") in UNSAFE


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
def test_every_operation_that_changes_data_refuses_a_read_only_token(read_only, method, path):
    answer = read_only.request(method, _filled(path), {})

    assert answer.status_code == 403, (answer.status_code, answer.data)
    assert answer.data["error"]["code"] == "read_only_token"
    assert answer.data["error"]["message"] == READ_ONLY_REFUSAL
    assert "Settings → API tokens" in answer.data["error"]["message"]


def test_every_allow_listed_dry_run_is_a_post_the_spec_has():
    assert set(OPERATIONS) >= READ_ONLY_POSTS
    assert all(method == "POST" for method, _ in READ_ONLY_POSTS)


def test_a_read_only_token_may_run_the_enrollment_dry_run(admin, read_only):
    sequence = authoring.create_sequence(
        admin,
        name="Demo",
        steps=[StepInput(subject="Hi", body_html="<p>Hi</p>")],
        clock=system_clock,
    )

    answer = read_only.post(
        f"sequences/{sequence.pk}/enrollments/check",
        {"sender": {"member_id": admin.pk}, "recipients": [{"person_id": 1}]},
    )

    # Not the token's refusal: the dry run's own answer (never published).
    assert answer.data["error"]["code"] == "not_published", answer.data


def test_a_read_only_token_reads_people_sequences_and_enrollments(api, read_only, admin):
    person = api.post("people", {"email_addresses": ["ada@example.com"], "first_name": "Ada"})
    sequence = authoring.create_sequence(
        admin,
        name="Demo",
        steps=[StepInput(subject="Hi", body_html="<p>Hi</p>")],
        clock=system_clock,
    )

    people = read_only.get("people")
    one = read_only.get(f"people/{person.data['id']}")
    sequences = read_only.get("sequences")
    enrollments = read_only.get(f"sequences/{sequence.pk}/enrollments")

    assert people.status_code == 200 and people.data["count"] == 1
    assert one.status_code == 200 and one.data["first_name"] == "Ada"
    assert sequences.status_code == 200 and sequences.data["count"] == 1
    assert enrollments.status_code == 200 and enrollments.data["count"] == 0


def test_a_read_only_token_changes_nothing_when_refused(api, read_only):
    person = api.post("people", {"email_addresses": ["ada@example.com"], "first_name": "Ada"})

    read_only.patch(f"people/{person.data['id']}", {"first_name": "Eve"})
    read_only.delete(f"people/{person.data['id']}")
    read_only.post("people", {"email_addresses": ["bob@example.com"]})

    assert api.get(f"people/{person.data['id']}").data["first_name"] == "Ada"
    assert api.get("people").data["count"] == 1


def test_a_read_and_write_token_still_creates_changes_and_deletes(api):
    created = api.post("people", {"email_addresses": ["ada@example.com"]})
    changed = api.patch(f"people/{created.data['id']}", {"first_name": "Ada"})
    deleted = api.delete(f"people/{created.data['id']}")

    assert (created.status_code, changed.status_code, deleted.status_code) == (201, 200, 204)


def test_the_api_creates_a_read_only_token_and_lists_its_access(api):
    created = api.post("tokens", {"name": "Dashboard", "scope": "read_only"})
    listed = {t["name"]: t["scope"] for t in api.get("tokens").data}
    new = ApiClient(created.data["token"])

    assert created.status_code == 201 and created.data["scope"] == "read_only"
    assert listed["Dashboard"] == "read_only" and listed["tests"] == "read_write"
    assert new.get("me").status_code == 200
    assert new.post("people", {"email_addresses": ["x@example.com"]}).status_code == 403


def test_a_token_is_read_and_write_unless_asked(api):
    created = api.post("tokens", {"name": "Sync"})

    assert created.data["scope"] == "read_write"


def test_an_unknown_scope_is_refused_naming_the_field(api):
    answer = api.post("tokens", {"name": "Sync", "scope": "admin"})

    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "scope"


def test_a_read_only_token_cannot_make_itself_a_writer(read_only):
    answer = read_only.post("tokens", {"name": "Escalate", "scope": "read_write"})

    assert answer.status_code == 403
    assert answer.data["error"]["code"] == "read_only_token"


def test_a_signed_in_browser_changes_data_through_the_api_whatever_its_tokens(admin):
    services.create_token(admin, "dashboard", TokenScope.READ_ONLY)
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    answer = browser.post(
        "/api/v1/people",
        data=json.dumps({"email_addresses": ["ada@example.com"]}),
        content_type="application/json",
    )

    assert answer.status_code == 201, answer.content


def test_the_service_refuses_an_unknown_scope(admin):
    from sequencer.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.create_token(admin, "x", "everything")

    assert refused.value.field == "scope"
