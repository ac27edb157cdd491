"""The owner of a person: shown on the person's page, set in the person form."""

from __future__ import annotations

import pytest

from sequencer.crm.models import Person

from .records_helpers import person

pytestmark = pytest.mark.django_db


def test_a_new_person_belongs_to_whoever_adds_them_unless_they_choose_another(
    admin, make_member, browser_of
):
    sam = make_member(name="Sam Seller")
    client = browser_of(sam)

    form = client.get("/people/new/").content.decode()
    assert f'<option value="{sam.pk}" selected>Sam Seller</option>' in form
    assert '<option value="">Nobody</option>' in form

    client.post("/people/new/", {"first_name": "Ada", "email": ["ada@x.test"], "owner": sam.pk})
    client.post(
        "/people/new/", {"first_name": "Bob", "email": ["bob@x.test"], "owner": str(admin.pk)}
    )
    client.post("/people/new/", {"first_name": "Cy", "email": ["cy@x.test"], "owner": ""})

    owners = dict(Person.objects.values_list("first_name", "owner_id"))
    assert owners == {"Ada": sam.pk, "Bob": admin.pk, "Cy": None}


def test_the_person_page_shows_the_owner_and_the_form_changes_it(admin, make_member, browser_of):
    sam = make_member(name="Sam Seller")
    ada = person("Ada", "Lovelace", "ada@x.test", owner_id=sam.pk)
    client = browser_of(admin)

    assert "<dt>Owner</dt><dd>Sam Seller</dd>" in client.get(f"/people/{ada.pk}/").content.decode()
    edit = client.get(f"/people/{ada.pk}/edit/").content.decode()
    assert f'<option value="{sam.pk}" selected>Sam Seller</option>' in edit

    client.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": ["ada@x.test"],
            "primary": "0",
            "owner": "",
        },
    )
    ada.refresh_from_db()
    assert ada.owner is None
    assert (
        '<dt>Owner</dt><dd><span class="muted">Nobody</span></dd>'
        in client.get(f"/people/{ada.pk}/").content.decode()
    )


def test_a_person_whose_owner_left_can_still_be_edited_and_says_so(admin, make_member, browser_of):
    sam = make_member(name="Sam Seller")
    ada = person("Ada", "Lovelace", "ada@x.test", owner_id=sam.pk)
    sam.is_active = False
    sam.save()
    client = browser_of(admin)

    edit = client.get(f"/people/{ada.pk}/edit/").content.decode()
    response = client.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "last_name": "Byron",
            "email": ["ada@x.test"],
            "primary": "0",
            "owner": str(sam.pk),
        },
    )

    ada.refresh_from_db()
    assert "Sam Seller (deactivated)" in edit
    assert response.status_code == 302
    assert ada.last_name == "Byron" and ada.owner == sam


def test_an_owner_who_is_not_an_active_member_is_refused_next_to_the_owner(
    admin, make_member, browser_of
):
    gone = make_member(name="Gone")
    gone.is_active = False
    gone.save()

    response = browser_of(admin).post(
        "/people/new/", {"first_name": "Ada", "email": ["ada@x.test"], "owner": str(gone.pk)}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="owner-error"' in page and 'aria-describedby="owner-hint owner-error"' in page
    assert not Person.objects.exists()
