"""Who may do what with a sequence, enforced on every endpoint."""

from __future__ import annotations

import pytest

from sequencer.sequences import access
from sequencer.sequences.models import Sequence
from tests.integration.sequences.helpers import step

pytestmark = pytest.mark.django_db

LEVELS = ["full_access", "read_write", "read_only", "no_access"]


@pytest.fixture
def member(make_member):
    return make_member(name="Mia Member")


@pytest.fixture
def member_api(member, api_as):
    return api_as(member)


def _live_sequence(api, **extra):
    """A published sequence owned by the admin."""
    created = api.post(
        "sequences",
        {"name": "Shared", "steps": [step(0, "Hi", "<p>Hello</p>"), step(1, "", "<p>Again</p>")]},
    )
    assert created.status_code == 201, created.data
    sequence_id = created.data["id"]
    assert api.post(f"sequences/{sequence_id}/publish").status_code == 200
    return sequence_id


def _set_access(api, sequence_id, workspace_access="no_access", members=(), teams=()):
    response = api.put(
        f"sequences/{sequence_id}/access",
        {
            "workspace_access": workspace_access,
            "members": [{"member_id": m, "level": lv} for m, lv in members],
            "teams": [{"team_id": t, "level": lv} for t, lv in teams],
        },
    )
    assert response.status_code == 200, response.data
    return response.data


# ApiClient has no put(); add one for these tests.
def _install_put(client):
    client.put = lambda path, body: client.request("PUT", path, body)
    return client


@pytest.fixture(autouse=True)
def _clients_can_put(api, member_api):
    _install_put(api)
    _install_put(member_api)


@pytest.fixture
def template_id(api):
    created = api.post("templates", {"name": "T", "subject": "S", "body_html": "<p>B</p>"})
    assert created.status_code == 201, created.data
    return created.data["id"]


# Each action: how to call it, and the lowest level that may do it.
ACTIONS = {
    "read": (lambda c, s, t: c.get(f"sequences/{s}"), "read_only"),
    "versions": (lambda c, s, t: c.get(f"sequences/{s}/versions"), "read_only"),
    "version": (lambda c, s, t: c.get(f"sequences/{s}/versions/1"), "read_only"),
    "see access": (lambda c, s, t: c.get(f"sequences/{s}/access"), "read_only"),
    "duplicate": (lambda c, s, t: c.post(f"sequences/{s}/duplicate"), "read_only"),
    "save as template": (
        lambda c, s, t: c.post(f"sequences/{s}/steps/0/save-as-template", {"name": "Mine"}),
        "read_only",
    ),
    "edit": (lambda c, s, t: c.patch(f"sequences/{s}", {"name": "Edited"}), "read_write"),
    "publish": (lambda c, s, t: c.post(f"sequences/{s}/publish"), "read_write"),
    "discard": (lambda c, s, t: c.post(f"sequences/{s}/discard"), "read_write"),
    "archive": (lambda c, s, t: c.post(f"sequences/{s}/archive"), "read_write"),
    "unarchive": (lambda c, s, t: c.post(f"sequences/{s}/unarchive"), "read_write"),
    "insert template": (
        lambda c, s, t: c.post(f"sequences/{s}/steps/0/insert-template", {"template_id": t}),
        "read_write",
    ),
    "manage access": (
        lambda c, s, t: c.put(
            f"sequences/{s}/access", {"workspace_access": "read_only", "members": [], "teams": []}
        ),
        "full_access",
    ),
}
_ORDER = {level: index for index, level in enumerate(reversed(LEVELS))}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_level_may_do_exactly_its_actions(api, member, member_api, template_id, level, action):
    sequence_id = _live_sequence(api)
    _set_access(api, sequence_id, "no_access", members=[(member.pk, level)])
    call, needed = ACTIONS[action]
    response = call(member_api, sequence_id, template_id)
    if level == "no_access":
        expected = {404}
    elif _ORDER[level] >= _ORDER[needed]:
        expected = {200, 201}
    else:
        expected = {403}
    assert response.status_code in expected, (level, action, response.data)
    if response.status_code == 404:
        assert response.data["error"]["code"] == "not_found"
    if response.status_code == 403:
        assert response.data["error"]["code"] == "forbidden"
        assert "access" in response.data["error"]["message"]


def test_a_sequence_the_member_cannot_see_is_absent_from_the_list(api, member_api):
    hidden = _live_sequence(api)
    shown = _live_sequence(api)
    _set_access(api, hidden, "no_access")
    listed = member_api.get("sequences").data
    assert [item["id"] for item in listed["items"]] == [shown]
    assert listed["count"] == 1
    assert listed["items"][0]["access_level"] == "read_write"


def test_a_hidden_sequence_answers_404_exactly_like_a_missing_one(api, member_api):
    hidden = _live_sequence(api)
    _set_access(api, hidden, "no_access")
    hidden_response = member_api.get(f"sequences/{hidden}")
    missing_response = member_api.get("sequences/987654")
    assert hidden_response.status_code == missing_response.status_code == 404
    assert hidden_response.data["error"]["code"] == missing_response.data["error"]["code"]


def test_read_only_gets_403_on_edit_and_the_draft_is_untouched(api, member, member_api):
    sequence_id = _live_sequence(api)
    _set_access(api, sequence_id, "read_only")
    response = member_api.patch(f"sequences/{sequence_id}", {"name": "Mine now"})
    assert response.status_code == 403
    assert Sequence.objects.get(pk=sequence_id).name == "Shared"


def test_the_creator_gets_a_full_access_grant_and_others_read_and_write(member_api, api):
    created = member_api.post("sequences", {"name": "Mine"})
    assert created.data["access_level"] == "full_access"
    listing = member_api.get(f"sequences/{created.data['id']}/access").data
    assert listing["workspace_access"] == "read_write"
    assert listing["members"] == [{"member_id": created.data["created_by"], "level": "full_access"}]
    assert listing["teams"] == []


def test_a_member_can_create_a_private_sequence(member_api, api, make_member, api_as):
    created = member_api.post("sequences", {"name": "Private", "workspace_access": "no_access"})
    assert created.status_code == 201, created.data
    colleague = api_as(make_member())
    assert colleague.get(f"sequences/{created.data['id']}").status_code == 404
    # Admins always have full access.
    assert api.get(f"sequences/{created.data['id']}").data["access_level"] == "full_access"


def test_admins_always_have_full_access_even_with_a_no_access_grant(api, admin):
    sequence_id = _live_sequence(api)
    _set_access(api, sequence_id, "no_access", members=[(admin.pk, "no_access")])
    assert api.get(f"sequences/{sequence_id}").data["access_level"] == "full_access"


def test_a_member_grant_beats_a_team_grant_which_beats_the_default(api, member, member_api):
    sequence_id = _live_sequence(api)
    team = api.post("teams", {"name": "Sales", "member_ids": [member.pk]}).data["id"]

    def level():
        response = member_api.get(f"sequences/{sequence_id}")
        return response.data["access_level"] if response.status_code == 200 else "no_access"

    _set_access(api, sequence_id, "read_write")
    assert level() == "read_write"
    _set_access(api, sequence_id, "read_write", teams=[(team, "read_only")])
    assert level() == "read_only"  # the team grant beats the default, even when lower
    _set_access(api, sequence_id, "no_access", teams=[(team, "full_access")])
    assert level() == "full_access"
    _set_access(
        api,
        sequence_id,
        "full_access",
        members=[(member.pk, "read_only")],
        teams=[(team, "full_access")],
    )
    assert level() == "read_only"  # the member grant beats the team grant, even when lower
    _set_access(api, sequence_id, "read_write", members=[(member.pk, "no_access")])
    assert level() == "no_access"
    assert member_api.get("sequences").data["count"] == 0


def test_the_highest_of_several_team_grants_applies(api, member, member_api):
    sequence_id = _live_sequence(api)
    sales = api.post("teams", {"name": "Sales", "member_ids": [member.pk]}).data["id"]
    success = api.post("teams", {"name": "Success", "member_ids": [member.pk]}).data["id"]
    _set_access(
        api, sequence_id, "no_access", teams=[(sales, "read_only"), (success, "read_write")]
    )
    assert member_api.get(f"sequences/{sequence_id}").data["access_level"] == "read_write"
    listed = member_api.get("sequences").data["items"]
    assert [(i["id"], i["access_level"]) for i in listed] == [(sequence_id, "read_write")]


def test_a_team_grant_of_no_access_hides_the_sequence_despite_the_default(api, member, member_api):
    sequence_id = _live_sequence(api)
    team = api.post("teams", {"name": "Sales", "member_ids": [member.pk]}).data["id"]
    _set_access(api, sequence_id, "full_access", teams=[(team, "no_access")])
    assert member_api.get(f"sequences/{sequence_id}").status_code == 404
    assert member_api.get("sequences").data["count"] == 0


def test_the_list_query_agrees_with_the_level_of_each_sequence(api, member, make_member):
    team = api.post("teams", {"name": "Sales", "member_ids": [member.pk]}).data["id"]
    combos = []
    for default in LEVELS:
        for member_level in [None, *LEVELS]:
            for team_level in [None, *LEVELS]:
                combos.append((default, member_level, team_level))
    for default, member_level, team_level in combos:
        sequence = Sequence.objects.create(
            workspace_access=default,
            settings={},
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
        access.set_access(
            sequence,
            workspace_access=default,
            members=[(member.pk, member_level)] if member_level else [],
            teams=[(team, team_level)] if team_level else [],
        )
    visible = set(access.visible_sequences(member).values_list("pk", flat=True))
    for sequence in Sequence.objects.all():
        expected = access.level_for(member, sequence) != access.Level.NO_ACCESS
        assert (sequence.pk in visible) == expected


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"workspace_access": "everyone"}, "workspace_access", "invalid_level"),
        (
            {
                "workspace_access": "read_only",
                "members": [{"member_id": 987654, "level": "read_only"}],
            },
            "members.0.member_id",
            "not_found",
        ),
        (
            {"workspace_access": "read_only", "teams": [{"team_id": 987654, "level": "read_only"}]},
            "teams.0.team_id",
            "not_found",
        ),
    ],
)
def test_bad_access_input_names_the_field(api, body, field, code):
    sequence_id = _live_sequence(api)
    response = api.put(f"sequences/{sequence_id}/access", body)
    assert response.status_code == 400, response.data
    assert (response.data["error"]["field"], response.data["error"]["code"]) == (field, code)


def test_a_bad_level_and_a_repeated_member_name_the_entry(api, member):
    sequence_id = _live_sequence(api)
    bad_level = api.put(
        f"sequences/{sequence_id}/access",
        {"workspace_access": "no_access", "members": [{"member_id": member.pk, "level": "owner"}]},
    )
    assert bad_level.data["error"]["field"] == "members.0.level"
    twice = api.put(
        f"sequences/{sequence_id}/access",
        {
            "workspace_access": "no_access",
            "members": [
                {"member_id": member.pk, "level": "read_only"},
                {"member_id": member.pk, "level": "full_access"},
            ],
        },
    )
    assert (twice.data["error"]["field"], twice.data["error"]["code"]) == (
        "members.1.member_id",
        "duplicate",
    )


def test_a_duplicate_of_a_read_only_sequence_belongs_to_the_member(api, member, member_api):
    sequence_id = _live_sequence(api)
    _set_access(api, sequence_id, "read_only")
    copy = member_api.post(f"sequences/{sequence_id}/duplicate")
    assert copy.status_code == 201
    assert copy.data["access_level"] == "full_access"
    assert copy.data["created_by"] == member.pk
    assert member_api.patch(f"sequences/{copy.data['id']}", {"name": "x"}).status_code == 200


def test_a_duplicate_does_not_copy_the_grants(api, member):
    sequence_id = _live_sequence(api)
    _set_access(api, sequence_id, "no_access", members=[(member.pk, "read_only")])
    copy = api.post(f"sequences/{sequence_id}/duplicate").data
    listing = api.get(f"sequences/{copy['id']}/access").data
    assert listing["workspace_access"] == "read_write"
    assert [m["member_id"] for m in listing["members"]] == [copy["created_by"]]
