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
