import pytest

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response.status_code == 400, (response.status_code, response.data)
    return response.data["error"]


def test_an_attribute_round_trips_through_create_read_update_and_delete(api):
    created = api.post(
        "attributes",
        {
            "object": "people",
            "slug": "segment",
            "title": "Segment",
            "type": "select",
            "options": ["SMB", "Enterprise"],
        },
    )
    assert created.status_code == 201, created.data
    attribute = created.data
    assert attribute["options"] == ["SMB", "Enterprise"]
    assert attribute["target"] is None
    assert api.get(f"attributes/{attribute['id']}").data == attribute

    changed = api.patch(
        f"attributes/{attribute['id']}",
        {"title": "Market", "options": ["SMB", "Mid", "Enterprise"]},
    )
    assert changed.data["title"] == "Market"
    assert changed.data["options"] == ["SMB", "Mid", "Enterprise"]

    assert api.delete(f"attributes/{attribute['id']}").status_code == 204
    assert api.get(f"attributes/{attribute['id']}").status_code == 404


def test_attributes_are_listed_per_object(api, make_attribute):
    make_attribute("people", "nickname")
    make_attribute("companies", "employees", "number")
    assert [a["slug"] for a in api.get("attributes?object=companies").data] == ["employees"]
    assert len(api.get("attributes").data) == 2


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"slug": "Segment"}, "slug", "invalid_slug"),
        ({"slug": "2fast"}, "slug", "invalid_slug"),
        ({"slug": "email"}, "slug", "reserved_slug"),
        ({"slug": "first_name"}, "slug", "reserved_slug"),
        ({"object": "deals"}, "object", "invalid_object"),
        ({"type": "money"}, "type", "invalid_type"),
        ({"type": "select"}, "options", "options_required"),
        ({"type": "select", "options": ["a", "A"]}, "options.1", "duplicate"),
        ({"type": "relationship"}, "target", "invalid_target"),
        ({"type": "text", "target": "people"}, "target", "invalid"),
    ],
)
def test_a_bad_definition_names_the_field(api, body, field, code):
    base = {"object": "people", "slug": "segment", "title": "Segment", "type": "text"}
    error = error_of(api.post("attributes", {**base, **body}))
    assert (error["field"], error["code"]) == (field, code)


def test_a_slug_is_unique_per_object(api, make_attribute):
    make_attribute("people", "segment")
    error = error_of(
        api.post(
            "attributes", {"object": "people", "slug": "segment", "title": "S", "type": "text"}
        )
    )
    assert error["code"] == "duplicate_slug"
    make_attribute("companies", "segment")  # another object may use it


def test_an_option_in_use_cannot_be_removed(api, make_attribute, make_person):
    attribute = make_attribute("people", "segment", "select", options=["SMB", "Enterprise"])
    make_person(attributes={"segment": "SMB"})
    error = error_of(api.patch(f"attributes/{attribute['id']}", {"options": ["Enterprise"]}))
    assert error["code"] == "option_in_use"
    ok = api.patch(f"attributes/{attribute['id']}", {"options": ["SMB"]})
    assert ok.status_code == 200


def test_deleting_an_attribute_removes_its_values(api, make_attribute, make_person):
    attribute = make_attribute("people", "nickname")
    make_attribute("people", "score", "number")
    person = make_person(attributes={"nickname": "Ada", "score": 1})
    api.delete(f"attributes/{attribute['id']}")
    assert api.get(f"people/{person['id']}").data["attributes"] == {"score": 1}
