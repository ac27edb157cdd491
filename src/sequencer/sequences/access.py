"""Who may do what with a sequence.

Each sequence has a *workspace default* level plus grants to members and to teams. A
member's level is decided by :func:`sequencer.domain.sequence_rules.effective_level`:
admins always have full access; otherwise the member's own grant, else the highest
grant among their teams, else the default.

A new sequence gives its creator a Full access grant and the rest of the workspace
``read_write`` by default (:data:`DEFAULT_WORKSPACE_ACCESS`). Sequences are team tools:
colleagues expect to find each other's sequences, reuse them and enroll their own
contacts into them, the way a shared drive works inside a company. An owner who wants
a private sequence lowers the default to ``no_access`` in the access settings.

What needs which level: reading anything (the sequence, its versions, its access list),
duplicating it and saving one of its steps as a template need ``read_only``; editing
(including inserting a template), publishing, discarding, archiving and enrolling need
``read_write``; changing access needs ``full_access``. A member with
``no_access`` cannot tell the sequence exists, so the API answers 404 for it, as for
an id that does not exist; a lower level than needed on a visible sequence is a 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level, effective_level
from sequencer.sequences.models import AccessLevel, Sequence, SequenceGrant
from sequencer.workspace.models import Team, User

__all__ = [
    "DEFAULT_WORKSPACE_ACCESS",
    "AccessList",
    "InsufficientAccess",
    "Level",
    "NoAccess",
    "access_list",
    "grant_creator",
    "level_for",
    "levels_for",
    "member_levels",
    "require_level",
    "set_access",
    "visible_sequences",
]

DEFAULT_WORKSPACE_ACCESS = Level.READ_WRITE

_ACTIONS = {
    Level.READ_ONLY: "see this sequence",
    Level.READ_WRITE: "edit, publish or enroll into this sequence",
    Level.FULL_ACCESS: "change who has access to this sequence",
}


class NoAccess(Exception):
    """The sequence does not exist or the member may not see it (answered as not found)."""


class InsufficientAccess(Exception):
    """The member sees the sequence but may not do this (answered as forbidden)."""

    def __init__(self, have: Level, need: Level) -> None:
        self.have = have
        self.need = need
        super().__init__(
            f"You have {have.label.lower()} access, which does not let you "
            f"{_ACTIONS.get(need, 'do this')}; ask someone with full access to this "
            f"sequence (or an admin) for {need.label.lower()} access."
        )


def level_for(user: User, sequence: Sequence) -> Level:
    """``user``'s level on ``sequence``."""
    return levels_for(user, [sequence])[sequence.pk]


def visible_sequences(user: User) -> QuerySet[Sequence]:
    """The sequences ``user`` may see (any level above no access).

    The same rule as :func:`level_for`, written as one query: a member grant decides
    when there is one; else any team grant above no access; else the default.
    """
    sequences = Sequence.objects.all()
    if user.is_admin:
        return sequences
    none = AccessLevel.NO_ACCESS
    member = SequenceGrant.objects.filter(sequence=OuterRef("pk"), user=user)
    team = SequenceGrant.objects.filter(sequence=OuterRef("pk"), team__members=user)
    return sequences.filter(
        Exists(member.exclude(level=none))
        | (~Exists(member) & Exists(team.exclude(level=none)))
        | (~Exists(member) & ~Exists(team) & ~Q(workspace_access=none))
    )


def require_level(
    user: User, sequence_id: int | str, needed: Level, *, for_update: bool = False
) -> tuple[Sequence, Level]:
    """The sequence and ``user``'s level on it, if that level is at least ``needed``.

    Raises :class:`NoAccess` when it does not exist or ``user`` cannot see it, and
    :class:`InsufficientAccess` when ``user`` sees it with too low a level.
    ``for_update`` locks the row (call inside a transaction).
    """
    try:
        pk = int(sequence_id)
    except (TypeError, ValueError):
        raise NoAccess() from None
    rows = Sequence.objects.select_for_update() if for_update else Sequence.objects
    sequence = rows.filter(pk=pk).first()
    if sequence is None:
        raise NoAccess()
    have = level_for(user, sequence)
    if have == Level.NO_ACCESS:
        raise NoAccess()
    if have < needed:
        raise InsufficientAccess(have, needed)
    return sequence, have


def grant_creator(sequence: Sequence, user: User) -> None:
    SequenceGrant.objects.update_or_create(
        sequence=sequence, user=user, defaults={"level": AccessLevel.FULL_ACCESS}
    )


@dataclass(frozen=True)
class AccessList:
    workspace_access: Level
    members: list[tuple[int, Level]]
    teams: list[tuple[int, Level]]


def access_list(sequence: Sequence) -> AccessList:
    members: list[tuple[int, Level]] = []
    teams: list[tuple[int, Level]] = []
    for grant in SequenceGrant.objects.filter(sequence=sequence).order_by("user_id", "team_id"):
        if grant.user_id is not None:
            members.append((grant.user_id, Level.parse(grant.level)))
        elif grant.team_id is not None:
            teams.append((grant.team_id, Level.parse(grant.level)))
    return AccessList(Level.parse(sequence.workspace_access), members, teams)


@transaction.atomic
def set_access(
    sequence: Sequence,
    *,
    workspace_access: str,
    members: Iterable[tuple[object, object]],
    teams: Iterable[tuple[object, object]],
) -> AccessList:
    """Replace every grant of ``sequence``: the default and one level per member/team.

    Entries are ``(id, level)``; an unknown id, a repeated id or an unknown level is
    refused naming the entry (``members.2.level``). Admins are not special-cased here:
    their grants are stored but they keep full access regardless.
    """
    default = Level.parse(workspace_access, field="workspace_access")
    member_levels = _checked_entries(list(members), "members", "member_id", User)
    team_levels = _checked_entries(list(teams), "teams", "team_id", Team)
    SequenceGrant.objects.filter(sequence=sequence).delete()
    SequenceGrant.objects.bulk_create(
        [SequenceGrant(sequence=sequence, user_id=i, level=lv.slug) for i, lv in member_levels]
        + [SequenceGrant(sequence=sequence, team_id=i, level=lv.slug) for i, lv in team_levels]
    )
    sequence.workspace_access = default.slug
    sequence.save(update_fields=["workspace_access"])
    return access_list(sequence)


def _checked_entries(
    entries: Seq[tuple[object, object]], field: str, id_name: str, model: type[User | Team]
) -> list[tuple[int, Level]]:
    ids = [i for i, _ in entries if isinstance(i, int) and not isinstance(i, bool)]
    known = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    seen: set[int] = set()
    out: list[tuple[int, Level]] = []
    what = "member" if field == "members" else "team"
    for index, (raw_id, raw_level) in enumerate(entries):
        where = f"{field}.{index}"
        if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id not in known:
            raise InvalidInput(
                f"There is no {what} with id {raw_id!r}.",
                field=f"{where}.{id_name}",
                code="not_found",
            )
        if raw_id in seen:
            raise InvalidInput(
                f"The {what} {raw_id} is listed twice; give each one level.",
                field=f"{where}.{id_name}",
                code="duplicate",
            )
        seen.add(raw_id)
        out.append((raw_id, Level.parse(raw_level, field=f"{where}.level")))
    return out


def member_levels(sequence: Sequence, members: Iterable[User]) -> dict[int, Level]:
    """``level_for`` of many members on one sequence (two queries whatever their number)."""
    people = list(members)
    ids = [m.pk for m in people]
    member: dict[int, Level] = {}
    team_levels: dict[int, Level] = {}
    for user_id, team_id, level in SequenceGrant.objects.filter(sequence=sequence).values_list(
        "user_id", "team_id", "level"
    ):
        if user_id is not None:
            member[user_id] = Level.parse(level)
        elif team_id is not None:
            team_levels[team_id] = Level.parse(level)
    teams: dict[int, list[Level]] = {}
    if team_levels:
        links = Team.members.through.objects.filter(team_id__in=team_levels, user_id__in=ids)
        for team_id, user_id in links.values_list("team_id", "user_id"):
            teams.setdefault(user_id, []).append(team_levels[team_id])
    default = Level.parse(sequence.workspace_access)
    return {
        m.pk: effective_level(
            is_admin=m.is_admin,
            member_grant=member.get(m.pk),
            team_grants=teams.get(m.pk, []),
            workspace_default=default,
        )
        for m in people
    }


def levels_for(user: User, sequences: Iterable[Sequence]) -> dict[int, Level]:
    """``level_for`` of many sequences at once (two queries instead of one each)."""
    rows = list(sequences)
    if user.is_admin:
        return {s.pk: Level.FULL_ACCESS for s in rows}
    member: dict[int, Level] = {}
    teams: dict[int, list[Level]] = {}
    grants = SequenceGrant.objects.filter(sequence__in=[s.pk for s in rows]).filter(
        Q(user=user) | Q(team__members=user)
    )
    for sequence_id, user_id, level in grants.values_list("sequence_id", "user_id", "level"):
        if user_id == user.pk:
            member[sequence_id] = Level.parse(level)
        else:
            teams.setdefault(sequence_id, []).append(Level.parse(level))
    return {
        s.pk: effective_level(
            is_admin=False,
            member_grant=member.get(s.pk),
            team_grants=teams.get(s.pk, []),
            workspace_default=Level.parse(s.workspace_access),
        )
        for s in rows
    }
