import pytest

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response.status_code == 400, (response.status_code, response.data)
    return response.data["error"]


def test_a_person_round_trips_through_create_read_update_and_delete(api, make_company):
    acme = make_company("Acme", domains=["acme.test"])
    created = api.post(
        "people",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email_addresses": ["Ada@Example.com", "ada.l@example.com"],
            "job_title": "Engineer",
            "company_id": acme["id"],
            "time_zone": "europe/london",
        },
    )
    assert created.status_code == 201, created.data
    person = created.data
    assert person["full_name"] == "Ada Lovelace"
    assert person["email_addresses"] == [
        {"email": "ada@example.com", "is_primary": True},
        {"email": "ada.l@example.com", "is_primary": False},
    ]
    assert person["time_zone"] == "Europe/London"
    assert person["company_id"] == acme["id"]

    assert api.get(f"people/{person['id']}").data == person

    changed = api.patch(
        f"people/{person['id']}",
        {"email_addresses": ["ada.l@example.com", "ada@example.com"], "company_id": None},
    )
    assert changed.status_code == 200, changed.data
    assert changed.data["email_addresses"][0] == {"email": "ada.l@example.com", "is_primary": True}
    assert changed.data["company_id"] is None
    assert changed.data["first_name"] == "Ada"

    assert api.delete(f"people/{person['id']}").status_code == 204
    assert api.get(f"people/{person['id']}").status_code == 404


def test_the_addresses_read_can_be_sent_back_with_another_primary(api, make_person):
    person = make_person(email_addresses=["a@example.com", "b@example.com"])
    addresses = person["email_addresses"]
    addresses[0]["is_primary"], addresses[1]["is_primary"] = False, True
    changed = api.patch(f"people/{person['id']}", {"email_addresses": addresses})
    assert [e["email"] for e in changed.data["email_addresses"]] == [
        "b@example.com",
        "a@example.com",
    ]


def test_a_bad_second_address_names_its_position(api):
    error = error_of(api.post("people", {"email_addresses": ["ok@example.com", "not-an-email"]}))
    assert error["field"] == "email_addresses.1"
    assert error["code"] == "invalid_email"


def test_a_person_needs_an_address(api):
    error = error_of(api.post("people", {"first_name": "Ada", "email_addresses": []}))
    assert error["field"] == "email_addresses"


def test_an_address_belongs_to_one_person_whatever_its_case(api, make_person):
    make_person(first_name="Ada", email_addresses=["ada@example.com"])
    error = error_of(api.post("people", {"email_addresses": ["x@example.com", "ADA@example.com"]}))
    assert error["field"] == "email_addresses.1"
    assert error["code"] == "duplicate_email"
    assert "Ada" in error["message"]


def test_a_person_keeps_their_own_addresses_when_updated(api, make_person):
    person = make_person(email_addresses=["ada@example.com"])
    changed = api.patch(f"people/{person['id']}", {"email_addresses": ["ADA@example.com"]})
    assert changed.status_code == 200


def test_an_unknown_time_zone_is_refused(api):
    error = error_of(
        api.post("people", {"email_addresses": ["a@example.org"], "time_zone": "Mars/Base"})
    )
    assert error["field"] == "time_zone"


def test_a_missing_company_is_refused(api):
    error = error_of(api.post("people", {"email_addresses": ["a@example.org"], "company_id": 999}))
    assert error["field"] == "company_id"


def test_an_unknown_attribute_says_how_to_create_it(api):
    error = error_of(
        api.post("people", {"email_addresses": ["a@example.org"], "attributes": {"segment": "SMB"}})
    )
    assert error["field"] == "attributes.segment"
    assert error["code"] == "unknown_attribute"
    assert "does not exist" in error["message"]
    assert "POST /api/v1/attributes" in error["message"]


@pytest.mark.parametrize(
    ("type", "extra", "bad", "good"),
    [
        ("text", {}, 12, "hello"),
        ("number", {}, "12", 12.5),
        ("number", {}, True, 3),
        ("date", {}, "31/03/2025", "2025-03-31"),
        ("date", {}, "2025-02-30", "2024-02-29"),
        ("checkbox", {}, "yes", True),
        ("select", {"options": ["SMB", "Enterprise"]}, 1, "SMB"),
        ("relationship", {"target": "companies"}, "acme", None),
        ("relationship", {"target": "companies", "is_multiple": True}, 5, None),
    ],
)
def test_a_value_of_the_wrong_type_names_the_attribute_and_the_expected_type(
    api, make_attribute, make_company, type, extra, bad, good
):
    make_attribute("people", "custom", type, **extra)
    error = error_of(
        api.post("people", {"email_addresses": ["a@example.org"], "attributes": {"custom": bad}})
    )
    assert error["field"] == "attributes.custom"
    assert error["code"] == "wrong_type"
    assert "expects" in error["message"] or "calendar" in error["message"]
    if good is None:
        acme = make_company("Acme")
        good = [acme["id"]] if extra.get("is_multiple") else acme["id"]
    created = api.post(
        "people", {"email_addresses": ["a@example.org"], "attributes": {"custom": good}}
    )
    assert created.status_code == 201, created.data
    assert created.data["attributes"] == {"custom": good}


def test_an_unknown_select_option_lists_the_options(api, make_attribute):
    make_attribute("people", "segment", "select", options=["SMB", "Enterprise"])
    error = error_of(
        api.post(
            "people", {"email_addresses": ["a@example.org"], "attributes": {"segment": "Huge"}}
        )
    )
    assert error["field"] == "attributes.segment"
    assert error["code"] == "unknown_option"
    assert "'SMB'" in error["message"]


def test_a_relationship_to_a_missing_record_is_refused(api, make_attribute, make_company):
    make_attribute("people", "accounts", "relationship", target="companies", is_multiple=True)
    acme = make_company("Acme")
    error = error_of(
        api.post(
            "people",
            {
                "email_addresses": ["a@example.org"],
                "attributes": {"accounts": [acme["id"], 999_999]},
            },
        )
    )
    assert error["field"] == "attributes.accounts"
    assert error["code"] == "missing_record"
    assert "999999" in error["message"]


def test_a_list_attribute_cannot_be_given_to_a_person(api):
    created = api.post(
        "lists", {"name": "Pipeline", "attributes": [{"slug": "stage", "type": "text"}]}
    )
    assert created.status_code == 201
    error = error_of(
        api.post("people", {"email_addresses": ["a@example.org"], "attributes": {"stage": "Won"}})
    )
    assert error["field"] == "attributes.stage"
    assert "Pipeline" in error["message"]
    assert f"lists/{created.data['id']}/entries" in error["message"]


def test_patching_attributes_merges_and_null_removes(api, make_attribute, make_person):
    make_attribute("people", "nickname")
    make_attribute("people", "score", "number")
    person = make_person(attributes={"nickname": "Ada", "score": 3})
    changed = api.patch(f"people/{person['id']}", {"attributes": {"score": None}})
    assert changed.data["attributes"] == {"nickname": "Ada"}


def test_a_misspelt_field_is_refused_rather_than_ignored(api):
    error = error_of(
        api.post("people", {"email_addresses": ["a@example.org"], "emails": ["b@example.org"]})
    )
    assert error["field"] == "emails"


def test_deleting_a_company_clears_relationships_that_pointed_at_it(
    api, make_attribute, make_company, make_person
):
    make_attribute("people", "accounts", "relationship", target="companies", is_multiple=True)
    a, b = make_company("A"), make_company("B")
    person = make_person(attributes={"accounts": [a["id"], b["id"]]})
    assert api.delete(f"companies/{a['id']}").status_code == 204
    assert api.get(f"people/{person['id']}").data["attributes"] == {"accounts": [b["id"]]}


def test_people_are_paginated(api, make_person):
    for _ in range(7):
        make_person()
    page = api.get("people?limit=3&offset=3").data
    assert page["count"] == 7
    assert len(page["items"]) == 3
    everyone = api.get("people?limit=50").data["items"]
    assert [p["id"] for p in page["items"]] == [p["id"] for p in everyone[3:6]]


def test_a_limit_out_of_range_names_the_parameter(api):
    assert error_of(api.get("people?limit=0"))["field"] == "limit"


def test_people_are_filtered_by_name_email_company_and_list(api, make_person, make_company):
    acme = make_company("Acme")
    ada = make_person(first_name="Ada", last_name="Lovelace", email_addresses=["ada@example.org"])
    grace = make_person(
        first_name="Grace",
        last_name="Hopper",
        email_addresses=["gh@navy.example.com", "grace@example.org"],
        company_id=acme["id"],
    )
    make_person(first_name="Alan", email_addresses=["alan@example.net"])

    def ids(query):
        response = api.get(f"people?{query}")
        assert response.status_code == 200, response.data
        return [p["id"] for p in response.data["items"]]

    assert ids("q=ada%20love") == [ada["id"]]
    assert ids("q=NAVY") == [grace["id"]]
    assert ids("email=Grace@example.org") == [grace["id"]]
    assert ids(f"company_id={acme['id']}") == [grace["id"]]
    pipeline = api.post("lists", {"name": "Pipeline"}).data
    api.post(f"lists/{pipeline['id']}/entries", {"person_id": ada["id"]})
    assert ids(f"list_id={pipeline['id']}") == [ada["id"]]


def test_every_member_sees_the_records(api, make_member, api_as, make_person):
    person = make_person()
    member_api = api_as(make_member())
    assert member_api.get(f"people/{person['id']}").status_code == 200
    assert member_api.post("people", {"email_addresses": ["m@example.org"]}).status_code == 201


def test_the_crm_needs_authentication(anonymous_api):
    assert anonymous_api.get("people").status_code == 401
    assert anonymous_api.post("companies", {"name": "Acme"}).status_code == 401
