"""Creating, editing and deleting a company in the browser: name, domains and custom
attributes, with each mistake shown next to its field and nothing typed lost."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from sequencer.crm.attributes import create_attribute
from sequencer.crm.companies import domains_of
from sequencer.crm.models import Company, Person

from .records_helpers import company, person

pytestmark = pytest.mark.django_db


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_member_creates_a_company_with_domains_and_attributes(admin, browser_of):
    create_attribute("companies", "employees", "Employees", "number")
    client = browser_of(admin)
    assert "New company" in client.get("/companies/new/").content.decode()
    done = client.post(
        "/companies/new/",
        {
            "name": " Initech ",
            "domains": "https://www.Initech.com/about\ninitech.io",
            "attr-employees": "250",
        },
    )
    created = Company.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/companies/{created.pk}/"
    assert _said(done) == ["Added Initech."]
    assert created.name == "Initech"
    assert domains_of(created) == ["initech.com", "initech.io"]
    assert created.attributes == {"employees": 250}


def test_mistakes_show_next_to_their_fields_and_keep_what_was_typed(admin, browser_of):
    create_attribute("companies", "employees", "Employees", "number")
    company("Acme", "acme.com")
    answer = browser_of(admin).post(
        "/companies/new/", {"name": "", "domains": "acme.com\nnew.test", "attr-employees": "many"}
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert 'id="name-error"' in text and "A company needs a name" in text
    assert 'id="domains-error"' in text and "acme.com already belongs to the company" in text
    assert 'id="attr-employees-error"' in text and "Employees is a number" in text
    assert "acme.com\nnew.test</textarea>" in text
    assert Company.objects.count() == 1


def test_a_bad_domain_is_named(admin, browser_of):
    answer = browser_of(admin).post(
        "/companies/new/", {"name": "Initech", "domains": "not a domain"}
    )
    assert answer.status_code == 400
    assert "is not a domain" in answer.content.decode()
    assert not Company.objects.exists()


def test_editing_changes_the_name_and_domains_and_keeps_its_people(admin, browser_of):
    initech = company("Initech", "initech.com")
    ada = person("Ada", company=initech)
    client = browser_of(admin)
    form = client.get(f"/companies/{initech.pk}/edit/").content.decode()
    assert 'value="Initech"' in form and "initech.com</textarea>" in form
    done = client.post(
        f"/companies/{initech.pk}/edit/", {"name": "Initrode", "domains": "initrode.com"}
    )
    assert done.status_code == 302 and done["Location"] == f"/companies/{initech.pk}/details/"
    initech.refresh_from_db()
    assert initech.name == "Initrode" and domains_of(initech) == ["initrode.com"]
    assert Person.objects.get(pk=ada.pk).company_id == initech.pk


def test_deleting_a_company_asks_first_and_keeps_its_people(admin, browser_of):
    initech = company("Initech", "initech.com")
    ada = person("Ada", company=initech)
    client = browser_of(admin)
    question = client.get(f"/companies/{initech.pk}/delete/").content.decode()
    assert "Delete this company?" in question and "Its 1 person stays in People" in question
    assert Company.objects.exists()
    done = client.post(f"/companies/{initech.pk}/delete/")
    assert done.status_code == 302 and done["Location"] == "/companies/"
    assert _said(done) == ["Deleted Initech."]
    assert not Company.objects.exists()
    assert Person.objects.get(pk=ada.pk).company_id is None


def test_the_company_pages_lead_to_new_edit_and_delete(admin, browser_of):
    initech = company("Initech")
    client = browser_of(admin)
    assert 'href="/companies/new/"' in client.get("/companies/").content.decode()
    page = client.get(f"/companies/{initech.pk}/").content.decode()
    assert f'href="/companies/{initech.pk}/edit/"' in page
    assert f'href="/companies/{initech.pk}/delete/"' in page
