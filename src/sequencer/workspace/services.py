"""What can be done to the workspace, its members, teams and API tokens.

The web pages, the API and the CLI all call these functions; none of them touches
the models directly to change them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.workspace.models import ApiToken, Role, Team, TokenScope, User, Workspace

TOKEN_PREFIX = "sqr_"


class AlreadySetUp(Exception):
    """The workspace exists already; the set-up page must not create a second admin."""


def current_workspace() -> Workspace | None:
    return Workspace.objects.order_by("id").first()


def is_set_up() -> bool:
    return Workspace.objects.exists()


def _checked_email(email: str, field: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(
            f"{email!r} is not an email address; enter one such as alice@example.com.",
            field=field,
            code="invalid_email",
        ) from None
    return email


def _checked_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password", code="weak_password") from None


@transaction.atomic
def set_up_workspace(
    workspace_name: str, admin_email: str, admin_password: str, admin_name: str = ""
) -> User:
    """Create the workspace and its first admin; refused once a workspace exists."""
    if Workspace.objects.select_for_update().exists():
        raise AlreadySetUp("This workspace is already set up; sign in instead.")
    name = workspace_name.strip()
    if not name:
        raise InvalidInput("Give the workspace a name.", field="workspace_name", code="required")
    Workspace.objects.create(name=name)
    return create_user(admin_email, admin_password, name=admin_name, role=Role.ADMIN)


def create_user(email: str, password: str, *, name: str = "", role: str = Role.MEMBER) -> User:
    email = _checked_email(email)
    if role not in Role.values:
        raise InvalidInput(
            f"Role must be one of {', '.join(Role.values)}.", field="role", code="invalid_choice"
        )
    _checked_password(password, User(email=email, name=name))
    if User.objects.filter(email=email).exists():
        raise InvalidInput(
            f"A member with the address {email} exists already.", field="email", code="duplicate"
        )
    try:
        with transaction.atomic():
            return User.objects.create_user(email, password, name=name.strip(), role=role)
    except IntegrityError:
        raise InvalidInput(
            f"A member with the address {email} exists already.", field="email", code="duplicate"
        ) from None


def set_role(user: User, role: str) -> User:
    if role not in Role.values:
        raise InvalidInput(
            f"Role must be one of {', '.join(Role.values)}.", field="role", code="invalid_choice"
        )
    if (
        user.role == Role.ADMIN
        and role != Role.ADMIN
        and not (User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists())
    ):
        raise InvalidInput(
            "The workspace needs at least one admin; make another member admin first.",
            field="role",
            code="last_admin",
        )
    user.role = role
    user.save(update_fields=["role"])
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_scope(scope: object, field: str = "scope") -> str:
    if scope not in TokenScope.values:
        raise InvalidInput(
            f"A token's scope is one of {', '.join(TokenScope.values)} "
            "(read_write is the default).",
            field=field,
            code="invalid_choice",
        )
    return str(scope)


def create_token(
    user: User, name: str = "", scope: str = TokenScope.READ_WRITE
) -> tuple[ApiToken, str]:
    """A new API token for ``user``; the raw token is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        digest=_digest(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 4],
        scope=check_scope(scope),
    )
    return token, raw


def token_for(raw: str, *, clock: Clock) -> ApiToken | None:
    """The token ``raw`` is, if it works (its member is active), noting its use."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(raw)).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=clock.now())
    return token


def user_for_token(raw: str, *, clock: Clock) -> User | None:
    """The active member a raw token belongs to, or ``None``."""
    token = token_for(raw, clock=clock)
    return token.user if token is not None else None


def revoke_token(user: User, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


def create_team(name: str, member_ids: Iterable[int] = ()) -> Team:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the team a name.", field="name", code="required")
    if Team.objects.filter(name=name).exists():
        raise InvalidInput(f"A team named {name!r} exists already.", field="name", code="duplicate")
    team = Team.objects.create(name=name)
    set_team_members(team, member_ids)
    return team


def set_team_members(team: Team, member_ids: Iterable[int]) -> Team:
    ids = list(dict.fromkeys(member_ids))
    found = set(User.objects.filter(pk__in=ids).values_list("pk", flat=True))
    for index, member_id in enumerate(ids):
        if member_id not in found:
            raise InvalidInput(
                f"There is no member with id {member_id}.",
                field=f"member_ids.{index}",
                code="not_found",
            )
    team.members.set(ids)
    return team
