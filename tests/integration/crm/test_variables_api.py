"""``GET /api/v1/variables``: what a composer's variable picker offers."""

import pytest

from sequencer.crm.models import Attribute, ListAttribute, PersonList
from sequencer.workspace import services

pytestmark = pytest.mark.django_db


def test_any_member_gets_standard_and_custom_person_and_company_variables(api_as, make_attribute):
    make_attribute("people", "nickname", title="Nickname")
    make_attribute("companies", "employees", "number", title="Head count")
    member = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")

    response = api_as(member).get("variables")

    assert response.status_code == 200, response.data
    by_path = {v["path"]: v for v in response.data}
    assert by_path["person.first_name"] == {
        "path": "person.first_name",
        "label": "First name",
        "group": "person",
        "liquid": "{{ person.first_name }}",
    }
    assert by_path["person.nickname"]["label"] == "Nickname"
    assert by_path["company.employees"] == {
        "path": "company.employees",
        "label": "Head count",
        "group": "company",
        "liquid": "{{ company.employees }}",
    }
    assert by_path["company.name"]["label"] == "Company name"
    groups = [v["group"] for v in response.data]
    # People first, then companies, each group in the order of its labels.
    assert groups == sorted(groups, key=lambda g: g != "person")
    person_labels = [v["label"].casefold() for v in response.data if v["group"] == "person"]
    assert person_labels == sorted(person_labels)


def test_the_senders_fields_come_last_in_a_sender_group(api):
    offered = api.get("variables").data

    sender = [v for v in offered if v["group"] == "sender"]
    assert offered[-len(sender) :] == sender
    assert [(v["path"], v["label"]) for v in sender] == [
        ("sender.first_name", "Sender's first name"),
        ("sender.last_name", "Sender's last name"),
        ("sender.full_name", "Sender's full name"),
        ("sender.email", "Sender's email address"),
    ]
    assert sender[0]["liquid"] == "{{ sender.first_name }}"


def test_list_attributes_are_never_offered(api):
    prospects = PersonList.objects.create(name="Prospects")
    ListAttribute.objects.create(person_list=prospects, slug="stage", title="Stage", type="text")

    paths = {v["path"] for v in api.get("variables").data}

    assert not any(path.endswith(".stage") for path in paths)
    assert {"person.email", "company.domain"} <= paths


def test_every_offered_variable_passes_the_publish_check(api):
    Attribute.objects.create(object="people", slug="tier", title="Tier", type="text")
    body = "".join(f"<p>{v['liquid']}</p>" for v in api.get("variables").data)

    created = api.post(
        "sequences", {"name": "All variables", "steps": [{"subject": "Hi", "body_html": body}]}
    )
    assert created.status_code == 201, created.data
    published = api.post(f"sequences/{created.data['id']}/publish")
    assert published.status_code in (200, 201), published.data


def test_variables_need_a_signed_in_member(anonymous_api):
    assert anonymous_api.get("variables").status_code == 401


def test_the_variables_operation_is_documented(api):
    spec = api.get("openapi.json").data
    operation = spec["paths"]["/api/v1/variables"]["get"]
    assert operation["summary"] == "Variables an email may use"
    assert "200" in operation["responses"]
