"""The signed-in member a view answers, typed for the services that take a ``User``."""

from __future__ import annotations

from django.http import HttpRequest

from sequencer.workspace.models import User


def signed_in_member(request: HttpRequest) -> User:
    """``request.user`` once ``login_required`` has let the request through."""
    assert isinstance(request.user, User)
    return request.user
