"""The signed-in shell's context: the workspace name and the member's unread notifications."""

from __future__ import annotations

from django.http import HttpRequest

from sequencer.web import notifications
from sequencer.workspace import services
from sequencer.workspace.models import User


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
