"""The Share dialog: everyone who sees a sequence sees who has access; full access changes it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access
from sequencer.workspace.models import Team, User

from .conftest import LEVELS

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _levels(sequence) -> dict[str, object]:
    sequence.refresh_from_db()
    listing = access.access_list(sequence)
    return {
        "workspace": listing.workspace_access,
        "members": dict(listing.members),
        "teams": dict(listing.teams),
    }


@pytest.mark.parametrize("level", LEVELS)
def test_only_full_access_or_an_admin_can_change_sharing(
    admin, browser_of, make_sequence, make_member, member_with, level
):
    sequence = make_sequence(name="Guarded")
    viewer = member_with(sequence, level)
    colleague = make_member(name="Colin Colleague")
    before = _levels(sequence)
    client = browser_of(viewer)

    page = client.get(f"/sequences/{sequence.pk}/")
    changed = client.post(
        f"/sequences/{sequence.pk}/share/",
        {
            "workspace_access": "no_access",
            "action": "add",
            "add_who": f"member:{colleague.pk}",
            "add_level": "read_only",
        },
        **HTMX,
    )

    html = page.content.decode()
    if level == "no_access":
        assert page.status_code == 404 and changed.status_code == 404
    elif level in ("read_only", "read_write"):
        assert page.status_code == 200 and changed.status_code == 403
        # They see who has access, as text, with no control to change it.
        assert "Who has access" in html and "Only members with full access" in html
        assert 'name="workspace_access"' not in html and 'name="add_who"' not in html
    else:
        assert page.status_code == 200 and changed.status_code == 200
        assert 'aria-label="Access for Everyone in Acme"' in html
        assert "Colin Colleague now has read only access." in changed.content.decode()
    after = _levels(sequence)
    if level in ("full_access", "admin"):
        assert after["workspace"] == Level.NO_ACCESS
        assert after["members"][colleague.pk] == Level.READ_ONLY
    else:
        assert after == before


def test_the_dialog_changes_a_level_and_removes_a_grant_keeping_the_others(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    rita, sam = make_member(name="Rita"), make_member(name="Sam")
    team = Team.objects.create(name="EMEA sales")
    access.set_access(
        sequence,
        workspace_access="read_write",
        members=[(admin.pk, "full_access"), (rita.pk, "read_only"), (sam.pk, "read_write")],
        teams=[(team.pk, "read_only")],
    )
    rows = {
        "workspace_access": "read_only",
        f"member-{admin.pk}": "full_access",
        f"member-{rita.pk}": "read_write",
        f"member-{sam.pk}": "read_write",
        f"team-{team.pk}": "read_only",
    }
    client = browser_of(admin)

    client.post(f"/sequences/{sequence.pk}/share/", rows, **HTMX)
    removed = client.post(
        f"/sequences/{sequence.pk}/share/", {**rows, "action": f"remove:member:{sam.pk}"}, **HTMX
    )

    assert _levels(sequence) == {
        "workspace": Level.READ_ONLY,
        "members": {admin.pk: Level.FULL_ACCESS, rita.pk: Level.READ_WRITE},
        "teams": {team.pk: Level.READ_ONLY},
    }
    html = removed.content.decode()
    assert "Removed." in html
    # Sam can be added again: he is offered in the picker, no longer listed with a level.
    assert f'value="member:{sam.pk}"' in html and f'name="member-{sam.pk}"' not in html


def test_a_refused_change_says_why_and_keeps_every_grant(admin, browser_of, make_sequence):
    sequence = make_sequence()
    before = _levels(sequence)

    response = browser_of(admin).post(
        f"/sequences/{sequence.pk}/share/",
        {"workspace_access": "everyone", "action": "add", "add_who": ""},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Not saved: Choose a member or a team to add." in response.content.decode()
    assert _levels(sequence) == before


def test_a_member_who_removes_their_own_access_is_sent_back_to_the_list(
    admin, browser_of, make_sequence, make_member
):
    owner = make_member(name="Olga Owner")
    sequence = make_sequence(owner=owner)
    client = browser_of(owner)

    response = client.post(
        f"/sequences/{sequence.pk}/share/",
        {"workspace_access": "no_access", "action": f"remove:member:{owner.pk}"},
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/sequences/"
    assert client.get(f"/sequences/{sequence.pk}/").status_code == 404


def test_the_share_dialog_costs_the_same_queries_for_2_and_60_grants(
    admin, browser_of, make_sequence, make_member
):
    small, large = make_sequence(), make_sequence()
    # Created directly: 60 password hashes would only slow the test down.
    members = User.objects.bulk_create(
        [User(email=f"m{i}@acme.test", name=f"Member {i}", password="!") for i in range(60)]
    )
    access.set_access(
        large,
        workspace_access="read_only",
        members=[(m.pk, "read_write") for m in members],
        teams=[],
    )
    client = browser_of(admin)
    client.get(f"/sequences/{small.pk}/")

    with CaptureQueriesContext(connection) as few:
        client.get(f"/sequences/{small.pk}/")
    with CaptureQueriesContext(connection) as many:
        client.get(f"/sequences/{large.pk}/")

    assert len(many) == len(few)


# --- Finding whom to add ------------------------------------------------------------------


def _search(client, sequence, query: str):
    return client.get(f"/sequences/{sequence.pk}/share/search/", {"q": query}, **HTMX)


def test_the_search_finds_members_by_name_or_email_and_teams_by_name(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    make_member("rita@acme.test", name="Rita Reader")
    make_member("sam@partners.test", name="Sam Seller")
    Team.objects.create(name="Partner success")
    client = browser_of(admin)

    by_name = _search(client, sequence, "rita").content.decode()
    by_email = _search(client, sequence, "PARTNERS.test").content.decode()
    by_team = _search(client, sequence, "partner").content.decode()
    nothing = _search(client, sequence, "zebra").content.decode()

    assert "Rita Reader" in by_name and "Sam Seller" not in by_name
    # A single match is chosen already, so Add adds it.
    assert 'value="member:' in by_name and "checked" in by_name
    assert "Sam Seller" in by_email and "Rita Reader" not in by_email
    assert "Partner success" in by_team and "Team · 0 members" in by_team
    assert "Sam Seller" in by_team  # "partner" is in his address too
    assert "No member or team without access matches “zebra”" in nothing


def test_the_search_leaves_out_whoever_already_has_their_own_access(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    rita = make_member("rita@acme.test", name="Rita Reader")
    team = Team.objects.create(name="Readers")
    access.set_access(
        sequence,
        workspace_access="read_only",
        members=[(rita.pk, "read_only")],
        teams=[(team.pk, "read_only")],
    )

    found = _search(browser_of(admin), sequence, "read").content.decode()

    assert "Rita Reader" not in found and "Readers" not in found


def test_adding_a_searched_member_keeps_the_search_and_shows_who_was_added(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence(name="Guarded")
    rita = make_member("rita@acme.test", name="Rita Reader")
    make_member("rick@acme.test", name="Rick Reader")

    answer = (
        browser_of(admin)
        .post(
            f"/sequences/{sequence.pk}/share/",
            {
                "workspace_access": "read_only",
                "q": "reader",
                "action": "add",
                "add_who": f"member:{rita.pk}",
                "add_level": "read_write",
            },
            **HTMX,
        )
        .content.decode()
    )

    assert "Rita Reader now has read and write access." in answer
    assert 'id="share-query" name="q" value="reader"' in answer
    matches = answer[answer.index('id="share-candidates"') : answer.index("Who has access")]
    assert "Rick Reader" in matches and "Rita Reader" not in matches
    assert _levels(sequence)["members"][rita.pk] == Level.READ_WRITE


def test_adding_without_choosing_says_so_next_to_the_matches(admin, browser_of, make_sequence):
    sequence = make_sequence()

    answer = (
        browser_of(admin)
        .post(
            f"/sequences/{sequence.pk}/share/",
            {"workspace_access": "read_only", "q": "", "action": "add", "add_level": "read_only"},
            **HTMX,
        )
        .content.decode()
    )

    assert '<p class="field-error" id="share-add-error">Choose a member or a team to add.</p>' in (
        answer
    )


@pytest.mark.parametrize("level", LEVELS)
def test_only_those_who_can_share_can_search_whom_to_add(
    admin, browser_of, make_sequence, make_member, member_with, level
):
    sequence = make_sequence()
    make_member("rita@acme.test", name="Rita Reader")

    answer = _search(browser_of(member_with(sequence, level)), sequence, "rita")

    expected = {"no_access": 404, "read_only": 403, "read_write": 403}.get(level, 200)
    assert answer.status_code == expected
    assert ("Rita Reader" in answer.content.decode()) == (expected == 200)


def test_searching_needs_a_signed_in_member(admin, make_sequence, client):
    sequence = make_sequence()
    answer = client.get(f"/sequences/{sequence.pk}/share/search/", {"q": "a"})
    assert answer.status_code == 302 and "/login" in answer["Location"]


def test_the_dialog_and_its_search_cost_the_same_queries_for_3_and_300_members(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    client = browser_of(admin)
    client.get(f"/sequences/{sequence.pk}/")

    def counted(path: str, **extra: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, **extra).status_code == 200
        return len(queries)

    def both() -> tuple[int, int]:
        return (
            counted(f"/sequences/{sequence.pk}/"),
            counted(f"/sequences/{sequence.pk}/share/search/?q=member", **HTMX),
        )

    User.objects.bulk_create(
        [User(email=f"m{i}@acme.test", name=f"Member {i}", password="!") for i in range(3)]
    )
    few = both()
    User.objects.bulk_create(
        [User(email=f"n{i}@acme.test", name=f"Member {i}", password="!") for i in range(300)]
    )
    Team.objects.bulk_create([Team(name=f"Team {i}") for i in range(50)])
    many = both()

    assert many == few
    editor = client.get(f"/sequences/{sequence.pk}/").content.decode()
    # A few matches are listed, never the whole workspace.
    assert editor.count('name="add_who"') <= 16
