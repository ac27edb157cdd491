"""Set-up for the workflow pages' tests: a seller with a mailbox and a published sequence,
a list, and workflows made through the service the builder uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sequencer.automations import workflows
from sequencer.automations.models import Workflow, WorkflowRun, WorkflowRunEntry
from sequencer.clock import system_clock
from sequencer.crm.models import Person, PersonList
from sequencer.workspace.models import User


def list_workflow(
    owner: User,
    person_list: PersonList,
    sequence_id: int,
    *,
    name: str = "Qualified leads get the intro",
    sender: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    enabled: bool = True,
) -> Workflow:
    return workflows.create_workflow(
        owner,
        {
            "name": name,
            "enabled": enabled,
            "trigger": {"kind": "added_to_list", "list_id": person_list.pk},
            "conditions": conditions or [],
            "actions": [
                {
                    "kind": "enroll",
                    "sequence_id": sequence_id,
                    "sender": sender or {"kind": "record_owner"},
                    "address": "primary",
                }
            ],
        },
        clock=system_clock,
    )


def logged_run(
    workflow: Workflow, at: datetime, people: list[Person], *, outcome: str = "enrolled"
) -> WorkflowRun:
    """A run in the workflow's log, as the runner writes one."""
    run = WorkflowRun.objects.create(
        workflow=workflow,
        started_at=at,
        finished_at=at,
        summary=f"Enrolled {len(people)}" if outcome == "enrolled" else f"Skipped {len(people)}",
        enrolled=len(people) if outcome == "enrolled" else 0,
        skipped=len(people) if outcome == "skipped" else 0,
    )
    WorkflowRunEntry.objects.bulk_create(
        [
            WorkflowRunEntry(
                run=run,
                person=p,
                person_label=p.display_name,
                action_index=0,
                outcome=outcome,
                reason="" if outcome == "enrolled" else "Already active in this sequence.",
            )
            for p in people
        ]
    )
    return run
