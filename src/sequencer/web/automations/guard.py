"""A workflow the member may not see is a 404, exactly like one that does not exist."""

from __future__ import annotations

from django.http import Http404

from sequencer.automations import workflows
from sequencer.automations.models import Workflow
from sequencer.workspace.models import User


def workflow_or_404(user: User, workflow_id: int) -> Workflow:
    try:
        return workflows.get_workflow(user, workflow_id)
    except workflows.WorkflowNotFound:
        raise Http404("No such workflow.") from None
