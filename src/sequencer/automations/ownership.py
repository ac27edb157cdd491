"""A member deleted from the workspace leaves their workflows ownerless and disabled.

The foreign key is SET_NULL so that the run log is kept; disabling happens here, before
the member row goes, so no worker runs a workflow nobody answers for.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete


def _disable_owned_workflows(sender: Any, instance: Any, **kwargs: Any) -> None:
    from sequencer.automations.models import Workflow

    Workflow.objects.filter(owner_id=instance.pk).update(enabled=False, next_run_at=None)


def connect() -> None:
    from sequencer.workspace.models import User

    pre_delete.connect(
        _disable_owned_workflows, sender=User, dispatch_uid="automations_disable_owned"
    )
