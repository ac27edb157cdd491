"""Workflows at work: CRM changes made through the CRM services, run by the runner (and
the worker), enrolling through the enrollment service, every run logged."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer import leasing
from sequencer.automations import workflows as service
from sequencer.automations.models import WorkflowEvent, WorkflowRun, WorkflowRunEntry
from sequencer.automations.runner import run_due
from sequencer.crm import attributes as attribute_service
from sequencer.crm import companies as company_service
from sequencer.crm import lists as list_service
from sequencer.crm import people as people_service
from sequencer.crm.importing import import_csv
from sequencer.crm.models import Attribute, EmailAddress, Person, PersonList
from sequencer.engine.worker import Worker
from sequencer.mail.models import Mailbox
from sequencer.sequences import delegation
from sequencer.sequences.models import AccessLevel, Enrollment, Sequence
from sequencer.testing import FakeClock
from sequencer.workspace.models import User
from tests.integration.automations.conftest import enroll_on_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(make_member, make_mailbox) -> User:
    member = make_member(name="Rita Rep")
    make_mailbox(member)
    return member


@pytest.fixture
def intro(publish, rep: User) -> Sequence:
    return publish("Intro", grants={rep: AccessLevel.READ_WRITE})


@pytest.fixture
def listed(new_list) -> PersonList:
    return new_list("Q3 prospects")


def _enroll_as_record_owner(sequence_id: int) -> dict[str, Any]:
    return {"kind": "enroll", "sequence_id": sequence_id, "sender": {"kind": "record_owner"}}


def _run(clock: FakeClock, owner: str = "worker-a") -> int:
    return run_due(clock.now(), owner=owner, clock=clock)


def _enrollments(person: Person) -> list[Enrollment]:
    return list(Enrollment.objects.filter(person=person).select_related("mailbox"))


def _entries(person: Person) -> list[WorkflowRunEntry]:
    return list(WorkflowRunEntry.objects.filter(person=person).order_by("id"))


# --- Added to a list -----------------------------------------------------------------------


def test_adding_a_person_to_a_list_enrolls_them_with_the_record_owner_as_sender(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    workflow = service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(first_name="Ada", owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    assert _run(clock) == 1
    (enrollment,) = _enrollments(ada)
    assert enrollment.sequence == intro
    assert enrollment.sender == rep
    assert enrollment.mailbox == Mailbox.objects.get(owner=rep)
    assert enrollment.enrolled_by == rep
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.outcome, run.enrolled, run.summary) == ("done", 1, "Enrolled 1")
    (entry,) = _entries(ada)
    assert (entry.outcome, entry.enrollment, entry.action_index) == ("enrolled", enrollment, 0)
    assert entry.person_label == "Ada <lead1@prospect.test>"


def test_a_person_added_twice_to_the_list_is_enrolled_once(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    entry = list_service.add_entry(listed, ada.pk)
    list_service.delete_entry(entry)
    list_service.add_entry(listed, ada.pk)
    assert WorkflowEvent.objects.count() == 2
    assert _run(clock) == 2
    assert len(_enrollments(ada)) == 1
    outcomes = [(e.outcome, e.reason) for e in _entries(ada)]
    assert outcomes[0][0] == "enrolled"
    assert outcomes[1] == ("skipped", "This person is already active in this sequence.")


def test_two_runners_never_run_one_event_twice(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    # Worker A has leased the event (it is between taking it and running it)...
    taken = leasing.take(WorkflowEvent.objects.all(), "worker-a", clock.now(), timedelta(minutes=5))
    assert taken == 1
    # ...so worker B, ticking meanwhile, leaves it alone.
    assert _run(clock, owner="worker-b") == 0
    assert _enrollments(ada) == []
    assert _run(clock, owner="worker-a") == 1
    assert _run(clock, owner="worker-b") == 0
    # Run again (say the event were taken again after a crash): the run is not repeated.
    WorkflowEvent.objects.update(processed_at=None, **leasing.released())
    assert _run(clock, owner="worker-b") == 1
    assert len(_enrollments(ada)) == 1
    assert WorkflowRun.objects.count() == 1


def test_the_worker_runs_workflows_on_its_tick(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    Worker(clock=clock, name="test-worker").tick()
    assert len(_enrollments(ada)) == 1
    assert WorkflowEvent.objects.get().processed_at == clock.now()


def test_an_event_of_another_list_triggers_nothing(
    rep: User, intro: Sequence, listed: PersonList, new_list, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(new_list("Another list"), ada.pk)
    assert _run(clock) == 1
    assert _enrollments(ada) == []
    assert not WorkflowRun.objects.exists()


def test_nothing_is_noted_while_no_workflow_watches(listed: PersonList, new_person) -> None:
    list_service.add_entry(listed, new_person().pk)
    assert not WorkflowEvent.objects.exists()


def test_an_event_that_started_no_run_is_deleted_once_run_and_one_that_did_stays_with_it(
    rep: User, intro: Sequence, listed: PersonList, new_list, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)  # starts a run
    list_service.add_entry(new_list("Another list"), ada.pk)  # starts none
    assert WorkflowEvent.objects.count() == 2

    assert _run(clock) == 2

    (kept,) = WorkflowEvent.objects.all()
    assert kept.person_list == listed and kept.processed_at is not None
    assert WorkflowRun.objects.get().event == kept


# --- Conditions ------------------------------------------------------------------------------


def test_a_person_who_does_not_meet_the_conditions_is_skipped_with_the_reason(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    data = {
        **enroll_on_list(listed.pk, intro.pk),
        "conditions": [
            {"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}
        ],
    }
    service.create_workflow(rep, data, clock=clock)
    head = new_person(job_title="Head of Sales", owner_id=rep.pk)
    intern = new_person(job_title="Intern", owner_id=rep.pk)
    list_service.add_entry(listed, head.pk)
    list_service.add_entry(listed, intern.pk)
    _run(clock)
    assert len(_enrollments(head)) == 1
    assert _enrollments(intern) == []
    (skipped,) = _entries(intern)
    assert skipped.outcome == "skipped"
    assert skipped.reason == 'Does not meet "Job title contains Head": job title is Intern.'


def test_a_person_without_a_company_fails_a_company_condition(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    data = {
        **enroll_on_list(listed.pk, intro.pk),
        "conditions": [
            {"object": "companies", "attribute": "name", "operator": "is_not", "value": "Acme"}
        ],
    }
    service.create_workflow(rep, data, clock=clock)
    loner = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, loner.pk)
    _run(clock)
    assert _enrollments(loner) == []
    assert "has no company" in _entries(loner)[0].reason


# --- Attribute changes ----------------------------------------------------------------------


@pytest.fixture
def stage(db: None) -> None:
    attribute_service.create_attribute(
        "people", "stage", "Stage", "select", options=["New", "Qualified", "Lost"]
    )


def _on_stage(sequence_id: int, value: str = "Qualified") -> dict[str, Any]:
    return {
        "name": "Qualified leads get the intro",
        "trigger": {
            "kind": "attribute_changed",
            "object": "people",
            "attribute": "stage",
            "condition": {"operator": "is", "value": value},
        },
        "actions": [
            {"kind": "enroll", "sequence_id": sequence_id, "sender": {"kind": "record_owner"}}
        ],
    }


def test_an_attribute_change_that_meets_the_condition_enrolls(
    stage: None, rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_stage(intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk, attributes={"stage": "New"})
    people_service.update_person(ada, attributes={"stage": "Qualified"})
    assert WorkflowEvent.objects.get().changes == {"stage": ["New", "Qualified"]}
    _run(clock)
    assert len(_enrollments(ada)) == 1


def test_an_attribute_change_that_misses_the_condition_is_logged_as_skipped(
    stage: None, rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_stage(intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk, attributes={"stage": "New"})
    people_service.update_person(ada, attributes={"stage": "Lost"})
    _run(clock)
    assert _enrollments(ada) == []
    (entry,) = _entries(ada)
    assert (entry.outcome, entry.reason) == ("skipped", "Stage changed to Lost, not Qualified")
    assert WorkflowRun.objects.get().summary == "Skipped 1"


def test_a_change_of_another_field_triggers_nothing(
    stage: None, rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_stage(intro.pk), clock=clock)
    ada = new_person(owner_id=rep.pk)
    people_service.update_person(ada, job_title="CTO")
    _run(clock)
    assert not WorkflowRun.objects.exists()


def test_a_company_change_fans_out_to_the_companys_people(
    rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    attribute_service.create_attribute("companies", "tier", "Tier", "select", options=["A", "B"])
    data = {
        "name": "Tier A accounts",
        "trigger": {
            "kind": "attribute_changed",
            "object": "companies",
            "attribute": "tier",
            "condition": {"operator": "is", "value": "A"},
        },
        "actions": [_enroll_as_record_owner(intro.pk)],
    }
    service.create_workflow(rep, data, clock=clock)
    initech = company_service.create_company("Initech")
    ada = new_person(company_id=initech.pk, owner_id=rep.pk)
    bob = new_person(company_id=initech.pk, owner_id=rep.pk)
    outsider = new_person(owner_id=rep.pk)
    company_service.update_company(initech, attributes={"tier": "A"})
    _run(clock)
    assert len(_enrollments(ada)) == len(_enrollments(bob)) == 1
    assert _enrollments(outsider) == []
    assert WorkflowRun.objects.get().enrolled == 2


# --- Access ----------------------------------------------------------------------------------


def test_access_revoked_after_saving_refuses_the_run_and_enrolls_nobody(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    workflow = service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    intro.grants.filter(user=rep).update(level=AccessLevel.READ_ONLY)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    _run(clock)
    assert _enrollments(ada) == []
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == "refused"
    assert "read only access to the sequence 'Intro'" in run.summary
    (entry,) = _entries(ada)
    assert entry.outcome == "refused"
    assert entry.reason == run.summary


# --- Senders and addresses ----------------------------------------------------------------


def test_a_person_without_an_owner_is_skipped_for_a_record_owner_sender(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    nobodys = new_person(first_name="Nell")
    list_service.add_entry(listed, nobodys.pk)
    _run(clock)
    assert _enrollments(nobodys) == []
    (entry,) = _entries(nobodys)
    assert entry.outcome == "skipped"
    assert entry.reason == "Nell has no owner, so there is nobody to send as; set their owner."


def test_the_record_owner_sends_when_they_turned_on_delegated_sending(
    rep: User,
    intro: Sequence,
    listed: PersonList,
    new_person,
    make_member,
    make_mailbox,
    clock: FakeClock,
) -> None:
    colleague = make_member(name="Carl Colleague")
    box = make_mailbox(colleague)
    intro.grants.update_or_create(user=colleague, defaults={"level": AccessLevel.READ_ONLY})
    delegation.set_own_delegation(colleague, intro.pk, enabled=True, clock=clock)
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    theirs = new_person(owner_id=colleague.pk)
    list_service.add_entry(listed, theirs.pk)
    _run(clock)
    (enrollment,) = _enrollments(theirs)
    assert (enrollment.sender, enrollment.mailbox, enrollment.enrolled_by) == (
        colleague,
        box,
        rep,
    )


def test_a_record_owner_who_is_not_a_delegated_sender_is_refused_with_the_reason(
    rep: User,
    intro: Sequence,
    listed: PersonList,
    new_person,
    make_member,
    make_mailbox,
    clock: FakeClock,
) -> None:
    colleague = make_member(name="Carl Colleague")
    make_mailbox(colleague)
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    theirs = new_person(owner_id=colleague.pk)
    list_service.add_entry(listed, theirs.pk)
    _run(clock)
    assert _enrollments(theirs) == []
    (entry,) = _entries(theirs)
    assert entry.outcome == "refused"
    assert "Carl Colleague" in entry.reason


def test_a_member_sender_sends_every_enrollment(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    data = enroll_on_list(listed.pk, intro.pk, kind="member", member_id=rep.pk)
    service.create_workflow(rep, data, clock=clock)
    nobodys = new_person()
    list_service.add_entry(listed, nobodys.pk)
    _run(clock)
    (enrollment,) = _enrollments(nobodys)
    assert enrollment.sender == rep


def test_the_first_deliverable_address_skips_bounced_ones(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    data = enroll_on_list(listed.pk, intro.pk)
    data["actions"][0]["address"] = "first_deliverable"
    service.create_workflow(rep, data, clock=clock)
    ada = new_person(email_addresses=["ada@old.test", "ada@new.test"], owner_id=rep.pk)
    EmailAddress.objects.filter(email="ada@old.test").update(undeliverable_since=clock.now())
    list_service.add_entry(listed, ada.pk)
    _run(clock)
    (enrollment,) = _enrollments(ada)
    assert enrollment.email == "ada@new.test"


# --- Removing ------------------------------------------------------------------------------


def test_remove_ends_the_persons_enrollment_and_skips_people_not_in_the_sequence(
    rep: User, intro: Sequence, listed: PersonList, new_list, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    lost = new_list("Lost deals")
    service.create_workflow(
        rep,
        {
            "name": "Lost deals leave the intro",
            "trigger": {"kind": "added_to_list", "list_id": lost.pk},
            "actions": [{"kind": "remove", "sequence_id": intro.pk}],
        },
        clock=clock,
    )
    ada = new_person(first_name="Ada", owner_id=rep.pk)
    bob = new_person(first_name="Bob", owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    _run(clock)
    list_service.add_entry(lost, ada.pk)
    list_service.add_entry(lost, bob.pk)
    _run(clock)
    (enrollment,) = _enrollments(ada)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "removed")
    assert [e.outcome for e in _entries(ada)] == ["enrolled", "removed"]
    (skipped,) = _entries(bob)
    assert (skipped.outcome, skipped.reason) == (
        "skipped",
        "Bob is not active in the sequence 'Intro'.",
    )


# --- Created people ------------------------------------------------------------------------


def _on_created(sequence_id: int, member_id: int) -> dict[str, Any]:
    return {
        "name": "Every new person gets the intro",
        "trigger": {"kind": "person_created"},
        "actions": [
            {
                "kind": "enroll",
                "sequence_id": sequence_id,
                "sender": {"kind": "member", "member_id": member_id},
            }
        ],
    }


def test_a_person_created_through_the_api_is_enrolled(
    rep: User, intro: Sequence, api_as: Callable[..., Any], clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_created(intro.pk, rep.pk), clock=clock)
    created = api_as(rep).post("people", {"email_addresses": ["new@prospect.test"]})
    assert created.status_code == 201
    _run(clock)
    assert len(_enrollments(Person.objects.get(pk=created.data["id"]))) == 1


def _csv(rows: int, start: int = 0) -> io.BytesIO:
    lines = ["email,first_name"] + [f"p{start + i}@import.test,P{i}" for i in range(rows)]
    return io.BytesIO("\n".join(lines).encode())


def test_people_created_by_a_csv_import_are_enrolled(
    rep: User, intro: Sequence, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_created(intro.pk, rep.pk), clock=clock)
    report = import_csv("people", _csv(3), clock=clock)
    assert report.created == 3
    _run(clock)
    assert Enrollment.objects.filter(sequence=intro).count() == 3


def test_people_changed_by_a_csv_import_trigger_attribute_workflows(
    stage: None, rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_stage(intro.pk), clock=clock)
    ada = new_person(email_addresses=["ada@import.test"], owner_id=rep.pk)
    csv = io.BytesIO(b"email,stage\nada@import.test,qualified\n")
    assert import_csv("people", csv, clock=clock).updated == 1
    assert WorkflowEvent.objects.get().changes == {"stage": [None, "Qualified"]}
    _run(clock)
    assert len(_enrollments(ada)) == 1


def _workflow_queries(rows: int, start: int, clock: FakeClock) -> int:
    with CaptureQueriesContext(connection) as queries:
        import_csv("people", _csv(rows, start), clock=clock)
    return sum('FROM "automations_workflow"' in q["sql"] for q in queries.captured_queries)


def test_an_import_asks_whether_workflows_watch_once_per_batch_not_per_row(
    rep: User, intro: Sequence, clock: FakeClock
) -> None:
    service.create_workflow(rep, _on_created(intro.pk, rep.pk), clock=clock)
    assert _workflow_queries(10, 0, clock) == _workflow_queries(50, 100, clock) == 1
    assert WorkflowEvent.objects.filter(kind="person_created").count() == 60


# --- Daily ---------------------------------------------------------------------------------


def test_a_daily_workflow_runs_at_its_local_time_over_the_people_who_meet_its_conditions(
    rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    data = {
        "name": "Heads of sales, every morning",
        "trigger": {"kind": "daily", "time": "09:00", "time_zone": "Europe/Paris"},
        "conditions": [
            {"object": "people", "attribute": "job_title", "operator": "contains", "value": "head"}
        ],
        "actions": [_enroll_as_record_owner(intro.pk)],
    }
    workflow = service.create_workflow(rep, data, clock=clock)
    heads = [new_person(job_title="Head of Sales", owner_id=rep.pk) for _ in range(3)]
    intern = new_person(job_title="Intern", owner_id=rep.pk)
    assert _run(clock) == 0  # 11:00 in Paris: today's 09:00 has passed
    clock.set(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))
    assert _run(clock) == 0
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))  # 09:00 in Paris
    assert _run(clock) == 1
    assert all(len(_enrollments(p)) == 1 for p in heads)
    assert _enrollments(intern) == []
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.enrolled, run.scheduled_for) == (3, datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    workflow.refresh_from_db()
    assert workflow.next_run_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    # The next morning, nobody is enrolled again: they already went through it.
    new_head = new_person(job_title="Head of Ops", owner_id=rep.pk)
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    assert _run(clock) == 1
    assert Enrollment.objects.filter(sequence=intro).count() == 4
    assert len(_enrollments(new_head)) == 1


def test_a_daily_workflow_keeps_its_local_time_across_the_spring_change(
    rep: User, intro: Sequence, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    data = {
        "name": "Every morning",
        "trigger": {"kind": "daily", "time": "09:00", "time_zone": "Europe/Paris"},
        "actions": [_enroll_as_record_owner(intro.pk)],
    }
    workflow = service.create_workflow(rep, data, clock=clock)
    assert workflow.next_run_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    clock.set(datetime(2026, 3, 29, 7, 0, tzinfo=UTC))
    assert _run(clock) == 1
    workflow.refresh_from_db()
    assert workflow.next_run_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_daily_run_is_not_repeated_for_the_same_morning(
    rep: User, intro: Sequence, new_person, clock: FakeClock
) -> None:
    data = {
        "name": "Every morning",
        "trigger": {"kind": "daily", "time": "09:00", "time_zone": "UTC"},
        "actions": [_enroll_as_record_owner(intro.pk)],
    }
    workflow = service.create_workflow(rep, data, clock=clock)
    new_person(owner_id=rep.pk)
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    # Another worker holds the workflow: this one leaves it alone.
    leasing.take(
        type(workflow).objects.filter(pk=workflow.pk), "worker-b", clock.now(), timedelta(minutes=5)
    )
    assert _run(clock, owner="worker-a") == 0
    assert _run(clock, owner="worker-b") == 1
    assert _run(clock, owner="worker-a") == 0
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1


# --- When things go wrong -------------------------------------------------------------------


def test_a_workflow_whose_field_was_deleted_is_refused_with_the_reason(
    stage: None, rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    data = {
        **enroll_on_list(listed.pk, intro.pk),
        "conditions": [{"object": "people", "attribute": "stage", "operator": "is_not_empty"}],
    }
    workflow = service.create_workflow(rep, data, clock=clock)
    attribute_service.delete_attribute(Attribute.objects.get(slug="stage"))
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    _run(clock)
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == "refused"
    assert run.summary.startswith("This workflow no longer fits the CRM (conditions.0.attribute)")
    assert _enrollments(ada) == []


def test_an_unexpected_failure_is_logged_and_does_not_stop_the_other_workflows(
    rep: User,
    intro: Sequence,
    listed: PersonList,
    new_person,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sequencer.automations import actions

    broken = service.create_workflow(
        rep,
        {
            "name": "Broken",
            "trigger": {"kind": "added_to_list", "list_id": listed.pk},
            "actions": [{"kind": "remove", "sequence_id": intro.pk}],
        },
        clock=clock,
    )
    working = service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(actions, "remove_people", fail)
    ada = new_person(owner_id=rep.pk)
    list_service.add_entry(listed, ada.pk)
    assert _run(clock) == 1
    failed = WorkflowRun.objects.get(workflow=broken)
    assert failed.outcome == "failed"
    assert not failed.entries.exists()
    assert WorkflowRun.objects.get(workflow=working).enrolled == 1
    assert WorkflowEvent.objects.get().processed_at is not None


def test_a_daily_run_cut_short_by_the_time_budget_goes_on_at_the_next_tick(
    rep: User, intro: Sequence, new_person, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sequencer.automations import runner

    monkeypatch.setattr(runner, "BATCH", 2)
    data = {
        "name": "Every morning",
        "trigger": {"kind": "daily", "time": "09:00", "time_zone": "UTC"},
        "actions": [_enroll_as_record_owner(intro.pk)],
    }
    workflow = service.create_workflow(rep, data, clock=clock)
    people = [new_person(owner_id=rep.pk) for _ in range(5)]
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))

    def tick() -> int:
        return run_due(clock.now(), owner="worker-a", clock=clock, budget_seconds=0)

    assert tick() == 0  # two people, then out of time
    assert Enrollment.objects.count() == 2
    assert tick() == 0
    assert tick() == 1  # the last one, and the run is finished
    assert all(len(_enrollments(p)) == 1 for p in people)
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.enrolled, run.summary, run.cursor) == (5, "Enrolled 5", people[-1].pk)
    workflow.refresh_from_db()
    assert workflow.next_run_at == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_events_still_move_one_a_tick_when_the_budget_is_spent(
    rep: User, intro: Sequence, listed: PersonList, new_person, clock: FakeClock
) -> None:
    service.create_workflow(rep, enroll_on_list(listed.pk, intro.pk), clock=clock)
    for _ in range(3):
        list_service.add_entry(listed, new_person(owner_id=rep.pk).pk)
    assert run_due(clock.now(), owner="worker-a", clock=clock, budget_seconds=0) == 1
    assert Enrollment.objects.count() == 1
    assert WorkflowEvent.objects.filter(lease_owner="worker-a").count() == 0
