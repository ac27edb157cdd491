"""Deleting a person and taking people out of a list from the browser: each asks first,
acts only on the answer, and says what it did."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.crm.lists import add_entry, create_list
from sequencer.crm.models import ListEntry, Person

from .records_helpers import person

pytestmark = pytest.mark.django_db


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_deleting_a_person_asks_first_and_deletes_only_on_the_answer(admin, browser_of):
    ada = person("Ada", "Lovelace", "ada@example.test")
    add_entry(create_list("Prospects"), ada.pk)
    client = browser_of(admin)

    question = client.get(f"/people/{ada.pk}/delete/")
    assert question.status_code == 200
    text = question.content.decode()
    assert "Delete this person?" in text
    assert "ada@example.test" in text
    assert "their place in 1 list" in text
    assert Person.objects.filter(pk=ada.pk).exists()

    done = client.post(f"/people/{ada.pk}/delete/")
    assert done.status_code == 302 and done["Location"] == "/people/"
    assert _said(done) == ["Deleted Ada Lovelace."]
    assert not Person.objects.filter(pk=ada.pk).exists()
    assert not ListEntry.objects.exists()
    assert client.get(f"/people/{ada.pk}/delete/").status_code == 404


def test_the_person_page_offers_delete(admin, browser_of):
    ada = person("Ada")
    page = browser_of(admin).get(f"/people/{ada.pk}/").content.decode()
    assert f'href="/people/{ada.pk}/delete/"' in page


def test_removing_from_a_list_names_who_leaves_and_keeps_their_records(admin, browser_of):
    prospects = create_list("Prospects")
    others = create_list("Others")
    ada, grace, alan = person("Ada"), person("Grace"), person("Alan")
    ada_entry = add_entry(prospects, ada.pk)
    grace_entry = add_entry(prospects, grace.pk)
    kept = add_entry(prospects, alan.pk)
    elsewhere = add_entry(others, ada.pk)
    client = browser_of(admin)
    url = f"/lists/{prospects.pk}/remove/"

    question = client.get(f"{url}?entry={ada_entry.pk}&entry={grace_entry.pk}")
    assert question.status_code == 200
    text = question.content.decode()
    assert "2 people leave this list" in text
    assert "Ada Tester" in text and "Grace Tester" in text and "Alan" not in text
    assert ListEntry.objects.count() == 4

    # An entry of another list given here is not touched.
    done = client.post(url, {"entry": [ada_entry.pk, grace_entry.pk, elsewhere.pk]})
    assert done.status_code == 302 and done["Location"] == f"/lists/{prospects.pk}/"
    assert _said(done) == ["Removed 2 people from Prospects."]
    assert set(ListEntry.objects.values_list("pk", flat=True)) == {kept.pk, elsewhere.pk}
    assert Person.objects.count() == 3


def test_the_removal_question_costs_the_same_queries_for_one_or_many_unnamed_people(
    admin, browser_of
):
    prospects = create_list("Prospects")
    entries = [add_entry(prospects, person("", "", f"p{n}@example.test").pk) for n in range(4)]
    client = browser_of(admin)
    url = f"/lists/{prospects.pk}/remove/"
    client.get(f"{url}?entry={entries[0].pk}")

    with CaptureQueriesContext(connection) as one:
        client.get(f"{url}?entry={entries[0].pk}")
    with CaptureQueriesContext(connection) as four:
        page = client.get(url + "?" + "&".join(f"entry={e.pk}" for e in entries))

    assert "p3@example.test" in page.content.decode()
    assert len(four) == len(one)


def test_removing_with_nobody_selected_says_how_to_pick(admin, browser_of):
    prospects = create_list("Prospects")
    answer = browser_of(admin).post(f"/lists/{prospects.pk}/remove/", {})
    assert answer.status_code == 400
    assert "Nobody selected" in answer.content.decode()


def test_the_list_page_offers_remove_from_list_for_the_selection(admin, browser_of):
    prospects = create_list("Prospects")
    add_entry(prospects, person("Ada").pk)
    page = browser_of(admin).get(f"/lists/{prospects.pk}/").content.decode()
    assert f'formaction="/lists/{prospects.pk}/remove/"' in page


def test_a_visitor_cannot_delete_or_remove(admin):
    ada = person("Ada")
    prospects = create_list("Prospects")
    entry = add_entry(prospects, ada.pk)
    for url, data in (
        (f"/people/{ada.pk}/delete/", {}),
        (f"/lists/{prospects.pk}/remove/", {"entry": [entry.pk]}),
    ):
        answer = Client().post(url, data)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/")
    assert Person.objects.filter(pk=ada.pk).exists()
    assert ListEntry.objects.filter(pk=entry.pk).exists()
