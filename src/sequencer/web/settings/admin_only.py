"""Pages of the Settings area that only workspace admins may open.

A member who is not an admin gets a 403, as the API answers their requests to the same
services ("Only workspace admins can do this").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from sequencer.workspace.models import User

View = Callable[..., HttpResponse]


def admin_only(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not isinstance(request.user, User) or not request.user.is_admin:
            raise PermissionDenied("Only workspace admins can do this; ask an admin.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def viewer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user
