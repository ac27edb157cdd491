"""Members and teams (admins only): add members, make them admins, group them in teams.

Everything goes through :mod:`sequencer.workspace.services`, as ``/api/v1/members`` and
``/api/v1/teams`` do. A member is added with a first password, as the service requires:
they sign in with their address and that password, which the admin gives them.

The page costs the same number of queries whatever the number of members or teams:
members come with their teams, and teams with their members, in one prefetch each.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sequencer.domain.errors import InvalidInput
from sequencer.web.settings.admin_only import admin_only
from sequencer.workspace import services
from sequencer.workspace.models import Role, Team, User

# Both forms are on one page: their fields' ids must differ (both have a name).
MEMBER_IDS, TEAM_IDS = "member_%s", "team_%s"


class MemberForm(forms.Form):
    email = forms.CharField(
        label="Email", max_length=254, error_messages={"required": "Enter their email address."}
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    password = forms.CharField(
        label="First password",
        strip=False,
        error_messages={"required": "Choose a first password; they sign in with it."},
    )
    is_admin = forms.BooleanField(label="Admin", required=False)


class TeamForm(forms.Form):
    name = forms.CharField(
        label="Team name", max_length=200, error_messages={"required": "Give the team a name."}
    )


def _member_ids(request: HttpRequest) -> list[int]:
    return [int(raw) for raw in request.POST.getlist("member_ids") if raw.isdigit()]


def _page(
    request: HttpRequest,
    *,
    member_form: MemberForm | None = None,
    team_form: TeamForm | None = None,
    status: int = 200,
) -> HttpResponse:
    members = list(
        User.objects.order_by("name", "email").prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("name"))
        )
    )
    teams = list(Team.objects.order_by("name").prefetch_related("members"))
    context: dict[str, Any] = {
        "section": "settings",
        "settings_section": "members",
        "members": members,
        "admins": sum(1 for m in members if m.is_admin and m.is_active),
        "teams": [(team, {m.pk for m in team.members.all()}) for team in teams],
        "member_form": member_form or MemberForm(auto_id=MEMBER_IDS),
        "team_form": team_form or TeamForm(auto_id=TEAM_IDS),
        "chosen": set(_member_ids(request)) if team_form is not None else set(),
    }
    return render(request, "web/settings/members.html", context, status=status)


@require_GET
@admin_only
def members_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@admin_only
def add_member(request: HttpRequest) -> HttpResponse:
    form = MemberForm(request.POST, auto_id=MEMBER_IDS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            added = services.create_user(
                data["email"],
                data["password"],
                name=data["name"],
                role=Role.ADMIN if data["is_admin"] else Role.MEMBER,
            )
        except InvalidInput as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(
                request,
                f"Added {added}. They sign in with {added.email} and the first password "
                "you chose; give it to them privately.",
            )
            return redirect("web:settings_members")
    return _page(request, member_form=form, status=400)


@require_POST
@admin_only
def set_role(request: HttpRequest, member_id: int) -> HttpResponse:
    member = User.objects.filter(pk=member_id).first()
    if member is None:
        raise Http404("No such member.")
    role = request.POST.get("role", "")
    try:
        services.set_role(member, role)
    except InvalidInput as refused:
        messages.error(request, f"{member} is still an admin: {refused.message}")
    else:
        said = "is now an admin" if member.is_admin else "is no longer an admin"
        messages.success(request, f"{member} {said}.")
        if member.pk == request.user.pk and not member.is_admin:
            # This page is for admins only: an admin who stepped down goes elsewhere.
            return redirect("web:settings_tokens")
    return redirect("web:settings_members")


@require_POST
@admin_only
def add_team(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST, auto_id=TEAM_IDS)
    if form.is_valid():
        try:
            team = services.create_team(form.cleaned_data["name"], _member_ids(request))
        except InvalidInput as refused:
            form.add_error("name" if refused.field == "name" else None, refused.message)
        else:
            messages.success(request, f"Created the team “{team}”.")
            return redirect("web:settings_members")
    return _page(request, team_form=form, status=400)


@require_POST
@admin_only
def set_team_members(request: HttpRequest, team_id: int) -> HttpResponse:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team.")
    try:
        services.set_team_members(team, _member_ids(request))
    except InvalidInput as refused:
        messages.error(request, f"The members of “{team}” did not change: {refused.message}")
    else:
        count = team.members.count()
        messages.success(request, f"“{team}” now has {count} member{'' if count == 1 else 's'}.")
    return redirect("web:settings_members")
