"""Pages that ask before they remove something: the question on GET, the removal on
POST (RFC 9110 §9.2.1: GET is safe, so a prefetching browser or a stray link never
deletes anything). Deleting a person, a company or a workflow all follow this shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from sequencer.web.viewer_zone import render_in_viewer_zone


def ask_then_remove(
    request: HttpRequest,
    *,
    remove: Callable[[], None],
    done: str,
    then: str,
    template: str,
    question: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """On POST, ``remove``, say ``done`` and go to the page named ``then``; otherwise show
    ``template`` with ``question()`` (its counts are only read when asking)."""
    if request.method == "POST":
        remove()
        messages.success(request, done)
        return redirect(then)
    return render_in_viewer_zone(request, template, question())
