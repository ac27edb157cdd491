"""Saving, changing and reading workflows through their services, and the person's owner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sequencer.automations import workflows as service
from sequencer.automations.models import Workflow
from sequencer.crm import attributes as attribute_service
from sequencer.crm import people as people_service
from sequencer.domain.errors import InvalidInput
from sequencer.sequences.models import AccessLevel, SequenceStatus
from sequencer.testing import FakeClock
from sequencer.workspace.models import Role, User
from tests.integration.automations.conftest import enroll_on_list

pytestmark = pytest.mark.django_db


def _refused(call: Callable[[], object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value


def test_a_member_saves_a_workflow_into_a_sequence_they_can_enroll_into(
    make_member, publish, new_list, clock: FakeClock
) -> None:
    rep = make_member()
    sequence = publish(grants={rep: AccessLevel.READ_WRITE})
    listed = new_list()
    workflow = service.create_workflow(rep, enroll_on_list(listed.pk, sequence.pk), clock=clock)
    assert workflow.owner == rep
    assert workflow.enabled
    assert workflow.trigger_kind == "added_to_list"
    assert workflow.actions[0]["address"] == "primary"
    assert workflow.created_at == clock.now()


@pytest.mark.parametrize(
    ("level", "code"),
    [(AccessLevel.NO_ACCESS, "no_access"), (AccessLevel.READ_ONLY, "insufficient_access")],
)
def test_a_workflow_into_a_sequence_its_owner_cannot_enroll_into_is_refused_naming_the_field(
    make_member, publish, new_list, clock: FakeClock, level: str, code: str
) -> None:
    rep = make_member()
    sequence = publish(grants={rep: level})
    data = enroll_on_list(new_list().pk, sequence.pk)
    error = _refused(lambda: service.create_workflow(rep, data, clock=clock))
    assert error.field == "actions.0.sequence_id"
    assert error.code == code
    assert not Workflow.objects.exists()


def test_an_archived_or_unpublished_sequence_is_refused(
    admin: User, publish, new_list, clock: FakeClock
) -> None:
    sequence = publish()
    sequence.status = SequenceStatus.ARCHIVED
    sequence.save()
    data = enroll_on_list(new_list().pk, sequence.pk)
    assert _refused(lambda: service.create_workflow(admin, data, clock=clock)).code == "archived"


def test_a_list_that_does_not_exist_is_refused_naming_the_trigger(
    admin: User, publish, clock: FakeClock
) -> None:
    data = enroll_on_list(999_999, publish().pk)
    assert _refused(lambda: service.create_workflow(admin, data, clock=clock)).field == (
        "trigger.list_id"
    )


def test_a_member_sender_must_be_able_to_send_the_sequence(
    admin: User, make_member, publish, new_list, make_mailbox, clock: FakeClock
) -> None:
    rep = make_member()
    sequence = publish(grants={rep: AccessLevel.READ_WRITE})
    make_mailbox(rep)
    data = enroll_on_list(new_list().pk, sequence.pk, kind="member", member_id=admin.pk)
    error = _refused(lambda: service.create_workflow(rep, data, clock=clock))
    assert error.field == "actions.0.sender.member_id"
    # The owner themselves, with a default mailbox, is fine.
    data = enroll_on_list(new_list().pk, sequence.pk, kind="member", member_id=rep.pk)
    assert service.create_workflow(rep, data, clock=clock).owner == rep


def test_an_update_replaces_only_the_parts_given(
    admin: User, publish, new_list, clock: FakeClock
) -> None:
    workflow = service.create_workflow(
        admin, enroll_on_list(new_list().pk, publish().pk), clock=clock
    )
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    changed = service.update_workflow(admin, workflow.pk, {"name": "Renamed"}, clock=clock)
    assert changed.name == "Renamed"
    assert changed.trigger == workflow.trigger
    assert changed.updated_at == clock.now()


def test_turning_off_is_allowed_even_once_the_sequence_is_no_longer_usable(
    make_member, publish, new_list, clock: FakeClock
) -> None:
    rep = make_member()
    sequence = publish(grants={rep: AccessLevel.READ_WRITE})
    workflow = service.create_workflow(rep, enroll_on_list(new_list().pk, sequence.pk), clock=clock)
    sequence.grants.filter(user=rep).update(level=AccessLevel.READ_ONLY)
    assert not service.set_enabled(rep, workflow.pk, False, clock=clock).enabled
    error = _refused(lambda: service.set_enabled(rep, workflow.pk, True, clock=clock))
    assert error.field == "actions.0.sequence_id"


def test_members_see_their_own_workflows_and_admins_see_all(
    admin: User, make_member, publish, new_list, clock: FakeClock
) -> None:
    rep, other = make_member(), make_member()
    sequence = publish()
    mine = service.create_workflow(rep, enroll_on_list(new_list().pk, sequence.pk), clock=clock)
    theirs = service.create_workflow(other, enroll_on_list(new_list().pk, sequence.pk), clock=clock)
    assert list(service.visible_workflows(rep)) == [mine]
    assert set(service.visible_workflows(admin)) == {mine, theirs}
    with pytest.raises(service.WorkflowNotFound):
        service.get_workflow(rep, theirs.pk)
    with pytest.raises(service.WorkflowNotFound):
        service.update_workflow(rep, theirs.pk, {"name": "Mine now"}, clock=clock)
    with pytest.raises(service.WorkflowNotFound):
        service.delete_workflow(rep, theirs.pk)
    with pytest.raises(service.WorkflowNotFound):
        service.runs_of(rep, theirs.pk)
    assert service.get_workflow(admin, theirs.pk) == theirs


def test_only_an_admin_gives_a_workflow_another_owner(
    admin: User, make_member, publish, new_list, clock: FakeClock
) -> None:
    rep, other = make_member(), make_member()
    sequence = publish()
    workflow = service.create_workflow(rep, enroll_on_list(new_list().pk, sequence.pk), clock=clock)
    error = _refused(
        lambda: service.update_workflow(rep, workflow.pk, {"owner_id": other.pk}, clock=clock)
    )
    assert error.field == "owner_id"
    moved = service.update_workflow(admin, workflow.pk, {"owner_id": other.pk}, clock=clock)
    assert moved.owner == other


def test_a_deleted_member_leaves_their_workflows_ownerless_and_off(
    admin: User, make_member, publish, new_list, clock: FakeClock
) -> None:
    rep = make_member()
    data = enroll_on_list(new_list().pk, publish().pk)
    workflow = service.create_workflow(rep, data, clock=clock)
    rep.delete()
    workflow.refresh_from_db()
    assert workflow.owner is None
    assert not workflow.enabled
    error = _refused(lambda: service.set_enabled(admin, workflow.pk, True, clock=clock))
    assert error.field == "owner_id"


def test_a_daily_workflow_is_scheduled_at_its_next_local_time(
    admin: User, publish, clock: FakeClock
) -> None:
    data = {
        **enroll_on_list(1, publish().pk),
        "trigger": {"kind": "daily", "time": "09:00", "time_zone": "Europe/Paris"},
    }
    workflow = service.create_workflow(admin, data, clock=clock)
    # The clock shows 10:00 UTC (11:00 in Paris): the next 09:00 is tomorrow's.
    assert workflow.next_run_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    off = service.set_enabled(admin, workflow.pk, False, clock=clock)
    assert off.next_run_at is None


def test_the_field_catalog_lists_built_in_fields_then_custom_attributes(db: None) -> None:
    attribute_service.create_attribute(
        "people", "stage", "Stage", "select", options=["New", "Qualified"]
    )
    attribute_service.create_attribute("companies", "tier", "Tier", "text")
    catalog = service.field_catalog()
    keys = [(f.object, f.key) for f in catalog.fields]
    assert keys[:6] == [
        ("people", "first_name"),
        ("people", "last_name"),
        ("people", "job_title"),
        ("people", "time_zone"),
        ("people", "email"),
        ("people", "owner"),
    ]
    assert keys[6:] == [
        ("people", "stage"),
        ("companies", "name"),
        ("companies", "domain"),
        ("companies", "tier"),
    ]
    stage = catalog.get("people", "stage")
    assert stage is not None and stage.options == ("New", "Qualified")


def test_conditions_on_a_member_that_does_not_exist_are_refused(
    admin: User, publish, new_list, clock: FakeClock
) -> None:
    data = {
        **enroll_on_list(new_list().pk, publish().pk),
        "conditions": [{"object": "people", "attribute": "owner", "operator": "is", "value": 999}],
    }
    error = _refused(lambda: service.create_workflow(admin, data, clock=clock))
    assert error.field == "conditions.0.value"


# --- The person's owner -------------------------------------------------------------------


def test_a_person_gets_an_owner_who_is_an_active_member(make_member, new_person) -> None:
    rep = make_member()
    person = new_person(owner_id=rep.pk)
    assert person.owner == rep
    people_service.update_person(person, owner_id=None)
    person.refresh_from_db()
    assert person.owner is None


def test_an_owner_who_is_not_an_active_member_is_refused(make_member, new_person) -> None:
    gone = make_member(role=Role.MEMBER)
    gone.is_active = False
    gone.save()
    for owner_id in (gone.pk, 999_999, "3", True):
        error = _refused(lambda owner_id=owner_id: new_person(owner_id=owner_id))
        assert error.field == "owner_id"
