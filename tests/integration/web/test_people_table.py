"""The People table: search, attribute filters, sort, pages, selection and its links."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.crm.attributes import create_attribute
from sequencer.crm.lists import add_entry, create_list

from .records_helpers import company, many_people, person

pytestmark = pytest.mark.django_db


def _names(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/people/\d+/">([^<]+)</a>', html)


def test_an_empty_workspace_says_how_to_add_people(admin, browser_of):
    page = browser_of(admin).get("/people/").content.decode()
    assert "No people yet" in page
    assert 'href="/people/new/"' in page
    assert 'href="/import/?object=people"' in page and "Import CSV" in page


def test_the_table_shows_name_primary_email_company_and_job_title(admin, browser_of):
    initech = company("Initech", "initech.test")
    person("Ada", "Lovelace", "ada@initech.test", "ada@home.test", company=initech, job_title="CTO")

    page = browser_of(admin).get("/people/").content.decode()

    assert _names(page) == ["Ada Lovelace"]
    assert "ada@initech.test" in page and "ada@home.test" not in page
    assert f'href="/companies/{initech.pk}/"' in page and "CTO" in page


def test_search_finds_people_by_name_or_any_address(admin, browser_of):
    person("Ada", "Lovelace", "ada@initech.test", "countess@home.test")
    person("Grace", "Hopper", "grace@navy.test")
    client = browser_of(admin)

    assert _names(client.get("/people/?q=lovel").content.decode()) == ["Ada Lovelace"]
    assert _names(client.get("/people/?q=countess").content.decode()) == ["Ada Lovelace"]
    nobody = client.get("/people/?q=zzz").content.decode()
    assert "No people match" in nobody and 'href="/people/"' in nobody


def test_filters_keep_people_whose_attribute_matches(admin, browser_of):
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    create_attribute("people", "vip", "VIP", "checkbox")
    create_attribute("people", "score", "Score", "number")
    create_attribute("people", "notes", "Notes", "text")
    person("Ada", "Big", attributes={"segment": "Enterprise", "vip": True, "score": 9})
    person("Bob", "Small", attributes={"segment": "SMB", "vip": False, "notes": "Met at expo"})
    client = browser_of(admin)

    assert _names(client.get("/people/?a.segment=Enterprise").content.decode()) == ["Ada Big"]
    assert _names(client.get("/people/?a.vip=no").content.decode()) == ["Bob Small"]
    assert _names(client.get("/people/?a.score=9").content.decode()) == ["Ada Big"]
    assert _names(client.get("/people/?a.notes=expo").content.decode()) == ["Bob Small"]
    page = client.get("/people/").content.decode()
    assert '<label for="filter-segment">Segment</label>' in page
    assert re.search(r'<option value="Enterprise" *>Enterprise</option>', page)


def test_the_list_filter_keeps_the_list_s_people(admin, browser_of):
    ada = person("Ada", "Lovelace")
    person("Bob", "Other")
    prospects = create_list("Prospects")
    add_entry(prospects, ada.pk)

    page = browser_of(admin).get(f"/people/?list={prospects.pk}").content.decode()

    assert _names(page) == ["Ada Lovelace"]


def test_sorting_by_name_both_ways_and_by_newest(admin, browser_of):
    person("Ada", "Byron")
    person("Cleo", "Anders")
    person("Bea", "Curie")
    client = browser_of(admin)

    assert _names(client.get("/people/").content.decode()) == [
        "Cleo Anders",
        "Ada Byron",
        "Bea Curie",
    ]
    assert _names(client.get("/people/?sort=-name").content.decode())[0] == "Bea Curie"
    assert _names(client.get("/people/?sort=-created").content.decode())[0] == "Bea Curie"
    assert _names(client.get("/people/?sort=created").content.decode())[0] == "Ada Byron"


def test_pages_of_fifty_with_links_that_keep_the_search(admin, browser_of):
    many_people(60)
    client = browser_of(admin)

    first = client.get("/people/?q=many").content.decode()
    second = client.get("/people/?q=many&page=2").content.decode()

    assert len(_names(first)) == 50 and len(_names(second)) == 10
    assert 'href="?q=many&amp;page=2"' in first
    assert "Page 1 of 2 · 60 people" in first


def test_each_row_has_a_checkbox_named_person_in_a_get_form_to_enroll(admin, browser_of):
    ada = person("Ada", "Lovelace")
    page = browser_of(admin).get("/people/").content.decode()

    assert re.search(r'<form method="get" action="/enroll/" class="selection-form"', page)
    assert f'name="person" value="{ada.pk}" aria-label="Select Ada Lovelace"' in page
    assert 'aria-label="Select all people on this page"' in page
    assert ">Enroll in sequence</button>" in page
    assert 'formaction="/lists/add/"' in page and "Add to list" in page


@pytest.mark.parametrize("sort", ["name", "company", "-created"])
def test_the_table_costs_the_same_queries_for_10_and_200_people(admin, browser_of, sort):
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    initech = company("Initech")
    client = browser_of(admin)
    client.get("/people/")  # session and workspace warmed up

    many_people(10, company=initech)
    with CaptureQueriesContext(connection) as ten:
        assert client.get(f"/people/?sort={sort}").status_code == 200
    many_people(190, start=10, company=initech)
    with CaptureQueriesContext(connection) as two_hundred:
        response = client.get(f"/people/?sort={sort}&q=many&a.segment=")

    assert len(_names(response.content.decode())) == 50
    assert len(two_hundred) == len(ten)


def test_a_later_page_shows_the_next_people_in_order_for_the_same_queries(admin, browser_of):
    many_people(120)
    client = browser_of(admin)
    client.get("/people/")  # session and workspace warmed up

    with CaptureQueriesContext(connection) as first_page:
        client.get("/people/?sort=-name")
    with CaptureQueriesContext(connection) as last_page:
        last = client.get("/people/?sort=-name&page=3").content.decode()

    # P0000 … P0119 from Z to A: the third page holds the twenty that sort first.
    assert _names(last) == [f"P{i:04d} Many" for i in range(19, -1, -1)]
    assert "Page 3 of 3 · 120 people" in last
    assert len(last_page) == len(first_page)


def test_the_sidebar_leads_to_people_companies_and_lists(admin, browser_of):
    page = browser_of(admin).get("/people/").content.decode()
    assert 'href="/people/" aria-current="page"' in page
    assert 'href="/companies/"' in page and 'href="/lists/"' in page
