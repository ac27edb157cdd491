"""Who is calling: an API token (Bearer) or a signed-in browser session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from sequencer.clock import system_clock
from sequencer.workspace.models import User
from sequencer.workspace.services import user_for_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token, clock=system_clock)
        if user is not None:
            request.user = user
        return user


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
