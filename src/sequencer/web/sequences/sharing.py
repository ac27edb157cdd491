"""The Share dialog: who has which level on a sequence, changed through the access service.

Everyone who can see a sequence can read its access list (as the API's ``GET
.../access``); only full access or an admin may change it (as ``PUT .../access``).
Every change in the dialog applies at once: the dialog posts all of its rows, plus the
one action (add, remove), and the service replaces the grants with them, exactly as the
API does with a whole access object.

Whom to add is found with a search box (name or email of a member, name of a team), as
the Settings tab finds a member to invite: the dialog lists a few matches, never every
member, so neither its size nor its queries grow with the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access
from sequencer.sequences.models import Sequence, SequenceGrant
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.guard import access_answers
from sequencer.workspace import services
from sequencer.workspace.models import Team, User

# Highest first, as a person reads a list of permissions.
LEVEL_CHOICES = [(level.slug, level.label) for level in sorted(Level, reverse=True)]
# Matches listed for a search (members and teams each); a longer list stops helping.
MAX_MATCHES = 8


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


@dataclass(frozen=True)
class Candidates:
    """Who a search found that has no grant of their own yet."""

    query: str
    members: list[User]
    teams: list[Team]


def find_candidates(sequence: Sequence, query: str) -> Candidates:
    """Active members (by name or email) and teams (by name) matching ``query`` without
    a grant on ``sequence``; the first few alphabetically when ``query`` is blank.

    Two queries, whatever the number of members, teams or grants.
    """
    query = query.strip()
    grants = SequenceGrant.objects.filter(sequence=sequence)
    members = User.objects.filter(is_active=True).exclude(
        pk__in=grants.filter(user__isnull=False).values("user_id")
    )
    teams = Team.objects.exclude(pk__in=grants.filter(team__isnull=False).values("team_id"))
    if query:
        members = members.filter(Q(name__icontains=query) | Q(email__icontains=query))
        teams = teams.filter(name__icontains=query)
    return Candidates(
        query=query,
        members=list(members.order_by("name", "email").only("pk", "name", "email")[:MAX_MATCHES]),
        teams=list(teams.annotate(size=Count("members")).order_by("name")[:MAX_MATCHES]),
    )


def share_context(
    sequence: Sequence, viewer: User, level: Level, *, query: str = ""
) -> dict[str, Any]:
    """What the dialog shows: the default, each grant, and the matches of ``query``.

    The same few queries whatever the number of grants, members and teams.
    """
    listing = access.access_list(sequence)
    members = {
        u.pk: u
        for u in User.objects.filter(is_active=True, pk__in=[pk for pk, _ in listing.members]).only(
            "pk", "name", "email"
        )
    }
    teams = {
        t.pk: t
        for t in Team.objects.filter(pk__in=[pk for pk, _ in listing.teams]).annotate(
            size=Count("members")
        )
    }
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
        "candidates": find_candidates(sequence, query) if level >= Level.FULL_ACCESS else None,
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
    viewer = signed_in_member(request)
    sequence, _ = access.require_level(viewer, sequence_id, Level.FULL_ACCESS)
    problem = add_problem = ""
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
        # Shown next to the matches too, when it is about whom to add.
        add_problem = problem if refused.field == "add_who" else ""
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
    context = share_context(sequence, viewer, level, query=request.POST.get("q", ""))
    status = _said(change, context) if change and not problem else f"Not saved: {problem}"
    context.update(status=status, problem=problem, add_problem=add_problem)
    return render(request, "web/sequences/_share.html#share_update", context)


@require_GET
@login_required
@access_answers
def share_search(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """The dialog's matches for what was typed in its search box (htmx)."""
    viewer = signed_in_member(request)
    sequence, _ = access.require_level(viewer, sequence_id, Level.FULL_ACCESS)
    return render(
        request,
        "web/sequences/_share.html#share_candidates",
        {"candidates": find_candidates(sequence, request.GET.get("q", ""))},
    )
