"""The Share dialog: who has which level on a sequence, changed through the access service.

Everyone who can see a sequence can read its access list (as the API's ``GET
.../access``); only full access or an admin may change it (as ``PUT .../access``).
Every change in the dialog applies at once: the dialog posts all of its rows, plus the
one action (add, remove), and the service replaces the grants with them, exactly as the
API does with a whole access object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access
from sequencer.sequences.models import Sequence
from sequencer.web.sequences.guard import access_answers
from sequencer.workspace import services
from sequencer.workspace.models import Team, User

# Highest first, as a person reads a list of permissions.
LEVEL_CHOICES = [(level.slug, level.label) for level in sorted(Level, reverse=True)]


@dataclass(frozen=True)
class Grantee:
    kind: str  # "member" or "team"
    pk: int
    name: str
    detail: str  # a member's address, a team's size
    level: Level
    is_viewer: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pk}"


def share_context(sequence: Sequence, viewer: User, level: Level) -> dict[str, Any]:
    """What the dialog shows: the default, each grant, who could still be added.

    Three queries whatever the number of grants: the grants, the members, the teams.
    """
    listing = access.access_list(sequence)
    active = User.objects.filter(is_active=True).order_by("name", "email")
    members = {u.pk: u for u in active.only("pk", "name", "email")}
    teams = {t.pk: t for t in Team.objects.annotate(size=Count("members")).order_by("name")}
    granted_members = dict(listing.members)
    granted_teams = dict(listing.teams)
    rows = [
        Grantee("member", pk, str(members[pk]), members[pk].email, lv, pk == viewer.pk)
        for pk, lv in sorted(listing.members, key=lambda g: _sort_name(members, g[0]))
        if pk in members
    ] + [
        Grantee("team", pk, teams[pk].name, _team_detail(teams[pk]), lv)
        for pk, lv in sorted(listing.teams, key=lambda g: teams[g[0]].name if g[0] in teams else "")
        if pk in teams
    ]
    workspace = services.current_workspace()
    return {
        "sequence": sequence,
        "can_share": level >= Level.FULL_ACCESS,
        "workspace_label": f"Everyone in {workspace.name}" if workspace else "Everyone",
        "workspace_access": listing.workspace_access,
        "grantees": rows,
        "member_candidates": [u for pk, u in members.items() if pk not in granted_members],
        "team_candidates": [t for pk, t in teams.items() if pk not in granted_teams],
        "level_choices": LEVEL_CHOICES,
    }


def _team_detail(team: Team) -> str:
    size = getattr(team, "size", 0)
    return f"Team · {size} member{'s' if size != 1 else ''}"


def _sort_name(members: dict[int, User], pk: int) -> str:
    user = members.get(pk)
    return str(user).lower() if user else ""


@dataclass
class _Change:
    workspace_access: str
    members: list[tuple[object, object]]
    teams: list[tuple[object, object]]
    action: str  # "add", "remove" or "" (a level changed)
    subject: tuple[str, int] | None = None  # who was added or removed


def _read_change(post: QueryDict, listing: access.AccessList) -> _Change:
    """The access the dialog asks for: its rows as posted, then its one action applied."""
    kept: dict[tuple[str, int], object] = {}
    for kind, rows in (("member", listing.members), ("team", listing.teams)):
        for pk, level in rows:
            kept[(kind, pk)] = post.get(f"{kind}-{pk}", level.slug)
    action = post.get("action", "")
    subject: tuple[str, int] | None = None
    if action == "add":
        who = post.get("add_who", "")
        kind, _, raw_pk = who.partition(":")
        if kind not in ("member", "team") or not raw_pk.isdigit():
            raise InvalidInput("Choose a member or a team to add.", field="add_who")
        subject = (kind, int(raw_pk))
        kept[subject] = post.get("add_level", Level.READ_ONLY.slug)
    elif action.startswith("remove:"):
        kind, _, raw_pk = action[len("remove:") :].partition(":")
        if raw_pk.isdigit():
            subject = (kind, int(raw_pk))
            kept.pop(subject, None)
    return _Change(
        workspace_access=post.get("workspace_access", listing.workspace_access.slug),
        members=[(pk, lv) for (kind, pk), lv in kept.items() if kind == "member"],
        teams=[(pk, lv) for (kind, pk), lv in kept.items() if kind == "team"],
        action=action.partition(":")[0],
        subject=subject,
    )


def _said(change: _Change, context: dict[str, Any]) -> str:
    """The status line after a change: who was added (with which level) or removed."""
    if change.action == "remove":
        return "Removed. They now have the access their team or the workspace gives."
    if change.action == "add" and change.subject is not None:
        kind, pk = change.subject
        for row in context["grantees"]:
            if (row.kind, row.pk) == (kind, pk):
                return f"{row.name} now has {row.level.label.lower()} access."
    return "Access saved."


@require_POST
@login_required
@access_answers
def share(request: HttpRequest, sequence_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    sequence, _ = access.require_level(viewer, sequence_id, Level.FULL_ACCESS)
    problem = ""
    change: _Change | None = None
    try:
        change = _read_change(request.POST, access.access_list(sequence))
        access.set_access(
            sequence,
            workspace_access=change.workspace_access,
            members=change.members,
            teams=change.teams,
        )
    except InvalidInput as refused:
        problem = refused.message
    level = access.level_for(viewer, sequence)
    from_htmx = request.headers.get("HX-Request") == "true"
    if level == Level.NO_ACCESS:
        # The member took their own access away: the sequence is gone for them.
        messages.success(request, f"You no longer have access to “{sequence.display_name}”.")
        url = reverse("web:sequences")
        return HttpResponseClientRedirect(url) if from_htmx else redirect(url)
    if not from_htmx:
        if problem:
            messages.error(request, problem)
        return redirect("web:sequence_editor", sequence_id=sequence.pk)
    context = share_context(sequence, viewer, level)
    status = _said(change, context) if change and not problem else f"Not saved: {problem}"
    context.update(status=status, problem=problem)
    return render(request, "web/sequences/_share.html#share_update", context)
