import pytest

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response.status_code == 400, (response.status_code, response.data)
    return response.data["error"]


def test_a_company_round_trips_through_create_read_update_and_delete(api, make_attribute):
    make_attribute("companies", "employees", "number")
    created = api.post(
        "companies",
        {
            "name": " Acme Inc ",
            "domains": ["https://www.Acme.com/about", "acme.co.uk", "ACME.com"],
            "attributes": {"employees": 120},
        },
    )
    assert created.status_code == 201, created.data
    company = created.data
    assert company["name"] == "Acme Inc"
    assert company["domains"] == ["acme.com", "acme.co.uk"]
    assert company["attributes"] == {"employees": 120}
    assert api.get(f"companies/{company['id']}").data == company

    changed = api.patch(f"companies/{company['id']}", {"domains": ["acme.co.uk", "acme.io"]})
    assert changed.data["domains"] == ["acme.co.uk", "acme.io"]
    assert changed.data["name"] == "Acme Inc"

    assert api.delete(f"companies/{company['id']}").status_code == 204
    assert api.get(f"companies/{company['id']}").status_code == 404


def test_a_company_needs_a_name(api):
    assert error_of(api.post("companies", {"name": "  "}))["field"] == "name"
    company = api.post("companies", {"name": "Acme"}).data
    assert error_of(api.patch(f"companies/{company['id']}", {"name": None}))["field"] == "name"


def test_a_domain_belongs_to_one_company_only(api, make_company):
    make_company("Acme", domains=["acme.com"])
    error = error_of(api.post("companies", {"name": "Other", "domains": ["x.com", "www.acme.com"]}))
    assert error["field"] == "domains.1"
    assert error["code"] == "duplicate_domain"
    assert "Acme" in error["message"]


def test_a_company_keeps_its_own_domains_when_updated(api, make_company):
    company = make_company("Acme", domains=["acme.com"])
    changed = api.patch(f"companies/{company['id']}", {"domains": ["acme.com", "acme.org"]})
    assert changed.status_code == 200, changed.data


def test_a_malformed_domain_is_refused(api):
    error = error_of(
        api.post("companies", {"name": "Acme", "domains": ["acme.com", "not a domain"]})
    )
    assert error["field"] == "domains.1"
    assert error["code"] == "invalid_domain"


def test_companies_are_filtered_and_paginated(api, make_company):
    acme = make_company("Acme", domains=["acme.com"])
    make_company("Acme Labs", domains=["acmelabs.com"])
    make_company("Globex", domains=["globex.com"])
    page = api.get("companies?q=acme&limit=1").data
    assert page["count"] == 2
    assert [c["name"] for c in page["items"]] == ["Acme"]
    assert api.get("companies?q=acme&limit=1&offset=1").data["items"][0]["name"] == "Acme Labs"
    by_domain = api.get("companies?domain=www.ACME.com").data
    assert [c["id"] for c in by_domain["items"]] == [acme["id"]]


def test_deleting_a_company_keeps_its_people(api, make_company, make_person):
    acme = make_company("Acme")
    person = make_person(company_id=acme["id"])
    api.delete(f"companies/{acme['id']}")
    assert api.get(f"people/{person['id']}").data["company_id"] is None


def test_a_company_attribute_is_checked_like_a_person_attribute(api, make_attribute):
    make_attribute("companies", "founded", "date")
    error = error_of(api.post("companies", {"name": "A", "attributes": {"founded": "1999"}}))
    assert error["field"] == "attributes.founded"
    assert "YYYY-MM-DD" in error["message"]
    error = error_of(api.post("companies", {"name": "A", "attributes": {"nope": 1}}))
    assert error["field"] == "attributes.nope"
