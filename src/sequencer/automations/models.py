"""Workflows, the CRM changes they watch, and the log of what they did.

A :class:`Workflow` keeps its definition as the canonical JSON of
:class:`sequencer.domain.workflows.Definition` (trigger, conditions, actions); the
services in :mod:`sequencer.automations.workflows` are the only writers. CRM services
append :class:`WorkflowEvent` rows (an outbox, :mod:`sequencer.automations.capture`)
and the worker's runner (:mod:`sequencer.automations.runner`) leases them, runs the
workflows they trigger and logs each run with an entry per person and action.
"""

from __future__ import annotations

from django.db import models

from sequencer.domain.events import EventKind


class TriggerKind(models.TextChoices):
    PERSON_CREATED = "person_created", "A person is created"
    ATTRIBUTE_CHANGED = "attribute_changed", "A field changes"
    ADDED_TO_LIST = "added_to_list", "A person is added to a list"
    DAILY = "daily", "Every day"


class RunOutcome(models.TextChoices):
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class EntryOutcome(models.TextChoices):
    # The same words as the enrollment's own events (the one vocabulary of events).
    ENROLLED = EventKind.ENROLLED.value, "Enrolled"
    REMOVED = EventKind.REMOVED.value, "Removed"
    SKIPPED = "skipped", "Skipped"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    # SET_NULL (and the workflow disabled, see sequencer.automations.ownership): the
    # log outlives the member; a workflow without an owner never runs.
    owner = models.ForeignKey(
        "workspace.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="workflows",
    )
    enabled = models.BooleanField(default=True)
    trigger_kind = models.CharField(max_length=20, choices=TriggerKind.choices)
    trigger = models.JSONField(default=dict)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    # Daily workflows only: when the next run is due (UTC).
    next_run_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("name", "id")
        indexes = (
            # Capture's "does any enabled workflow watch this?" on every CRM write.
            models.Index(fields=("trigger_kind", "enabled"), name="workflow_trigger_enabled"),
            models.Index(
                fields=("next_run_at",),
                condition=models.Q(next_run_at__isnull=False),
                name="workflow_next_run",
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def definition_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "conditions": self.conditions,
            "actions": self.actions,
        }


class WorkflowEvent(models.Model):
    """Something that happened in the CRM that an enabled workflow may react to."""

    kind = models.CharField(max_length=20, choices=TriggerKind.choices)
    person = models.ForeignKey(
        "crm.Person", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    company = models.ForeignKey(
        "crm.Company", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    person_list = models.ForeignKey(
        "crm.PersonList", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    changes = models.JSONField(default=dict, blank=True)  # {field: [old, new]}
    occurred_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = (models.Index(fields=("processed_at", "occurred_at"), name="workflow_event_due"),)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class WorkflowRun(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey(
        WorkflowEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    # Daily runs: the scheduled instant this run is for (one run per instant).
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=RunOutcome.choices, default=RunOutcome.DONE)
    summary = models.TextField(blank=True)
    enrolled = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # Daily runs: the last person id gone through, so that a run cut short by the
    # worker's time budget goes on from there at the next tick.
    cursor = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=("workflow", "event"), name="workflow_run_once_per_event"
            ),
            models.UniqueConstraint(
                fields=("workflow", "scheduled_for"),
                condition=models.Q(scheduled_for__isnull=False),
                name="workflow_run_once_per_schedule",
            ),
        )
        indexes = (
            models.Index(fields=("workflow", "-started_at", "-id"), name="workflow_run_log"),
        )

    def __str__(self) -> str:
        return f"run {self.pk} of {self.workflow_id}"


class WorkflowRunEntry(models.Model):
    """What one action did (or why it did not) for one person in a run."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="entries")
    person = models.ForeignKey(
        "crm.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Name and address at the time: the log still says who after the person is deleted.
    person_label = models.CharField(max_length=500, blank=True)
    # The action's position in the workflow; None when no action was tried (a condition
    # that did not hold, a refused run).
    action_index = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=EntryOutcome.choices)
    reason = models.TextField(blank=True)
    enrollment = models.ForeignKey(
        "sequences.Enrollment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.outcome} in run {self.run_id}"
