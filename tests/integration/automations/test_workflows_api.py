"""The workflows API: every operation for each kind of caller, errors naming the field,
the run log, and query counts that do not grow with the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.automations import workflows as service
from sequencer.automations.models import Workflow, WorkflowRun, WorkflowRunEntry
from sequencer.crm.models import PersonList
from sequencer.sequences.models import AccessLevel, Sequence
from sequencer.testing import FakeClock
from sequencer.workspace.models import User
from tests.conftest import ApiClient
from tests.integration.automations.conftest import enroll_on_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(make_member) -> User:
    return make_member(name="Rita Rep")


@pytest.fixture
def intro(publish, rep: User) -> Sequence:
    return publish("Intro", grants={rep: AccessLevel.READ_WRITE})


@pytest.fixture
def listed(new_list) -> PersonList:
    return new_list()


@pytest.fixture
def workflow(rep: User, intro: Sequence, listed: PersonList, clock: FakeClock) -> Workflow:
    return service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)


def _paths(workflow_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"workflows/{workflow_id}", None),
        ("PATCH", f"workflows/{workflow_id}", {"name": "Taken over"}),
        ("GET", f"workflows/{workflow_id}/runs", None),
        ("DELETE", f"workflows/{workflow_id}", None),
    ]


def test_anonymous_callers_are_asked_to_authenticate(
    anonymous_api: ApiClient, workflow: Workflow
) -> None:
    for method, path, body in [
        ("GET", "workflows", None),
        ("POST", "workflows", {"name": "x"}),
        ("GET", "workflows/fields", None),
        *_paths(workflow.pk),
    ]:
        answer = anonymous_api.request(method, path, body)
        assert answer.status_code == 401, (method, path)


def test_another_member_cannot_tell_a_workflow_exists(
    make_member, api_as: Callable[[User], ApiClient], workflow: Workflow
) -> None:
    stranger = api_as(make_member())
    for method, path, body in _paths(workflow.pk):
        answer = stranger.request(method, path, body)
        assert answer.status_code == 404, (method, path)
        assert answer.data["error"]["code"] == "not_found"
    assert stranger.get("workflows").data == {"items": [], "count": 0}
    assert Workflow.objects.get(pk=workflow.pk).name == workflow.name


def test_the_owner_reads_changes_and_deletes_their_workflow(
    rep: User, api_as: Callable[[User], ApiClient], workflow: Workflow
) -> None:
    client = api_as(rep)
    listed = client.get("workflows")
    assert [w["id"] for w in listed.data["items"]] == [workflow.pk]
    got = client.get(f"workflows/{workflow.pk}")
    assert got.status_code == 200
    assert got.data["owner_id"] == rep.pk
    assert got.data["owner_name"] == "Rita Rep"
    assert got.data["trigger"] == workflow.trigger
    changed = client.patch(f"workflows/{workflow.pk}", {"enabled": False})
    assert changed.status_code == 200
    assert changed.data["enabled"] is False
    assert client.get(f"workflows/{workflow.pk}/runs").data == {"items": [], "count": 0}
    assert client.delete(f"workflows/{workflow.pk}").status_code == 204
    assert not Workflow.objects.exists()


def test_an_admin_manages_anyones_workflow_and_may_give_it_to_another_member(
    api: ApiClient, make_member, workflow: Workflow
) -> None:
    assert api.get(f"workflows/{workflow.pk}").status_code == 200
    other = make_member()
    moved = api.patch(f"workflows/{workflow.pk}", {"owner_id": other.pk})
    # The new owner has read and write access by the workspace default.
    assert moved.status_code == 200, moved.data
    assert moved.data["owner_id"] == other.pk
    assert api.delete(f"workflows/{workflow.pk}").status_code == 204


def test_a_member_creates_a_workflow_and_bad_input_names_the_field(
    rep: User, api_as: Callable[[User], ApiClient], intro: Sequence, listed: PersonList
) -> None:
    client = api_as(rep)
    created = client.post("workflows", enroll_on_list(listed.pk, intro.pk))
    assert created.status_code == 201, created.data
    assert created.data["owner_id"] == rep.pk
    assert created.data["actions"][0]["address"] == "primary"
    bad = client.post(
        "workflows",
        {**enroll_on_list(listed.pk, intro.pk), "trigger": {"kind": "added_to_list"}},
    )
    assert bad.status_code == 400
    assert bad.data["error"]["field"] == "trigger.list_id"


def test_a_sequence_the_member_may_only_read_is_refused_at_save_naming_the_action(
    rep: User, api_as: Callable[[User], ApiClient], publish, listed: PersonList
) -> None:
    read_only = publish("Board updates", grants={rep: AccessLevel.READ_ONLY})
    answer = api_as(rep).post("workflows", enroll_on_list(listed.pk, read_only.pk))
    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "actions.0.sequence_id"
    assert "read only access" in answer.data["error"]["message"]


def test_a_member_cannot_create_a_workflow_for_someone_else(
    rep: User, make_member, api_as: Callable[[User], ApiClient], intro, listed
) -> None:
    other = make_member()
    body = {**enroll_on_list(listed.pk, intro.pk), "owner_id": other.pk}
    answer = api_as(rep).post("workflows", body)
    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "owner_id"


def test_the_fields_list_built_in_fields_with_their_operators(
    api_as: Callable[[User], ApiClient], rep: User
) -> None:
    fields = api_as(rep).get("workflows/fields")
    assert fields.status_code == 200
    by_key = {(f["object"], f["key"]): f for f in fields.data}
    assert by_key[("people", "job_title")]["operators"][:4] == [
        "is",
        "is_not",
        "contains",
        "not_contains",
    ]
    assert by_key[("people", "owner")]["type"] == "owner"


def _add_runs(workflow: Workflow, how_many: int, clock: FakeClock) -> None:
    for _ in range(how_many):
        run = WorkflowRun.objects.create(
            workflow=workflow, started_at=clock.now(), outcome="done", summary="Skipped 2"
        )
        WorkflowRunEntry.objects.bulk_create(
            WorkflowRunEntry(run=run, outcome="skipped", reason="Not today.", person_label="Ada")
            for _ in range(2)
        )


def _queries(client: ApiClient, path: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(path)
    assert answer.status_code == 200
    return len(queries.captured_queries), answer.data


def test_the_run_log_pages_newest_first_with_entries_in_a_fixed_number_of_queries(
    rep: User, api_as: Callable[[User], ApiClient], workflow: Workflow, clock: FakeClock
) -> None:
    client = api_as(rep)
    path = f"workflows/{workflow.pk}/runs?limit=100"
    _add_runs(workflow, 10, clock)
    few, data = _queries(client, path)
    assert data["count"] == 10
    assert len(data["items"][0]["entries"]) == 2
    _add_runs(workflow, 40, clock)
    many, data = _queries(client, path)
    assert data["count"] == 50
    assert few == many
    ids = [run["id"] for run in data["items"]]
    assert ids == sorted(ids, reverse=True)
    assert client.get(f"workflows/{workflow.pk}/runs?outcome=refused").data["count"] == 0


def test_the_workflow_list_costs_the_same_queries_for_10_or_50_workflows(
    api: ApiClient, make_member, intro: Sequence, listed: PersonList, clock: FakeClock
) -> None:
    def add(how_many: int) -> None:
        for _ in range(how_many):
            owner = make_member()
            service.create_workflow(owner, enroll_on_list(listed.pk, intro.pk), clock=clock)

    add(10)
    few, data = _queries(api, "workflows?limit=100")
    assert data["count"] == 10
    add(40)
    many, data = _queries(api, "workflows?limit=100")
    assert data["count"] == 50
    assert few == many
