import pytest

from sequencer.crm.catalog import render_context, variable_catalog
from sequencer.crm.models import Attribute, Company, CompanyDomain, EmailAddress, Person

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_standard_variables_when_no_attribute_exists():
    catalog = variable_catalog()
    assert {"first_name", "full_name", "email", "time_zone"} <= catalog.person
    assert catalog.company == {"name", "domain", "domains"}
    assert catalog.list_attributes == frozenset()


def test_a_person_without_a_company_renders_blanks_as_none():
    person = Person.objects.create(first_name="Ada")
    EmailAddress.objects.create(person=person, email="ada@x.test", is_primary=True)
    context = render_context(person)
    assert context["person"]["first_name"] == "Ada"
    assert context["person"]["last_name"] is None
    assert context["person"]["email"] == "ada@x.test"
    assert context["company"]["name"] is None


def test_a_relationship_renders_as_the_display_name():
    Attribute.objects.create(
        object="people", slug="account", title="Account", type="relationship", target="companies"
    )
    acme = Company.objects.create(name="Acme")
    CompanyDomain.objects.create(company=acme, domain="acme.test")
    person = Person.objects.create(first_name="Ada", company=acme, attributes={"account": acme.pk})
    context = render_context(person)
    assert context["person"]["account"] == "Acme"
    assert context["company"]["domain"] == "acme.test"
    assert "account" in variable_catalog().person


def test_custom_values_render_with_blanks_as_none_and_people_by_their_name(make_attribute):
    from sequencer.crm.companies import create_company
    from sequencer.crm.people import create_person

    make_attribute("people", "segment", "select", options=["SMB"])
    make_attribute("people", "nickname")
    make_attribute("people", "referrers", "relationship", target="people", is_multiple=True)
    make_attribute("companies", "employees", "number")
    boss = create_person(first_name="Grace", last_name="Hopper", email_addresses=["g@example.com"])
    anonymous = create_person(email_addresses=["anon@example.com"])
    acme = create_company("Acme", ["acme.com", "acme.org"], {"employees": 12})
    ada = create_person(
        first_name="Ada",
        email_addresses=["ada@example.com", "ada@acme.com"],
        company_id=acme.pk,
        attributes={"segment": "SMB", "referrers": [boss.pk, anonymous.pk]},
    )
    context = render_context(ada)
    assert context["person"] == {
        "first_name": "Ada",
        "last_name": None,
        "full_name": "Ada",
        "email": "ada@example.com",
        "job_title": None,
        "time_zone": None,
        "segment": "SMB",
        "nickname": None,
        "referrers": "Grace Hopper, anon@example.com",
    }
    assert context["company"] == {
        "name": "Acme",
        "domain": "acme.com",
        "domains": ["acme.com", "acme.org"],
        "employees": 12,
    }
    catalog = variable_catalog()
    assert set(context["person"]) == catalog.person
    assert set(context["company"]) == catalog.company


def test_without_a_company_every_company_variable_is_none(make_attribute):
    from sequencer.crm.people import create_person

    make_attribute("companies", "employees", "number")
    person = create_person(email_addresses=["solo@example.com"])
    assert render_context(person)["company"] == {
        "name": None,
        "domain": None,
        "domains": None,
        "employees": None,
    }
