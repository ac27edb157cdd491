import pytest

from sequencer.clock import system_clock
from sequencer.crm.models import ListEntry, PersonList
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.suppression import suppress
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db


def enroll(api, sequence, mailbox, *recipients, **body):
    payload = {"sender": {"mailbox_id": mailbox.pk}, **body}
    if recipients:
        payload["recipients"] = list(recipients)
    return api.post(f"sequences/{sequence.pk}/enrollments", payload)


def test_each_recipient_gets_its_own_result_and_one_bad_row_blocks_nobody(
    api, publish, mailbox, person
):
    sequence = publish()
    blocked = make_person("Blocked", "blocked@initech.test")
    suppress(mailbox.email, "blocked@initech.test", reason="unsubscribed", clock=system_clock)
    no_mail = make_person("Nomail", "x@initech.test")
    no_mail.email_addresses.all().delete()
    response = enroll(
        api,
        sequence,
        mailbox,
        {"person_id": person.pk},
        {"person_id": blocked.pk},
        {"person_id": no_mail.pk},
        {"person_id": person.pk},
        {"person_id": 987_654},
        {"person_id": make_person("Eve", "eve@initech.test").pk, "email": "other@x.test"},
    )
    assert response.status_code == 200, response.data
    results = response.data["results"]
    assert results[0]["status"] == "enrolled" and results[0]["enrollment_id"]
    codes = [r["reason"]["code"] if r["status"] == "refused" else None for r in results]
    assert codes == [
        None,
        "unsubscribed",
        "no_address",
        "duplicate",
        "not_found",
        "invalid_address",
    ]
    assert all(r["reason"]["message"] for r in results[1:])


def test_enrolling_again_while_active_is_refused(api, publish, mailbox, person):
    sequence = publish()
    enroll(api, sequence, mailbox, {"person_id": person.pk})
    again = enroll(api, sequence, mailbox, {"person_id": person.pk})
    assert again.data["results"][0]["reason"]["code"] == "already_enrolled"


def test_more_than_a_thousand_recipients_is_a_400_that_states_the_limit(api, publish, mailbox):
    response = enroll(api, publish(), mailbox, *[{"person_id": i} for i in range(1001)])
    assert response.status_code == 400
    assert response.data["error"]["field"] == "recipients"
    assert "1000" in response.data["error"]["message"]


def test_a_mailbox_that_is_not_yours_is_refused_naming_the_sender(
    api_as, make_member, publish, mailbox, person
):
    other = make_member()
    response = enroll(api_as(other), publish(), mailbox, {"person_id": person.pk})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "sender.mailbox_id"


def test_a_draft_sequence_cannot_enroll_anyone(api, admin, mailbox, person):
    draft = authoring.create_sequence(
        admin, steps=[StepInput(0, "Hi", "<p>x</p>")], clock=system_clock
    )
    response = enroll(api, draft, mailbox, {"person_id": person.pk})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "not_published"


def test_read_only_members_cannot_enroll_and_others_do_not_see_the_sequence(
    api_as, make_member, publish, mailbox, person
):
    sequence = publish()
    viewer, stranger = make_member(), make_member()
    authoring.Sequence.objects.filter(pk=sequence.pk).update(workspace_access="no_access")
    sequence.grants.create(user=viewer, level="read_only")
    payload = {"sender": {"member_id": viewer.pk}, "recipients": [{"person_id": person.pk}]}
    assert api_as(viewer).post(f"sequences/{sequence.pk}/enrollments", payload).status_code == 403
    assert api_as(stranger).post(f"sequences/{sequence.pk}/enrollments", payload).status_code == 404


def test_a_list_can_be_enrolled_whole_or_by_chosen_entries(api, publish, mailbox):
    people_list = PersonList.objects.create(name="Warm leads")
    entries = [
        ListEntry.objects.create(
            person_list=people_list, person=make_person(f"L{i}", f"l{i}@initech.test")
        )
        for i in range(3)
    ]
    sequence = publish()
    chosen = enroll(api, sequence, mailbox, list_id=people_list.pk, entry_ids=[entries[1].pk])
    assert [r["person_id"] for r in chosen.data["results"]] == [entries[1].person_id]
    whole = enroll(api, sequence, mailbox, list_id=people_list.pk)
    statuses = [r["status"] for r in whole.data["results"]]
    assert statuses == ["enrolled", "refused", "enrolled"]


def test_an_enrollment_keeps_its_version_and_a_re_enrollment_gets_the_latest(
    api, admin, publish, mailbox, person, worker, clock
):
    sequence = publish(steps=[(0, "Version one", "<p>one</p>")])
    first = enroll(api, sequence, mailbox, {"person_id": person.pk}).data["results"][0]
    authoring.update_draft(
        admin, sequence.pk, steps=[StepInput(0, "Version two", "<p>two</p>")], clock=system_clock
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)

    detail = api.get(f"enrollments/{first['enrollment_id']}").data
    assert detail["version"] == 1
    assert api.get(f"enrollments/{first['enrollment_id']}/preview").data[0]["subject"] == (
        "Version one"
    )
    api.post(f"enrollments/{first['enrollment_id']}/remove")
    second = enroll(api, sequence, mailbox, {"person_id": person.pk}).data["results"][0]
    assert second["status"] == "enrolled"
    assert api.get(f"enrollments/{second['enrollment_id']}").data["version"] == 2


def test_the_enrollment_shows_its_emails_and_the_preview_their_times(
    api, publish, mailbox, person, clock, worker
):
    sequence = publish()
    enrolled = enroll(api, sequence, mailbox, {"person_id": person.pk}).data["results"][0]
    preview = api.get(f"enrollments/{enrolled['enrollment_id']}/preview").data
    assert [p["subject"] for p in preview] == ["Hello Ada", "RE: Hello Ada", "RE: Hello Ada"]
    assert "Hi Ada, first." in preview[0]["html"] and "Unsubscribe" in preview[0]["html"]
    assert all(p["send_at"] for p in preview)
    assert preview[1]["state"] == "planned"

    detail = api.get(f"enrollments/{enrolled['enrollment_id']}").data
    assert detail["status"] == "active"
    assert [(e["step"], e["state"]) for e in detail["emails"]] == [(0, "scheduled")]
    assert detail["emails"][0]["message_id"].startswith("<")


def test_previewing_a_person_before_enrolling_shows_a_missing_value(api, publish, mailbox):
    sequence = publish()
    nameless = make_person("", "nameless@initech.test")
    preview = api.get(
        f"sequences/{sequence.pk}/preview?person_id={nameless.pk}&mailbox_id={mailbox.pk}"
    ).data
    assert "person.first_name" in preview[0]["problem"]
    assert preview[1]["problem"] is None


def test_recipient_controls_through_the_api(api, publish, mailbox, person, clock):
    sequence = publish()
    enrollment_id = enroll(api, sequence, mailbox, {"person_id": person.pk}).data["results"][0][
        "enrollment_id"
    ]
    assert api.post(f"enrollments/{enrollment_id}/pause").data["status"] == "paused"
    assert api.post(f"enrollments/{enrollment_id}/send-now").status_code == 400
    assert api.post(f"enrollments/{enrollment_id}/resume").data["status"] == "active"
    assert api.post(f"enrollments/{enrollment_id}/send-now").status_code == 200
    removed = api.post(f"enrollments/{enrollment_id}/remove").data
    assert (removed["status"], removed["exit_reason"]) == ("exited", "removed")
    assert {e["state"] for e in removed["emails"]} == {"cancelled"}
    assert api.post(f"enrollments/{enrollment_id}/resume").status_code == 400


def test_listing_enrollments_of_a_sequence(api, publish, mailbox, person, clock):
    sequence = publish()
    enroll(api, sequence, mailbox, {"person_id": person.pk})
    page = api.get(f"sequences/{sequence.pk}/enrollments?status=active").data
    assert page["count"] == 1 and page["items"][0]["person_id"] == person.pk
    assert api.get(f"sequences/{sequence.pk}/enrollments?status=exited").data["count"] == 0


def test_sending_on_behalf_of_a_teammate_who_delegated(
    api_as, make_member, publish, peer_mailbox, person, clock
):
    from sequencer.sequences.delegation import set_own_delegation

    teammate, sender = make_member(), make_member()
    their_box = peer_mailbox(teammate, imap=False)
    sequence = publish()
    payload = {"sender": {"member_id": teammate.pk}, "recipients": [{"person_id": person.pk}]}
    refused = api_as(sender).post(f"sequences/{sequence.pk}/enrollments", payload)
    assert refused.status_code == 400
    assert refused.data["error"]["code"] == "sender_not_allowed"
    set_own_delegation(teammate, sequence.pk, enabled=True, clock=system_clock)
    ok = api_as(sender).post(f"sequences/{sequence.pk}/enrollments", payload).data["results"][0]
    detail = api_as(sender).get(f"enrollments/{ok['enrollment_id']}").data
    assert detail["mailbox_id"] == their_box.pk and detail["sender_id"] == teammate.pk


def test_enrolling_into_a_sequence_whose_ai_slot_has_no_text_warns_per_waiting_step(
    api, publish, mailbox, person
):
    sequence = publish(
        [
            (0, "Hello", "<p>Hi, first.</p>"),
            (2, "", "<p>Hi,{% ai %}A line about {{ company.name }}{% endai %} Thanks</p>"),
            (3, "", '<p>Hi,{% ai fallback: " hope all is well." %}x{% endai %}</p>'),
        ]
    )
    response = enroll(api, sequence, mailbox, {"person_id": person.pk})
    assert response.status_code == 200, response.data
    assert response.data["results"][0]["status"] == "enrolled"
    [warning] = response.data["warnings"]
    # Step 2 waits; step 3's slot has a fallback, so it sends.
    assert warning.startswith("Step 2 has an AI slot")
    assert "will wait" in warning


def test_enrolling_into_a_sequence_without_ai_slots_has_no_warnings(api, publish, mailbox, person):
    response = enroll(api, publish(), mailbox, {"person_id": person.pk})
    assert response.status_code == 200, response.data
    assert response.data["warnings"] == []


def test_the_api_schema_documents_the_enrollment_warnings(anonymous_api):
    spec = anonymous_api.get("/api/v1/openapi.json").data
    answer = spec["paths"]["/api/v1/sequences/{sequence_id}/enrollments"]["post"]["responses"]
    reference = answer["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert "warnings" in schema["required"]
    assert schema["properties"]["warnings"]["type"] == "array"
    assert "AI slot" in schema["properties"]["warnings"]["description"]
