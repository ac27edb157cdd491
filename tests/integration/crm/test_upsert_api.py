"""Upserts for CRM syncs: people by email address, companies by domain, one or a batch."""

from __future__ import annotations

import pytest

from sequencer.crm.models import Company, Person
from sequencer.workspace import services
from sequencer.workspace.models import Role, TokenScope
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def put(api: ApiClient, path: str, body: dict) -> object:
    return api.request("PUT", path, body)


# -- one person --------------------------------------------------------------------------


def test_a_person_is_created_then_updated_by_the_same_address_in_any_case(api):
    created = put(api, "people/by-email/ada@example.com", {"first_name": "Ada"})
    updated = put(api, "people/by-email/ADA@Example.COM", {"last_name": "Lovelace"})

    assert created.status_code == 201 and created.data["created"] is True
    assert updated.status_code == 200 and updated.data["created"] is False
    assert updated.data["person"]["id"] == created.data["person"]["id"]
    assert updated.data["person"]["full_name"] == "Ada Lovelace"
    assert Person.objects.count() == 1


def test_a_sync_sets_the_persons_owner_and_refuses_someone_who_is_not_a_member(api):
    owner = services.create_user("owner@example.com", "a long enough password 1")

    owned = put(api, "people/by-email/ada@example.com", {"owner_id": owner.pk})
    refused = put(api, "people/by-email/bob@example.com", {"owner_id": 999_999})

    assert owned.status_code == 201 and owned.data["person"]["owner_id"] == owner.pk
    assert Person.objects.get(pk=owned.data["person"]["id"]).owner_id == owner.pk
    assert refused.status_code == 400
    assert refused.data["error"]["field"] == "owner_id"


def test_an_upsert_finds_a_person_by_any_of_their_addresses(api, make_person):
    ada = make_person(email_addresses=["ada@example.com", "ada.work@example.com"])

    answer = put(api, "people/by-email/Ada.Work@example.com", {"job_title": "Engineer"})

    assert answer.status_code == 200
    assert answer.data["person"]["id"] == ada["id"]
    assert [e["email"] for e in answer.data["person"]["email_addresses"]] == [
        "ada@example.com",
        "ada.work@example.com",
    ]


def test_a_field_left_out_keeps_its_value_and_attributes_merge(api, make_attribute):
    make_attribute("people", "plan")
    make_attribute("people", "seats", "number")
    put(
        api, "people/by-email/ada@example.com", {"first_name": "Ada", "attributes": {"plan": "pro"}}
    )

    answer = put(api, "people/by-email/ada@example.com", {"attributes": {"seats": 3}})

    assert answer.data["person"]["first_name"] == "Ada"
    assert answer.data["person"]["attributes"] == {"plan": "pro", "seats": 3}


def test_an_address_owned_by_another_person_is_refused_naming_them(api, make_person):
    make_person(email_addresses=["bob@example.com"], first_name="Bob")

    answer = put(
        api,
        "people/by-email/ada@example.com",
        {"email_addresses": ["ada@example.com", "bob@example.com"]},
    )

    assert answer.status_code == 400
    assert answer.data["error"]["code"] == "duplicate_email"
    assert answer.data["error"]["field"] == "email_addresses.1"
    assert "Bob" in answer.data["error"]["message"]
    assert not Person.objects.filter(email_addresses__email="ada@example.com").exists()


def test_the_addresses_given_must_keep_the_matched_one(api):
    answer = put(api, "people/by-email/ada@example.com", {"email_addresses": ["x@example.com"]})

    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "email_addresses"


def test_a_bad_address_in_the_path_is_refused_naming_it(api):
    answer = put(api, "people/by-email/not-an-address", {})

    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "email"


def test_a_persons_company_is_found_or_created_by_domain(api, make_company):
    acme = make_company("Acme", domains=["acme.test"])

    found = put(api, "people/by-email/ada@acme.test", {"company_domain": "www.ACME.test"})
    created = put(
        api,
        "people/by-email/bob@initech.test",
        {"company_domain": "initech.test", "company_name": "Initech"},
    )

    assert found.data["person"]["company_id"] == acme["id"]
    initech = Company.objects.get(name="Initech")
    assert created.data["person"]["company_id"] == initech.pk
    assert [d.domain for d in initech.domain_rows.all()] == ["initech.test"]


def test_company_id_and_company_domain_together_are_refused(api, make_company):
    acme = make_company("Acme", domains=["acme.test"])

    answer = put(
        api,
        "people/by-email/ada@acme.test",
        {"company_id": acme["id"], "company_domain": "acme.test"},
    )

    assert answer.status_code == 400 and answer.data["error"]["field"] == "company_domain"


def test_a_refused_person_leaves_no_company_behind(api):
    answer = put(
        api,
        "people/by-email/ada@initech.test",
        {"company_domain": "initech.test", "time_zone": "Mars/Olympus"},
    )

    assert answer.status_code == 400 and answer.data["error"]["field"] == "time_zone"
    assert not Company.objects.exists()


# -- one company -------------------------------------------------------------------------


def test_a_company_is_created_then_updated_by_its_domain(api):
    created = put(api, "companies/by-domain/acme.test", {"name": "Acme"})
    updated = put(
        api,
        "companies/by-domain/WWW.Acme.TEST",
        {"name": "Acme Inc."},
    )

    assert created.status_code == 201 and created.data["created"] is True
    assert created.data["company"]["domains"] == ["acme.test"]
    assert updated.status_code == 200 and updated.data["created"] is False
    assert updated.data["company"]["id"] == created.data["company"]["id"]
    assert updated.data["company"]["name"] == "Acme Inc."


def test_a_new_company_needs_a_name(api):
    answer = put(api, "companies/by-domain/acme.test", {})

    assert answer.status_code == 400 and answer.data["error"]["field"] == "name"


def test_a_domain_owned_by_another_company_is_refused_naming_it(api, make_company):
    make_company("Initech", domains=["initech.test"])

    answer = put(
        api,
        "companies/by-domain/acme.test",
        {"name": "Acme", "domains": ["acme.test", "initech.test"]},
    )

    assert answer.status_code == 400
    assert answer.data["error"]["code"] == "duplicate_domain"
    assert "Initech" in answer.data["error"]["message"]


# -- batches -----------------------------------------------------------------------------


def test_one_bad_record_never_drops_the_other_999(api):
    records = [{"email": f"p{i}@example.com", "first_name": f"P{i}"} for i in range(1000)]
    records[500] = {"email": "not an address", "first_name": "Broken"}

    answer = api.post("people/upsert", {"records": records})

    assert answer.status_code == 200, answer.data
    assert (answer.data["created"], answer.data["updated"], answer.data["failed"]) == (999, 0, 1)
    bad = answer.data["results"][500]
    assert bad["index"] == 500 and bad["status"] == "error" and bad["id"] is None
    assert bad["error"]["field"] == "email" and "not a valid email" in bad["error"]["message"]
    assert [r["index"] for r in answer.data["results"]] == list(range(1000))
    assert Person.objects.count() == 999


def test_a_batch_creates_and_updates_in_request_order(api, make_person):
    bob = make_person(email_addresses=["bob@example.com"], first_name="Bob")

    answer = api.post(
        "people/upsert",
        {
            "records": [
                {"email": "ada@example.com", "first_name": "Ada"},
                {"email": "BOB@example.com", "last_name": "Builder"},
                {"email": "eve@example.com", "time_zone": "Nowhere/Else"},
                {"email": "ADA@example.com", "last_name": "Lovelace"},
            ]
        },
    )

    statuses = [r["status"] for r in answer.data["results"]]
    assert statuses == ["created", "updated", "error", "updated"]
    assert answer.data["results"][1]["id"] == bob["id"]
    assert answer.data["results"][2]["error"]["field"] == "time_zone"
    ada = Person.objects.get(pk=answer.data["results"][0]["id"])
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")


def test_a_batch_record_conflicting_with_another_persons_address_is_refused_alone(api, make_person):
    make_person(email_addresses=["bob@example.com"], first_name="Bob")

    answer = api.post(
        "people/upsert",
        {
            "records": [
                {
                    "email": "ada@example.com",
                    "email_addresses": ["ada@example.com", "bob@example.com"],
                },
                {"email": "eve@example.com"},
            ]
        },
    )

    first, second = answer.data["results"]
    assert first["status"] == "error" and first["error"]["code"] == "duplicate_email"
    assert second["status"] == "created"


def test_more_than_1000_records_are_refused(api):
    records = [{"email": f"p{i}@example.com"} for i in range(1001)]

    answer = api.post("people/upsert", {"records": records})

    assert answer.status_code == 400 and answer.data["error"]["field"] == "records"
    assert not Person.objects.exists()


def test_companies_upsert_in_a_batch_by_domain(api, make_company):
    acme = make_company("Acme", domains=["acme.test"])

    answer = api.post(
        "companies/upsert",
        {
            "records": [
                {"domain": "ACME.test", "name": "Acme Corp"},
                {"domain": "initech.test", "name": "Initech"},
                {"domain": "nowhere", "name": "Broken"},
                {"domain": "globex.test"},
            ]
        },
    )

    results = answer.data["results"]
    assert [r["status"] for r in results] == ["updated", "created", "error", "error"]
    assert results[0]["id"] == acme["id"]
    assert results[2]["error"]["field"] == "domain"
    assert results[3]["error"]["field"] == "name"
    assert Company.objects.get(pk=acme["id"]).name == "Acme Corp"
    assert Company.objects.count() == 2


# -- access ------------------------------------------------------------------------------

UPSERTS = [
    ("PUT", "people/by-email/ada@example.com", {"first_name": "Ada"}),
    ("PUT", "companies/by-domain/acme.test", {"name": "Acme"}),
    ("POST", "people/upsert", {"records": [{"email": "ada@example.com"}]}),
    ("POST", "companies/upsert", {"records": [{"domain": "acme.test", "name": "Acme"}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), UPSERTS)
def test_a_member_upserts_as_every_member_edits_every_record(
    make_member, api_as, method, path, body
):
    answer = api_as(make_member(role=Role.MEMBER)).request(method, path, body)

    assert answer.status_code in (200, 201), answer.data


@pytest.mark.parametrize(("method", "path", "body"), UPSERTS)
def test_a_read_only_token_cannot_upsert(admin, method, path, body):
    _, raw = services.create_token(admin, "report", TokenScope.READ_ONLY)

    answer = ApiClient(raw).request(method, path, body)

    assert answer.status_code == 403 and answer.data["error"]["code"] == "read_only_token"
    assert not Person.objects.exists() and not Company.objects.exists()


@pytest.mark.parametrize(("method", "path", "body"), UPSERTS)
def test_nobody_upserts_without_a_token(anonymous_api, method, path, body):
    answer = anonymous_api.request(method, path, body)

    assert answer.status_code == 401
