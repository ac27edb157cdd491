"""Companies, a company's People tab, lists, their entries, and adding people to a list."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.crm.lists import add_entry, create_list
from sequencer.crm.models import ListEntry, Person, PersonList

from .records_helpers import company, many_people, person

pytestmark = pytest.mark.django_db


def test_the_companies_table_shows_domains_and_how_many_people(admin, browser_of):
    initech = company("Initech", "initech.test", "initech.example")
    company("Globex")
    person("Ada", company=initech)
    person("Bob", company=initech)

    page = browser_of(admin).get("/companies/").content.decode()

    assert f'href="/companies/{initech.pk}/">Initech</a>' in page
    assert "initech.test, initech.example" in page
    assert '<td class="num">2</td>' in page and '<td class="num">0</td>' in page
    assert 'href="/import/?object=companies"' in page


def test_companies_are_searched_by_name_or_domain(admin, browser_of):
    company("Initech", "initech.test")
    company("Globex", "globex.test")
    client = browser_of(admin)
    assert "Globex" not in client.get("/companies/?q=initech").content.decode()
    assert "Initech" not in client.get("/companies/?q=globex.test").content.decode()


def test_no_companies_says_how_they_arrive(admin, browser_of):
    page = browser_of(admin).get("/companies/").content.decode()
    assert "No companies yet" in page and "Import CSV" in page


def test_the_company_people_tab_selects_its_people_to_enroll(admin, browser_of):
    initech = company("Initech")
    ada = person("Ada", company=initech)
    other = person("Other")

    page = browser_of(admin).get(f"/companies/{initech.pk}/").content.decode()

    assert f'name="person" value="{ada.pk}"' in page
    assert f'name="person" value="{other.pk}"' not in page
    assert 'action="/enroll/"' in page and "Enroll in sequence" in page
    assert 'aria-current="page">People</a>' in page


def test_the_company_details_tab_shows_its_domains(admin, browser_of):
    initech = company("Initech", "initech.test")
    page = browser_of(admin).get(f"/companies/{initech.pk}/details/").content.decode()
    assert "initech.test" in page
    assert browser_of(admin).get("/companies/999999/").status_code == 404


def test_companies_and_the_people_tab_cost_the_same_queries_for_few_and_many(admin, browser_of):
    initech = company("Initech")
    client = browser_of(admin)
    client.get("/companies/")
    many_people(10, company=initech)
    for i in range(5):
        company(f"Company {i}", f"c{i}.test")
    with CaptureQueriesContext(connection) as few_companies:
        client.get("/companies/")
    with CaptureQueriesContext(connection) as few_people:
        client.get(f"/companies/{initech.pk}/")
    many_people(100, start=10, company=initech)
    for i in range(5, 60):
        company(f"Company {i}", f"c{i}.test")
    with CaptureQueriesContext(connection) as many_companies:
        client.get("/companies/")
    with CaptureQueriesContext(connection) as many_people_tab:
        client.get(f"/companies/{initech.pk}/")

    assert len(many_companies) == len(few_companies)
    assert len(many_people_tab) == len(few_people)


def test_the_lists_page_counts_entries_and_offers_a_new_list(admin, browser_of):
    prospects = create_list("Prospects")
    add_entry(prospects, person("Ada").pk)
    page = browser_of(admin).get("/lists/").content.decode()
    assert f'href="/lists/{prospects.pk}/">Prospects</a>' in page
    assert '<td class="num">1</td>' in page and 'href="/lists/new/"' in page


def test_creating_a_list_needs_a_name(admin, browser_of):
    client = browser_of(admin)
    refused = client.post("/lists/new/", {"name": " "})
    assert refused.status_code == 400 and 'id="name-error"' in refused.content.decode()
    created = client.post("/lists/new/", {"name": "Q3 prospects"})
    assert created["Location"] == f"/lists/{PersonList.objects.get().pk}/"


def test_a_list_shows_its_own_attributes_and_entries_to_enroll(admin, browser_of):
    prospects = create_list(
        "Prospects", [{"slug": "stage", "title": "Stage", "type": "select", "options": ["New"]}]
    )
    entry = add_entry(prospects, person("Ada", "Lovelace").pk, {"stage": "New"})

    page = browser_of(admin).get(f"/lists/{prospects.pk}/").content.decode()

    assert '<th scope="col">Stage</th>' in page and "<td>New</td>" in page
    assert re.search(
        r'<form method="get" action="/enroll/"[^>]*>\s*<input type="hidden" name="list"'
        rf' value="{prospects.pk}">',
        page,
    )
    assert f'name="entry" value="{entry.pk}" aria-label="Select Ada Lovelace"' in page


def test_a_list_costs_the_same_queries_for_10_and_60_entries(admin, browser_of):
    prospects = create_list("Prospects", [{"slug": "stage", "title": "Stage", "type": "text"}])
    client = browser_of(admin)
    client.get(f"/lists/{prospects.pk}/")
    many_people(60, company=company("Initech"))
    ids = list(Person.objects.values_list("pk", flat=True))
    for pk in ids[:10]:
        add_entry(prospects, pk, {"stage": "x"})
    with CaptureQueriesContext(connection) as ten:
        client.get(f"/lists/{prospects.pk}/")
    for pk in ids[10:]:
        add_entry(prospects, pk)
    with CaptureQueriesContext(connection) as sixty:
        response = client.get(f"/lists/{prospects.pk}/")

    assert response.content.decode().count('name="entry"') == 50
    assert len(sixty) == len(ten)


def test_people_are_found_and_added_from_the_list(admin, browser_of):
    prospects = create_list("Prospects")
    ada, grace = person("Ada", "Lovelace"), person("Grace", "Hopper")
    add_entry(prospects, grace.pk)
    client = browser_of(admin)

    found = client.get(f"/lists/{prospects.pk}/add/?q=e").content.decode()
    assert f'id="add-{ada.pk}" name="person" value="{ada.pk}" >' in found
    assert f'id="add-{grace.pk}" name="person" value="{grace.pk}" disabled>' in found
    assert "already in the list" in found

    response = client.post(f"/lists/{prospects.pk}/add/", {"person": [ada.pk, grace.pk]})
    assert response["Location"] == f"/lists/{prospects.pk}/"
    assert set(ListEntry.objects.values_list("person_id", flat=True)) == {ada.pk, grace.pk}
    shown = client.get(response["Location"]).content.decode()
    assert "Added 1 person to “Prospects”. 1 was already in it." in shown


def test_add_to_list_from_the_selection_into_a_new_list(admin, browser_of):
    ada, bob = person("Ada"), person("Bob")
    client = browser_of(admin)

    asked = client.get(f"/lists/add/?person={ada.pk}&person={bob.pk}").content.decode()
    assert "Adding <strong>2 people</strong>" in asked
    refused = client.post("/lists/add/", {"person": [ada.pk, bob.pk], "list": "new"})
    assert refused.status_code == 400 and 'id="new_name-error"' in refused.content.decode()
    done = client.post(
        "/lists/add/", {"person": [ada.pk, bob.pk], "list": "new", "new_name": "Warm leads"}
    )

    warm = PersonList.objects.get(name="Warm leads")
    assert done["Location"] == f"/lists/{warm.pk}/"
    assert warm.entries.count() == 2


def test_add_to_list_into_an_existing_list(admin, browser_of):
    prospects = create_list("Prospects")
    ada = person("Ada")
    browser_of(admin).post("/lists/add/", {"person": [ada.pk], "list": str(prospects.pk)})
    assert prospects.entries.get().person == ada
