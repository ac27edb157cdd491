"""Members and teams in Settings (admins only): add members, set admins, make teams."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.workspace import services
from sequencer.workspace.models import Role, Team, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_member_who_can_then_sign_in(admin, browser_of):
    answer = browser_of(admin).post(
        "/settings/members/add/",
        {"email": "Mia@Acme.test", "name": "Mia Member", "password": PASSWORD},
        follow=True,
    )

    assert "Added Mia Member. They sign in with mia@acme.test" in answer.content.decode()
    mia = User.objects.get(email="mia@acme.test")
    assert mia.role == Role.MEMBER and mia.check_password(PASSWORD)
    signed_in = Client().post("/login/", {"username": "mia@acme.test", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"


def test_a_member_can_be_added_as_an_admin(admin, browser_of):
    browser_of(admin).post(
        "/settings/members/add/",
        {"email": "bo@acme.test", "password": PASSWORD, "is_admin": "on"},
    )
    assert User.objects.get(email="bo@acme.test").is_admin


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"email": "not-an-address", "password": PASSWORD}, "member_email", "not an email"),
        ({"email": "admin@acme.test", "password": PASSWORD}, "member_email", "exists already"),
        ({"email": "new@acme.test", "password": "short"}, "member_password", "too short"),
        ({"email": "new@acme.test", "password": ""}, "member_password", "Choose a first password"),
    ],
)
def test_a_refused_member_is_explained_next_to_the_field(admin, browser_of, data, field, message):
    answer = browser_of(admin).post("/settings/members/add/", data)

    page = answer.content.decode()
    assert answer.status_code == 400
    error = page.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error
    assert User.objects.count() == 1


def test_an_admin_makes_a_member_admin_and_back(admin, make_member, browser_of):
    mia = make_member(name="Mia")
    client = browser_of(admin)

    made = client.post(f"/settings/members/{mia.pk}/role/", {"role": "admin"}, follow=True)
    mia.refresh_from_db()
    assert mia.is_admin and "Mia is now an admin." in made.content.decode()
    client.post(f"/settings/members/{mia.pk}/role/", {"role": "member"})
    mia.refresh_from_db()
    assert not mia.is_admin


def test_an_admin_who_steps_down_lands_on_a_page_they_may_see(admin, make_member, browser_of):
    make_member(role=Role.ADMIN)

    answer = browser_of(admin).post(
        f"/settings/members/{admin.pk}/role/", {"role": "member"}, follow=True
    )

    assert answer.status_code == 200
    assert "Ada Admin is no longer an admin." in answer.content.decode()


def test_the_last_admin_stays_admin(admin, browser_of):
    answer = browser_of(admin).post(
        f"/settings/members/{admin.pk}/role/", {"role": "member"}, follow=True
    )

    admin.refresh_from_db()
    assert admin.is_admin
    assert "The workspace needs at least one admin" in answer.content.decode()


def test_an_admin_makes_a_team_and_changes_its_members(admin, make_member, browser_of):
    mia, bo = make_member(name="Mia"), make_member(name="Bo")
    client = browser_of(admin)

    made = client.post(
        "/settings/teams/add/", {"name": "Sales", "member_ids": [mia.pk]}, follow=True
    )
    team = Team.objects.get(name="Sales")
    assert list(team.members.all()) == [mia]
    assert "Created the team “Sales”." in made.content.decode()

    changed = client.post(
        f"/settings/teams/{team.pk}/members/", {"member_ids": [mia.pk, bo.pk]}, follow=True
    )
    assert set(team.members.all()) == {mia, bo}
    assert "“Sales” now has 2 members." in changed.content.decode()


def test_a_team_name_taken_already_is_refused_next_to_the_name(admin, browser_of):
    services.create_team("Sales")

    answer = browser_of(admin).post("/settings/teams/add/", {"name": "Sales"})

    assert answer.status_code == 400
    assert "A team named &#x27;Sales&#x27; exists already." in answer.content.decode()


ACTIONS = [
    ("get", "/settings/members/", None),
    ("post", "/settings/members/add/", {"email": "x@acme.test", "password": PASSWORD}),
    ("post", "/settings/members/{admin}/role/", {"role": "member"}),
    ("post", "/settings/teams/add/", {"name": "Sales"}),
    ("post", "/settings/teams/{team}/members/", {"member_ids": []}),
]


def _url(path: str, admin: User, team: Team) -> str:
    return path.format(admin=admin.pk, team=team.pk)


@pytest.mark.parametrize("method,path,data", ACTIONS)
def test_signed_out_visitors_are_sent_to_sign_in(admin, method, path, data):
    team = services.create_team("Support")
    answer = getattr(Client(), method)(_url(path, admin, team), data)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


@pytest.mark.parametrize("method,path,data", ACTIONS)
def test_members_who_are_not_admins_get_a_403_and_change_nothing(
    admin, make_member, browser_of, method, path, data
):
    team = services.create_team("Support", [admin.pk])
    answer = getattr(browser_of(make_member()), method)(_url(path, admin, team), data)

    assert answer.status_code == 403
    assert admin.is_admin and list(team.members.all()) == [admin]
    assert not User.objects.filter(email="x@acme.test").exists()
    assert Team.objects.count() == 1


@pytest.mark.parametrize("method,path,data", ACTIONS)
def test_admins_may_do_each_action(admin, make_member, browser_of, method, path, data):
    make_member(role=Role.ADMIN)  # so that the admin below may step down
    team = services.create_team("Support")
    answer = getattr(browser_of(admin), method)(_url(path, admin, team), data)
    assert answer.status_code in (200, 302)


def test_the_page_costs_the_same_queries_with_10_or_200_members(admin, browser_of):
    client = browser_of(admin)
    sales, support = services.create_team("Sales"), services.create_team("Support")
    counts = []
    for total in (10, 200):
        User.objects.exclude(pk=admin.pk).delete()
        User.objects.bulk_create(
            User(email=f"m{total}-{i}@acme.test", name=f"Member {i}", password="!")
            for i in range(total)
        )
        everyone = list(User.objects.values_list("pk", flat=True))
        services.set_team_members(sales, everyone)
        services.set_team_members(support, everyone[::2])
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/settings/members/").content.decode()
        assert page.count(">Make admin</button>") == total
        counts.append(len(queries))
    assert counts[0] == counts[1]
