"""Running workflows: the CRM's events, and the daily workflows that are due.

Called from the worker's tick (:meth:`sequencer.engine.worker.Worker.tick`) after the
inbound mail and before emails are claimed, :func:`run_due` is bounded (at most
``limit`` events and a time budget per tick) and never raises: a workflow cannot stop
the sending.

Exactly once. Events are leased (:mod:`sequencer.leasing`) so two workers never run
the same event at once; each workflow's run for an event is one transaction holding
the run row (unique per workflow and event), its enrollments and its log, so an event
taken again after a crash, or run again, never runs a workflow twice. The enrollment
service's own guard (one open enrollment per person and sequence) makes a trigger that
fires twice for a person enroll them once; the second run logs them as skipped.

Daily workflows are leased on their own row; a run is unique per workflow and
scheduled instant. It goes through everyone in batches of :data:`BATCH` people, one
transaction per batch, and remembers how far it got (``cursor``) so that a run cut
short by the time budget carries on at the next tick.

Decisions where the design is silent:

- A daily run that could not happen on time (the worker was down) runs once when the
  worker is back, and the next one is the next due time after that: missed days are not
  caught up one by one.
- A daily enroll leaves out people who were ever enrolled in that sequence (whatever
  the outcome): otherwise everyone who finished it and still meets the conditions would
  start it again the next day. A daily remove acts only on people active in the
  sequence. Those left out are counted as skipped but not logged one by one (a daily
  run over 50,000 people must not write 50,000 lines saying "nothing to do").
- A run of an event whose workflow can no longer act (owner deactivated, access
  removed, sequence archived, a field it uses deleted) is logged as ``refused`` with the
  reason, with a ``refused`` entry for each person the event concerned.
- An unexpected error in one workflow's run rolls that run back and logs it as
  ``failed``; the event is still marked processed, so one broken workflow cannot make
  the worker retry forever.
- An event that started a run is kept with it, so the run log says what started it; one
  that started none is deleted as soon as it is run (nothing needs it, and no clean-up
  pass reads the table on every tick).
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from sequencer import leasing
from sequencer.automations import actions, matching
from sequencer.automations.models import (
    EntryOutcome,
    RunOutcome,
    TriggerKind,
    Workflow,
    WorkflowEvent,
    WorkflowRun,
    WorkflowRunEntry,
)
from sequencer.automations.workflows import check_actions, definition_of, field_catalog
from sequencer.clock import Clock
from sequencer.crm.models import Person
from sequencer.domain.errors import InvalidInput
from sequencer.domain.workflows import (
    AttributeChanged,
    Daily,
    Definition,
    Enroll,
    FieldCatalog,
    Remove,
    condition_holds,
    describe_miss,
    next_daily_run,
)
from sequencer.sequences.models import OPEN_STATUSES, Enrollment

log = logging.getLogger(__name__)

__all__ = ["BATCH", "EVENTS_PER_TICK", "LEASE", "TICK_BUDGET_SECONDS", "run_due"]

EVENTS_PER_TICK = 100
TICK_BUDGET_SECONDS = 10.0
LEASE = timedelta(minutes=5)
BATCH = 1000
# Daily workflows looked at per tick; the rest wait for the next one.
DAILY_PER_TICK = 5


class _Budget:
    def __init__(self, seconds: float) -> None:
        self._ends = monotonic_time.monotonic() + seconds

    def spent(self) -> bool:
        return monotonic_time.monotonic() >= self._ends


def run_due(
    now: datetime,
    *,
    owner: str,
    clock: Clock,
    limit: int = EVENTS_PER_TICK,
    budget_seconds: float = TICK_BUDGET_SECONDS,
) -> int:
    """Run the workflows the CRM's pending events trigger, then the daily workflows due
    at ``now``; the number of events and daily runs handled. Never raises."""
    budget = _Budget(budget_seconds)
    handled = 0
    try:
        handled += _run_events(now, owner=owner, clock=clock, limit=limit, budget=budget)
    except Exception:
        log.exception("running workflows for CRM events failed")
    try:
        handled += _run_daily(now, owner=owner, clock=clock, budget=budget)
    except Exception:
        log.exception("running daily workflows failed")
    return handled


# --- Logging a run -------------------------------------------------------------------


def person_label(person: Person) -> str:
    email = person.primary_email
    name = person.full_name
    if name and email:
        return f"{name} <{email}>"[:500]
    return (name or email or f"Person {person.pk}")[:500]


@dataclass
class _Log:
    """A run's entries and counts, written at the end of the run's transaction."""

    run: WorkflowRun
    entries: list[WorkflowRunEntry] = field(default_factory=list)
    quiet_skips: bool = False

    def add(
        self,
        person: Person,
        outcome: str,
        reason: str,
        *,
        action_index: int | None = None,
        enrollment_id: int | None = None,
    ) -> None:
        counter = {
            EntryOutcome.ENROLLED: "enrolled",
            EntryOutcome.REMOVED: "removed",
            EntryOutcome.SKIPPED: "skipped",
            EntryOutcome.REFUSED: "refused",
            EntryOutcome.FAILED: "failed",
        }[EntryOutcome(outcome)]
        setattr(self.run, counter, getattr(self.run, counter) + 1)
        if self.quiet_skips and outcome == EntryOutcome.SKIPPED:
            return
        self.entries.append(
            WorkflowRunEntry(
                run=self.run,
                person=person,
                person_label=person_label(person),
                action_index=action_index,
                outcome=outcome,
                reason=reason,
                enrollment_id=enrollment_id,
            )
        )

    def skip_silently(self, count: int) -> None:
        self.run.skipped += count

    def flush(self) -> None:
        WorkflowRunEntry.objects.bulk_create(self.entries, batch_size=500)
        self.entries = []
        self.run.save()


def summary_of(run: WorkflowRun) -> str:
    """ "Enrolled 1, skipped 1": the counts that are not zero, in a fixed order."""
    parts = [
        (run.enrolled, "Enrolled"),
        (run.removed, "removed"),
        (run.skipped, "skipped"),
        (run.refused, "refused"),
        (run.failed, "failed"),
    ]
    words = [f"{label} {count}" for count, label in parts if count]
    if not words:
        return "Nobody to act on."
    text = ", ".join(words)
    return text[0].upper() + text[1:]


def _finish(log_: _Log, now: datetime, *, outcome: str = RunOutcome.DONE, why: str = "") -> None:
    run = log_.run
    run.finished_at = now
    run.outcome = outcome
    run.summary = why or summary_of(run)
    log_.flush()


# --- Acting on people -----------------------------------------------------------------


def _act(
    log_: _Log,
    workflow: Workflow,
    definition: Definition,
    people: Sequence[Person],
    clock: Clock,
    *,
    daily: bool = False,
) -> None:
    owner = workflow.owner
    assert owner is not None
    for index, action in enumerate(definition.actions):
        targets = list(people)
        if daily:
            targets = _daily_targets(action, targets)
            log_.skip_silently(len(people) - len(targets))
        if not targets:
            continue
        if isinstance(action, Enroll):
            results = actions.enroll_people(owner, action, targets, clock=clock)
        else:
            results = actions.remove_people(owner, action, targets, clock=clock)
        for person in targets:
            result = results.get(person.pk)
            if result is None:  # every person gets an answer; kept total all the same
                result = actions.Result(EntryOutcome.FAILED, "No answer for this person.")
            log_.add(
                person,
                result.outcome,
                result.reason,
                action_index=index,
                enrollment_id=result.enrollment_id,
            )


def _daily_targets(action: Enroll | Remove, people: list[Person]) -> list[Person]:
    ids = [p.pk for p in people]
    enrollments = Enrollment.objects.filter(sequence_id=action.sequence_id, person_id__in=ids)
    if isinstance(action, Enroll):
        seen = set(enrollments.values_list("person_id", flat=True))
        return [p for p in people if p.pk not in seen]
    active = set(enrollments.filter(status__in=OPEN_STATUSES).values_list("person_id", flat=True))
    return [p for p in people if p.pk in active]


def _refusal(workflow: Workflow, fields: FieldCatalog) -> tuple[Definition | None, str]:
    """The workflow's definition, or why it cannot run now."""
    owner = workflow.owner
    if owner is None:
        return None, "This workflow has no owner; an admin must give it one."
    try:
        definition = definition_of(workflow, fields)
    except InvalidInput as exc:
        where = f" ({exc.field})" if exc.field else ""
        return None, f"This workflow no longer fits the CRM{where}: {exc.message} Edit it."
    try:
        check_actions(owner, definition)
    except InvalidInput as exc:
        return None, exc.message
    return definition, ""


# --- Events ---------------------------------------------------------------------------


def _run_events(now: datetime, *, owner: str, clock: Clock, limit: int, budget: _Budget) -> int:
    pending = WorkflowEvent.objects.filter(processed_at__isnull=True)
    candidates = list(
        pending.filter(leasing.free_or_mine(owner, now))
        .order_by("occurred_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return 0
    leasing.take(pending.filter(pk__in=candidates), owner, now, LEASE)
    mine = list(
        pending.filter(pk__in=candidates, lease_owner=owner)
        .select_related("person_list")
        .order_by("occurred_at", "id")
    )
    if not mine:
        return 0
    fields = field_catalog()
    workflows = list(
        Workflow.objects.filter(enabled=True, owner__isnull=False)
        .exclude(trigger_kind=TriggerKind.DAILY)
        .select_related("owner")
        .order_by("id")
    )
    handled = 0
    for event in mine:
        if handled and budget.spent():  # at least one event a tick, whatever the budget
            leasing.release(WorkflowEvent.objects.filter(pk=event.pk), owner)
            continue
        started = False
        for workflow in workflows:
            if _triggered_by(workflow, event):
                _run_for_event(workflow, event, fields, clock)
                started = True
        mine_now = WorkflowEvent.objects.filter(pk=event.pk, lease_owner=owner)
        if started:
            # Kept with its runs, so the run log says what started them.
            mine_now.update(processed_at=clock.now(), **leasing.released())
        else:
            mine_now.delete()  # nothing it started needs it: no clean-up pass later
        handled += 1
    return handled


def _triggered_by(workflow: Workflow, event: WorkflowEvent) -> bool:
    trigger = workflow.trigger or {}
    if workflow.trigger_kind != event.kind:
        return False
    if event.kind == TriggerKind.ADDED_TO_LIST:
        return trigger.get("list_id") == event.person_list_id
    if event.kind == TriggerKind.ATTRIBUTE_CHANGED:
        if trigger.get("object") == "companies":
            return event.company_id is not None and trigger.get("attribute") in event.changes
        return event.person_id is not None and trigger.get("attribute") in event.changes
    return event.kind == TriggerKind.PERSON_CREATED and event.person_id is not None


def _people_of(event: WorkflowEvent) -> list[Person]:
    if event.person_id is not None:
        people = Person.objects.filter(pk=event.person_id)
    elif event.company_id is not None:
        people = Person.objects.filter(company_id=event.company_id)
    else:
        return []
    return list(matching.people_with_fields(people.order_by("id")))


def _run_for_event(
    workflow: Workflow, event: WorkflowEvent, fields: FieldCatalog, clock: Clock
) -> None:
    try:
        with transaction.atomic():
            if WorkflowRun.objects.filter(workflow=workflow, event=event).exists():
                return
            run = WorkflowRun.objects.create(workflow=workflow, event=event, started_at=clock.now())
            _carry_out(_Log(run), workflow, event, fields, clock)
    except IntegrityError:
        # Another worker ran this workflow for this event meanwhile (the unique run).
        if WorkflowRun.objects.filter(workflow=workflow, event=event).exists():
            return
        log.exception("workflow %s failed on event %s", workflow.pk, event.pk)
        _log_failure(workflow, event, clock)
    except Exception:
        log.exception("workflow %s failed on event %s", workflow.pk, event.pk)
        _log_failure(workflow, event, clock)


def _log_failure(workflow: Workflow, event: WorkflowEvent, clock: Clock) -> None:
    try:
        with transaction.atomic():
            now = clock.now()
            WorkflowRun.objects.get_or_create(
                workflow=workflow,
                event=event,
                defaults={
                    "started_at": now,
                    "finished_at": now,
                    "outcome": RunOutcome.FAILED,
                    "summary": "An unexpected error stopped this run; nothing it did was "
                    "kept. The error is in the worker's log.",
                },
            )
    except Exception:
        log.exception("could not log the failure of workflow %s", workflow.pk)


def _carry_out(
    log_: _Log, workflow: Workflow, event: WorkflowEvent, fields: FieldCatalog, clock: Clock
) -> None:
    people = _people_of(event)
    definition, why_not = _refusal(workflow, fields)
    if definition is None:
        for person in people:
            log_.add(person, EntryOutcome.REFUSED, why_not)
        _finish(log_, clock.now(), outcome=RunOutcome.REFUSED, why=why_not)
        return
    trigger = definition.trigger
    if isinstance(trigger, AttributeChanged) and trigger.condition is not None:
        old_new = event.changes.get(trigger.attribute) or [None, None]
        new_value = old_new[1] if len(old_new) > 1 else None
        if not condition_holds(trigger.condition, new_value):
            title = matching.title_of(trigger.condition, fields)
            labels = matching.member_labels([trigger.condition])
            label = matching.label_of(trigger.condition, labels)
            shown = (
                labels.get(new_value, f"#{new_value}")
                if (trigger.condition.type == "owner" and isinstance(new_value, int))
                else new_value
            )
            reason = describe_miss(trigger.condition, title, shown, label)
            for person in people:
                log_.add(person, EntryOutcome.SKIPPED, reason)
            _finish(log_, clock.now())
            return
    labels = matching.member_labels(definition.conditions)
    eligible: list[Person] = []
    for person in people:
        unmet = matching.unmet(definition.conditions, person, fields, labels)
        if unmet is None:
            eligible.append(person)
        else:
            log_.add(person, EntryOutcome.SKIPPED, unmet)
    _act(log_, workflow, definition, eligible, clock)
    _finish(log_, clock.now())


# --- Daily workflows ---------------------------------------------------------------------


def _run_daily(now: datetime, *, owner: str, clock: Clock, budget: _Budget) -> int:
    due = list(
        Workflow.objects.filter(
            leasing.free_or_mine(owner, now),
            enabled=True,
            trigger_kind=TriggerKind.DAILY,
            owner__isnull=False,
            next_run_at__lte=now,
        )
        .order_by("next_run_at", "id")
        .values_list("pk", flat=True)[:DAILY_PER_TICK]
    )
    handled = 0
    for index, pk in enumerate(due):
        if index and budget.spent():  # one batch of one workflow a tick, whatever the budget
            break
        rows = Workflow.objects.filter(pk=pk, enabled=True, next_run_at__lte=now)
        if leasing.take(rows, owner, now, LEASE) != 1:
            continue
        try:
            handled += _run_daily_workflow(pk, now=now, owner=owner, clock=clock, budget=budget)
        except Exception:
            log.exception("daily workflow %s failed", pk)
        finally:
            leasing.release(Workflow.objects.filter(pk=pk), owner)
    return handled


def _advance(workflow: Workflow, trigger: Daily | None, now: datetime) -> None:
    """The next run after ``now`` (see the module's decision on missed days)."""
    following = None if trigger is None else next_daily_run(now, trigger.at, trigger.time_zone)
    Workflow.objects.filter(pk=workflow.pk).update(next_run_at=following)


def _run_daily_workflow(
    pk: int, *, now: datetime, owner: str, clock: Clock, budget: _Budget
) -> int:
    workflow = Workflow.objects.select_related("owner").get(pk=pk)
    scheduled_for = workflow.next_run_at
    assert scheduled_for is not None
    fields = field_catalog()
    definition, why_not = _refusal(workflow, fields)
    trigger = definition.trigger if definition is not None else None
    daily = trigger if isinstance(trigger, Daily) else None
    try:
        with transaction.atomic():
            run, _ = WorkflowRun.objects.get_or_create(
                workflow=workflow,
                scheduled_for=scheduled_for,
                defaults={"started_at": clock.now()},
            )
    except IntegrityError:
        return 0
    if run.finished_at is not None:
        _advance(workflow, daily, now)
        return 0
    if definition is None or daily is None:
        with transaction.atomic():
            _finish(
                _Log(run),
                clock.now(),
                outcome=RunOutcome.REFUSED,
                why=why_not or "This workflow is not a daily one any more.",
            )
        _advance(workflow, daily, now)
        return 1
    labels = matching.member_labels(definition.conditions)
    while True:
        people = list(
            matching.people_with_fields(
                Person.objects.filter(pk__gt=run.cursor or 0).order_by("pk")
            )[:BATCH]
        )
        if not people:
            break
        with transaction.atomic():
            log_ = _Log(run, quiet_skips=True)
            eligible = [
                p
                for p in people
                if matching.unmet(definition.conditions, p, fields, labels) is None
            ]
            _act(log_, workflow, definition, eligible, clock, daily=True)
            run.cursor = people[-1].pk
            log_.flush()
        leasing.renew(Workflow.objects.filter(pk=pk), owner, clock.now(), LEASE)
        if len(people) < BATCH:
            break  # that was the last of them
        if budget.spent():
            return 0  # goes on at the next tick, from the cursor
    with transaction.atomic():
        _finish(_Log(run), clock.now())
    _advance(workflow, daily, now)
    return 1


def pending_events(kinds: Iterable[str] | None = None) -> int:
    """How many events wait to be run (for the command line and tests)."""
    rows = WorkflowEvent.objects.filter(processed_at__isnull=True)
    if kinds is not None:
        rows = rows.filter(Q(kind__in=list(kinds)))
    return rows.count()
