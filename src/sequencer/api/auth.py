"""Who is calling: an API token (Bearer) or a signed-in browser session.

A token is read and write (everything its member may do) or read only. A read-only
token is refused here, once for every operation, on any method but GET, HEAD and
OPTIONS, so an operation added later is covered without doing anything. The few POST
operations that only compute an answer (dry runs) are let through: they are listed in
``READ_ONLY_POSTS``, by method and path as the spec names them. A browser session is
not concerned: scopes are a property of tokens.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from sequencer.api.errors import ApiError
from sequencer.clock import system_clock
from sequencer.workspace.models import TokenScope, User
from sequencer.workspace.services import token_for

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# POST operations that write nothing: a dry run answers what would happen. A read-only
# token may call them. (POST /schedule-preview needs no token at all.)
READ_ONLY_POSTS = frozenset(
    {
        ("POST", "/api/v1/sequences/{sequence_id}/enrollments/check"),
    }
)

READ_ONLY_REFUSAL = (
    "This token is read only; create a read-and-write token in Settings → API tokens "
    "to change data."
)


class ReadOnlyToken(ApiError):
    def __init__(self) -> None:
        super().__init__(403, "read_only_token", READ_ONLY_REFUSAL, "Authorization")


_PARAMETER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def spec_path(request: HttpRequest) -> str:
    """The path of the operation called, as the spec writes it (``/api/v1/people/{id}``)."""
    match = request.resolver_match
    route = match.route if match is not None else request.path.lstrip("/")
    return "/" + _PARAMETER.sub(r"{\1}", route)


def read_only_may_call(method: str, path: str) -> bool:
    return method.upper() in SAFE_METHODS or (method.upper(), path) in READ_ONLY_POSTS


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = token_for(token, clock=system_clock)
        if found is None:
            return None
        if found.scope == TokenScope.READ_ONLY and not read_only_may_call(
            request.method or "GET", spec_path(request)
        ):
            raise ReadOnlyToken()
        request.user = found.user
        return found.user


class SessionAuth(APIKeyCookie):
    """The browser's session cookie, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def caller(request: HttpRequest) -> User:
    """The member behind the request (authentication has already succeeded)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user
