"""Members, teams, API tokens and the workspace's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictFloat, StrictInt

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.domain.complaint_rate import WINDOW, ComplaintPolicy
from sequencer.domain.errors import InvalidInput
from sequencer.inputs import Input
from sequencer.workspace import ai_settings, services
from sequencer.workspace import settings as workspace_settings
from sequencer.workspace.models import ApiToken, Team, User

router = Router(tags=["Workspace"])


class MemberOut(Schema):
    id: int
    email: str
    name: str
    role: str
    is_active: bool


class MemberIn(Input):
    email: str
    password: str
    name: str = ""
    role: str = "member"


class MemberPatch(Input):
    role: str | None = None
    name: str | None = None
    is_active: bool | None = None


class TeamOut(Schema):
    id: int
    name: str
    member_ids: list[int]


class TeamIn(Input):
    name: str
    member_ids: list[int] = Field(default_factory=list)


class TeamPatch(Input):
    name: str | None = None
    member_ids: list[int] | None = None


TokenScopeName = Literal["read_write", "read_only"]

_SCOPE_HELP = (
    "What the token may do: `read_write` (everything its member may, the default) or "
    "`read_only` (GET requests only, plus the dry runs listed in the API guide; anything "
    "else answers 403 with the code `read_only_token`)."
)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: TokenScopeName = Field(description=_SCOPE_HELP)
    created_at: datetime
    last_used_at: datetime | None


class TokenIn(Input):
    name: str = Field(default="", max_length=200)
    scope: TokenScopeName = Field(default="read_write", description=_SCOPE_HELP)


class NewTokenOut(TokenOut):
    token: str


AiProvider = Literal["local", "openai_compatible", "azure_openai"]


class SettingsOut(Schema):
    complaint_limit_percent: float = Field(
        description="A mailbox whose spam complaints exceed this percentage of the emails "
        "it sent in the last complaint_window_days is paused and its owner told."
    )
    complaint_min_sends: int = Field(
        description="The limit applies once a mailbox sent at least this many emails in the window."
    )
    complaint_window_days: int = Field(description="The window both are counted over.")
    ai_provider: AiProvider = Field(
        description="Which model writes AI text: `local` (the small model built in, run on "
        "this server with no network and no key), `openai_compatible` (any server with "
        "OpenAI's chat completions API) or `azure_openai`."
    )
    ai_base_url: str = Field(
        description="The server's API base, such as https://api.example.com/v1 (for Azure, "
        "the resource's endpoint). Kept while the local model is chosen."
    )
    ai_model: str = Field(description="The model's name on the server (Azure: the deployment).")
    ai_api_key_set: bool = Field(
        description="Whether an API key is saved. The key itself is write-only: it is stored "
        "encrypted and never returned."
    )
    ai_api_version: str = Field(description="Azure OpenAI's api-version, such as 2024-10-21.")
    ai_max_tries: int = Field(description="How many times one AI slot is asked before it fails.")
    ai_max_phrase_chars: int = Field(description="The most characters a phrase slot may hold.")
    ai_max_paragraph_chars: int = Field(
        description="The most characters a paragraph slot may hold."
    )


class SettingsPatch(Input):
    complaint_limit_percent: StrictFloat | None = None  # a whole number is accepted too
    complaint_min_sends: StrictInt | None = None
    ai_provider: AiProvider | None = None
    ai_base_url: str | None = Field(default=None, max_length=2_000)
    ai_model: str | None = Field(default=None, max_length=2_000)
    ai_api_key: str | None = Field(
        default=None,
        max_length=2_000,
        description="Write-only: a new key replaces the saved one; an empty string removes it.",
    )
    ai_api_version: str | None = Field(default=None, max_length=200)
    ai_max_tries: StrictInt | None = None
    ai_max_phrase_chars: StrictInt | None = None
    ai_max_paragraph_chars: StrictInt | None = None


def _settings(policy: ComplaintPolicy, ai: ai_settings.AiSettingsState) -> SettingsOut:
    chosen = ai.settings
    return SettingsOut(
        complaint_limit_percent=float(policy.limit_percent),
        complaint_min_sends=policy.min_sends,
        complaint_window_days=WINDOW.days,
        ai_provider=chosen.provider.value,
        ai_base_url=chosen.base_url,
        ai_model=chosen.model,
        ai_api_key_set=ai.api_key_set,
        ai_api_version=chosen.api_version,
        ai_max_tries=chosen.max_tries,
        ai_max_phrase_chars=chosen.max_phrase_chars,
        ai_max_paragraph_chars=chosen.max_paragraph_chars,
    )


def _ai_change(payload: SettingsPatch) -> ai_settings.AiSettingsChange | None:
    given = {
        name.removeprefix("ai_"): value
        for name, value in payload.model_dump(exclude_none=True).items()
        if name.startswith("ai_")
    }
    return ai_settings.AiSettingsChange(**given) if given else None


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only workspace admins can do this; ask an admin.")


def _member(user: User) -> MemberOut:
    return MemberOut(
        id=user.pk, email=user.email, name=user.name, role=user.role, is_active=user.is_active
    )


def _team(team: Team) -> TeamOut:
    return TeamOut(
        id=team.pk, name=team.name, member_ids=sorted(team.members.values_list("pk", flat=True))
    )


def _token(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.pk,
        name=token.name,
        prefix=token.prefix,
        scope=cast(TokenScopeName, token.scope),
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )


@router.get("/me", response=MemberOut)
def me(request: HttpRequest) -> MemberOut:
    return _member(caller(request))


@router.get("/workspace/settings", response=SettingsOut)
def get_settings(request: HttpRequest) -> SettingsOut:
    """The workspace's settings, which every member may read."""
    caller(request)
    return _settings(workspace_settings.complaint_policy(), ai_settings.current())


@router.patch("/workspace/settings", response=SettingsOut)
def update_settings(request: HttpRequest, payload: SettingsPatch) -> SettingsOut:
    """Change the workspace's settings (admins only); fields left out stay as they are.

    Nothing changes when one field is refused; the error names the first refused field.
    """
    actor = caller(request)
    _require_admin(actor)
    with transaction.atomic():
        policy = workspace_settings.set_complaint_policy(
            actor,
            limit_percent=payload.complaint_limit_percent,
            min_sends=payload.complaint_min_sends,
        )
        change = _ai_change(payload)
        try:
            ai = ai_settings.update(actor, change) if change else ai_settings.current()
        except InvalidInput as refused:
            # The service names its own fields; the API's carry the ``ai_`` prefix.
            field = f"ai_{refused.field}" if refused.field else None
            raise InvalidInput(refused.message, field=field, code=refused.code) from None
    return _settings(policy, ai)


@router.get("/members", response=list[MemberOut])
def list_members(request: HttpRequest) -> list[MemberOut]:
    return [_member(u) for u in User.objects.order_by("email")]


@router.post("/members", response={201: MemberOut})
def create_member(request: HttpRequest, payload: MemberIn) -> Status[MemberOut]:
    _require_admin(caller(request))
    user = services.create_user(
        payload.email, payload.password, name=payload.name, role=payload.role
    )
    return Status(201, _member(user))


@router.patch("/members/{member_id}", response=MemberOut)
def update_member(request: HttpRequest, member_id: int, payload: MemberPatch) -> MemberOut:
    _require_admin(caller(request))
    user = User.objects.filter(pk=member_id).first()
    if user is None:
        raise NotFound("member")
    if payload.role is not None:
        services.set_role(user, payload.role)
    if payload.name is not None:
        user.name = payload.name.strip()
        user.save(update_fields=["name"])
    if payload.is_active is not None:
        if not payload.is_active and user.is_admin:
            services.set_role(user, "member")  # refuses to deactivate the last admin
        user.is_active = payload.is_active
        user.save(update_fields=["is_active"])
    return _member(user)


@router.get("/teams", response=list[TeamOut])
def list_teams(request: HttpRequest) -> list[TeamOut]:
    return [_team(t) for t in Team.objects.order_by("name").prefetch_related("members")]


@router.post("/teams", response={201: TeamOut})
def create_team(request: HttpRequest, payload: TeamIn) -> Status[TeamOut]:
    _require_admin(caller(request))
    return Status(201, _team(services.create_team(payload.name, payload.member_ids)))


@router.patch("/teams/{team_id}", response=TeamOut)
def update_team(request: HttpRequest, team_id: int, payload: TeamPatch) -> TeamOut:
    _require_admin(caller(request))
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound("team")
    if payload.name is not None:
        team.name = payload.name.strip() or team.name
        team.save(update_fields=["name"])
    if payload.member_ids is not None:
        services.set_team_members(team, payload.member_ids)
    return _team(team)


@router.delete("/teams/{team_id}", response={204: None})
def delete_team(request: HttpRequest, team_id: int) -> Status[None]:
    _require_admin(caller(request))
    deleted, _ = Team.objects.filter(pk=team_id).delete()
    if not deleted:
        raise NotFound("team")
    return Status(204, None)


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest) -> list[TokenOut]:
    return [_token(t) for t in caller(request).api_tokens.order_by("-created_at")]


@router.post("/tokens", response={201: NewTokenOut})
def create_token(request: HttpRequest, payload: TokenIn) -> Status[NewTokenOut]:
    """Create a token for yourself; its secret is in this answer only, never again.

    A read-only token cannot create tokens (this changes data): a read-and-write one can
    create both kinds."""
    token, raw = services.create_token(caller(request), payload.name, payload.scope)
    return Status(201, NewTokenOut(**_token(token).model_dump(), token=raw))


@router.delete("/tokens/{token_id}", response={204: None})
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    if not services.revoke_token(caller(request), token_id):
        raise NotFound("token")
    return Status(204, None)
