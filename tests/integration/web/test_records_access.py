"""Who may open the record pages: records are workspace-wide, as in the API, so every
signed-in member (and admin) may; a visitor who is not signed in is sent to sign in."""

from __future__ import annotations

import pytest
from django.test import Client

from sequencer.crm.lists import add_entry, create_list
from sequencer.crm.models import Company, Person
from sequencer.workspace.models import Role

from .records_helpers import company, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(admin) -> list[str]:
    initech = company("Initech")
    ada = person("Ada", company=initech)
    prospects = create_list("Prospects")
    entry = add_entry(prospects, ada.pk)
    return [
        "/people/",
        "/people/new/",
        f"/people/{ada.pk}/",
        f"/people/{ada.pk}/edit/",
        "/companies/",
        f"/companies/{initech.pk}/",
        f"/companies/{initech.pk}/details/",
        "/lists/",
        "/lists/new/",
        f"/lists/{prospects.pk}/",
        f"/lists/{prospects.pk}/add/?q=ada",
        f"/lists/add/?person={ada.pk}",
        f"/people/{ada.pk}/delete/",
        "/companies/new/",
        f"/companies/{initech.pk}/edit/",
        f"/companies/{initech.pk}/delete/",
        f"/lists/{prospects.pk}/remove/?entry={entry.pk}",
    ]


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(pages):
    for url in pages:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_a_visitor_cannot_create_a_person(admin):
    response = Client().post("/people/new/", {"first_name": "X", "email": ["x@x.test"]})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_visitor_cannot_create_change_or_delete_a_company(admin):
    initech = company("Initech")
    for url in (
        "/companies/new/",
        f"/companies/{initech.pk}/edit/",
        f"/companies/{initech.pk}/delete/",
    ):
        response = Client().post(url, {"name": "X"})
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Company.objects.get().name == "Initech"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_members_and_admins_open_every_record_page(pages, make_member, browser_of, role):
    client = browser_of(make_member(role=role))
    for url in pages:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_members_and_admins_delete_people_and_take_them_out_of_lists(make_member, browser_of, role):
    client = browser_of(make_member(role=role))
    ada = person("Ada")
    prospects = create_list("Prospects")
    entry = add_entry(prospects, ada.pk)
    removed = client.post(f"/lists/{prospects.pk}/remove/", {"entry": [entry.pk]})
    assert removed.status_code == 302
    assert client.post(f"/people/{ada.pk}/delete/").status_code == 302
    assert not Person.objects.filter(pk=ada.pk).exists()
    made = client.post("/companies/new/", {"name": "Initech", "domains": "initech.test"})
    assert made.status_code == 302
    initech = Company.objects.get(name="Initech")
    edited = client.post(f"/companies/{initech.pk}/edit/", {"name": "Initrode", "domains": ""})
    assert edited.status_code == 302
    assert client.post(f"/companies/{initech.pk}/delete/").status_code == 302
    assert not Company.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_members_and_admins_create_and_edit_people(make_member, browser_of, role):
    client = browser_of(make_member(role=role))
    created = client.post("/people/new/", {"first_name": "Ada", "email": ["ada@x.test"]})
    assert created.status_code == 302
    edited = client.post(
        created["Location"] + "edit/", {"first_name": "Ada", "email": ["ada@y.test"]}
    )
    assert edited.status_code == 302
