"""Who may see and change a sequence: the workspace default and per-member and per-team
grants."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from sequencer.api.auth import caller
from sequencer.api.sequence_shapes import answers
from sequencer.domain.sequence_rules import Level
from sequencer.inputs import Input
from sequencer.sequences import access

router = Router(tags=["Sequences"])


class MemberGrant(Input):
    member_id: int
    level: str


class TeamGrant(Input):
    team_id: int
    level: str


class AccessIO(Input):
    workspace_access: str
    members: list[MemberGrant] = Field(default_factory=list)
    teams: list[TeamGrant] = Field(default_factory=list)


def _access(listing: access.AccessList) -> AccessIO:
    return AccessIO(
        workspace_access=listing.workspace_access.slug,
        members=[MemberGrant(member_id=i, level=lv.slug) for i, lv in listing.members],
        teams=[TeamGrant(team_id=i, level=lv.slug) for i, lv in listing.teams],
    )


@router.get("/sequences/{sequence_id}/access", response=AccessIO)
def get_access(request: HttpRequest, sequence_id: int) -> AccessIO:
    """Who has which level; anyone who can see the sequence can see this."""
    with answers():
        sequence, _ = access.require_level(caller(request), sequence_id, Level.READ_ONLY)
    return _access(access.access_list(sequence))


@router.put("/sequences/{sequence_id}/access", response=AccessIO)
def put_access(request: HttpRequest, sequence_id: int, payload: AccessIO) -> AccessIO:
    """Replace the default and every grant (needs full access)."""
    with answers():
        sequence, _ = access.require_level(caller(request), sequence_id, Level.FULL_ACCESS)
    return _access(
        access.set_access(
            sequence,
            workspace_access=payload.workspace_access,
            members=[(g.member_id, g.level) for g in payload.members],
            teams=[(g.team_id, g.level) for g in payload.teams],
        )
    )
