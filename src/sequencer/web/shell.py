"""The signed-in shell: the sidebar's sections, the workspace name, pages still to come.

Sections without a page yet (People, Companies, Lists) answer with a friendly
"coming soon" page inside the shell rather than a 404, so the sidebar never leads
nowhere.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from sequencer.web import notifications
from sequencer.workspace import services
from sequencer.workspace.models import User

# The sections of the sidebar that have no page yet: what each will hold.
COMING_SOON = {
    "people": ("People", "Everyone you email, with their attributes and their sequences."),
    "companies": ("Companies", "The companies your people work at."),
    "lists": ("Lists", "Saved groups of people to enroll into a sequence at once."),
}


def workspace_name(request: HttpRequest) -> dict[str, object]:
    """Template context of the shell: the workspace's name, shown at the top of the
    sidebar, and the member's unread notifications, counted on the bell."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    workspace = services.current_workspace()
    return {
        "workspace_name": workspace.name if workspace else "Sequencer",
        "unread_notifications": notifications.unread_count(user),
    }


@login_required
def coming_soon(request: HttpRequest, section: str) -> HttpResponse:
    if section not in COMING_SOON:
        raise Http404(section)
    title, holds = COMING_SOON[section]
    return render(
        request,
        "web/coming_soon.html",
        {"section": section, "title": title, "holds": holds},
    )
