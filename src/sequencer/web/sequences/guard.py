"""Access answers for the sequence pages, the same as the API's.

A sequence the member may not see is a 404, exactly like one that does not exist; a
visible one with too low a level for the action is a 403 (the pages never offer such
an action, so only a hand-made request meets it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404

from sequencer.sequences import access

P = ParamSpec("P")
R = TypeVar("R")


def access_answers(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return view(*args, **kwargs)
        except access.NoAccess:
            raise Http404("No such sequence.") from None
        except access.InsufficientAccess as exc:
            raise PermissionDenied(str(exc)) from None

    return wrapped
