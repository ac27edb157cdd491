import pytest

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response.status_code == 400, (response.status_code, response.data)
    return response.data["error"]


@pytest.fixture
def pipeline(api):
    response = api.post(
        "lists",
        {
            "name": "Pipeline",
            "attributes": [
                {"slug": "stage", "title": "Stage", "type": "select", "options": ["New", "Won"]},
                {"slug": "score", "title": "Score", "type": "number"},
                {"slug": "next_call", "title": "Next call", "type": "date"},
            ],
        },
    )
    assert response.status_code == 201, response.data
    return response.data


def test_a_list_round_trips_with_its_attributes(api, pipeline):
    assert pipeline["name"] == "Pipeline"
    assert [a["slug"] for a in pipeline["attributes"]] == ["stage", "score", "next_call"]
    assert pipeline["attributes"][0]["options"] == ["New", "Won"]
    assert pipeline["entry_count"] == 0
    assert api.get(f"lists/{pipeline['id']}").data == pipeline
    assert api.get("lists").data == {"items": [pipeline], "count": 1}
    renamed = api.patch(f"lists/{pipeline['id']}", {"name": "Deals"})
    assert renamed.data["name"] == "Deals"
    assert renamed.data["attributes"] == pipeline["attributes"]
    assert api.delete(f"lists/{pipeline['id']}").status_code == 204
    assert api.get(f"lists/{pipeline['id']}").status_code == 404


def test_entries_carry_values_checked_against_the_list_attributes(api, pipeline, make_person):
    person = make_person()
    created = api.post(
        f"lists/{pipeline['id']}/entries",
        {"person_id": person["id"], "values": {"stage": "New", "score": 4}},
    )
    assert created.status_code == 201, created.data
    entry = created.data
    assert entry["values"] == {"stage": "New", "score": 4}
    assert entry["person_id"] == person["id"]

    changed = api.patch(
        f"lists/{pipeline['id']}/entries/{entry['id']}",
        {"values": {"stage": "Won", "score": None, "next_call": "2025-05-01"}},
    )
    assert changed.status_code == 200, changed.data
    assert changed.data["values"] == {"stage": "Won", "next_call": "2025-05-01"}

    page = api.get(f"lists/{pipeline['id']}/entries").data
    assert page["count"] == 1
    assert page["items"][0] == changed.data
    assert api.get(f"lists/{pipeline['id']}").data["entry_count"] == 1

    path = f"lists/{pipeline['id']}/entries/{entry['id']}"
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"stage": "Lost"}, "values.stage", "unknown_option"),
        ({"score": "high"}, "values.score", "wrong_type"),
        ({"next_call": "tomorrow"}, "values.next_call", "wrong_type"),
        ({"owner": "me"}, "values.owner", "unknown_attribute"),
    ],
)
def test_a_bad_entry_value_names_the_field(api, pipeline, make_person, values, field, code):
    person = make_person()
    error = error_of(
        api.post(f"lists/{pipeline['id']}/entries", {"person_id": person["id"], "values": values})
    )
    assert (error["field"], error["code"]) == (field, code)


def test_a_person_is_once_in_a_list(api, pipeline, make_person):
    person = make_person()
    path = f"lists/{pipeline['id']}/entries"
    assert api.post(path, {"person_id": person["id"]}).status_code == 201
    error = error_of(api.post(path, {"person_id": person["id"]}))
    assert (error["field"], error["code"]) == ("person_id", "duplicate_entry")
    assert error_of(api.post(path, {"person_id": 999_999}))["field"] == "person_id"


def test_a_list_attribute_is_not_a_person_attribute_nor_the_other_way(
    api, pipeline, make_person, make_attribute
):
    make_attribute("people", "nickname")
    person = make_person(attributes={"nickname": "Ada"})
    error = error_of(
        api.post(
            f"lists/{pipeline['id']}/entries",
            {"person_id": person["id"], "values": {"nickname": "Ada"}},
        )
    )
    assert error["field"] == "values.nickname"
    error = error_of(api.patch(f"people/{person['id']}", {"attributes": {"stage": "New"}}))
    assert error["field"] == "attributes.stage"


def test_changing_the_attributes_of_a_list_adds_and_removes_them(api, pipeline, make_person):
    person = make_person()
    entry = api.post(
        f"lists/{pipeline['id']}/entries",
        {"person_id": person["id"], "values": {"stage": "New", "score": 2}},
    ).data
    changed = api.patch(
        f"lists/{pipeline['id']}",
        {
            "attributes": [
                {"slug": "stage", "title": "Stage", "type": "select", "options": ["New", "Lost"]},
                {"slug": "owner", "title": "Owner", "type": "text"},
            ]
        },
    )
    assert changed.status_code == 200, changed.data
    assert [a["slug"] for a in changed.data["attributes"]] == ["stage", "owner"]
    path = f"lists/{pipeline['id']}/entries/{entry['id']}"
    assert api.get(path).data["values"] == {"stage": "New"}


def test_a_list_attribute_cannot_change_its_type_or_drop_a_used_option(api, pipeline, make_person):
    person = make_person()
    api.post(
        f"lists/{pipeline['id']}/entries", {"person_id": person["id"], "values": {"stage": "Won"}}
    )
    error = error_of(
        api.patch(f"lists/{pipeline['id']}", {"attributes": [{"slug": "stage", "type": "text"}]})
    )
    assert (error["field"], error["code"]) == ("attributes.0.type", "type_fixed")
    error = error_of(
        api.patch(
            f"lists/{pipeline['id']}",
            {"attributes": [{"slug": "stage", "type": "select", "options": ["New"]}]},
        )
    )
    assert error["code"] == "option_in_use"


def test_a_relationship_is_not_a_list_attribute_type(api):
    error = error_of(
        api.post("lists", {"name": "L", "attributes": [{"slug": "x", "type": "relationship"}]})
    )
    assert error["field"] == "attributes.0.type"


def test_entries_of_another_list_are_not_found(api, pipeline, make_person):
    other = api.post("lists", {"name": "Other"}).data
    person = make_person()
    entry = api.post(f"lists/{pipeline['id']}/entries", {"person_id": person["id"]}).data
    assert api.get(f"lists/{other['id']}/entries/{entry['id']}").status_code == 404


def test_the_catalog_lists_list_attributes_apart(pipeline):
    from sequencer.crm.catalog import variable_catalog

    catalog = variable_catalog()
    assert {"stage", "score", "next_call"} <= catalog.list_attributes
    assert "stage" not in catalog.person


def test_many_people_are_added_to_a_list_at_once_each_answered_in_order(api, make_person):
    ada, bob, eve = (make_person() for _ in range(3))
    vip = api.post("lists", {"name": "VIP"}).data
    api.post(f"lists/{vip['id']}/entries", {"person_id": bob["id"]})

    answer = api.post(
        f"lists/{vip['id']}/add-people",
        {"person_ids": [ada["id"], bob["id"], 999_999, eve["id"], ada["id"]]},
    )

    assert answer.status_code == 200, answer.data
    assert [(r["person_id"], r["status"]) for r in answer.data["results"]] == [
        (ada["id"], "added"),
        (bob["id"], "already_in_list"),
        (999_999, "no_such_person"),
        (eve["id"], "added"),
    ]
    assert answer.data["results"][2]["entry_id"] is None
    assert (
        answer.data["added"],
        answer.data["already_in_list"],
        answer.data["no_such_person"],
    ) == (2, 1, 1)
    assert api.get(f"lists/{vip['id']}/entries").data["count"] == 3


def test_adding_more_than_1000_people_at_once_is_refused(api):
    vip = api.post("lists", {"name": "VIP"}).data

    answer = api.post(f"lists/{vip['id']}/add-people", {"person_ids": list(range(1, 1002))})

    assert answer.status_code == 400 and answer.data["error"]["field"] == "person_ids"


def test_adding_people_to_a_list_that_does_not_exist_is_a_404(api):
    assert api.post("lists/999999/add-people", {"person_ids": [1]}).status_code == 404


def test_every_member_adds_people_to_lists_but_not_with_a_read_only_token_or_none(
    api, make_member, api_as, make_person, anonymous_api
):
    from sequencer.workspace import services
    from sequencer.workspace.models import TokenScope
    from tests.conftest import ApiClient

    member = make_member()
    ada = make_person()
    vip = api.post("lists", {"name": "VIP"}).data
    _, raw = services.create_token(member, "report", TokenScope.READ_ONLY)

    refused = ApiClient(raw).post(f"lists/{vip['id']}/add-people", {"person_ids": [ada["id"]]})
    added = api_as(member).post(f"lists/{vip['id']}/add-people", {"person_ids": [ada["id"]]})

    anonymous = anonymous_api.post(f"lists/{vip['id']}/add-people", {"person_ids": [ada["id"]]})

    assert refused.status_code == 403 and anonymous.status_code == 401
    assert added.status_code == 200 and added.data["added"] == 1
