"""The CRM's changes, noted for workflows: an outbox the worker's runner reads.

The CRM services call in here, in their own transaction, when a person is created, a
person's or a company's fields change, or a person is added to a list. An event is
written only when some enabled workflow has that trigger (one indexed query), so a
workspace without workflows pays one cheap query per write and stores nothing.

Bulk paths (the CSV import) hand over a whole batch: one query per batch and trigger
kind, never one per row.

What counts as a change (``changes`` is ``{field: [old, new]}``, keyed as the workflow
field catalog names fields): the built-in fields ``first_name``, ``last_name``,
``job_title``, ``time_zone``, ``email`` (the list of addresses), ``owner`` (a member
id), and each custom attribute by its slug; for companies ``name``, ``domain`` (the
list of domains) and custom attributes. A write that changes none of them notes
nothing. Values rewritten by a change of the schema (an attribute deleted, a deleted
record removed from the relationships that named it) are housekeeping, not changes a
salesperson made, and are not noted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sequencer.automations.models import TriggerKind, Workflow, WorkflowEvent
from sequencer.crm.models import Company, CompanyDomain, ListEntry, Person

__all__ = [
    "added_to_list",
    "changes_between",
    "company_changed",
    "company_snapshot",
    "person_changed",
    "person_created",
    "person_snapshot",
    "record",
    "record_many",
    "watched",
]

Snapshot = dict[str, Any]
Changes = dict[str, list[Any]]


def watched(kind: str) -> bool:
    """Whether an enabled workflow has the trigger ``kind`` (one indexed query)."""
    return Workflow.objects.filter(trigger_kind=kind, enabled=True, owner__isnull=False).exists()


def record(
    kind: str,
    *,
    at: datetime,
    person: Person | None = None,
    company: Company | None = None,
    person_list_id: int | None = None,
    changes: Changes | None = None,
) -> WorkflowEvent | None:
    """Note one event if a workflow watches ``kind``; the event, or None."""
    if not watched(kind):
        return None
    return WorkflowEvent.objects.create(
        kind=kind,
        person=person,
        company=company,
        person_list_id=person_list_id,
        changes=changes or {},
        occurred_at=at,
    )


def record_many(events: Iterable[WorkflowEvent]) -> int:
    """Write the unsaved ``events`` whose kind a workflow watches: one query per kind
    present, then one bulk insert. How many were written."""
    pending = list(events)
    kinds = {event.kind for event in pending}
    wanted = {kind for kind in kinds if watched(kind)}
    kept = [event for event in pending if event.kind in wanted]
    WorkflowEvent.objects.bulk_create(kept, batch_size=500)
    return len(kept)


# --- Snapshots and their differences ---------------------------------------------------


def person_snapshot(person: Person, *, with_emails: bool = True) -> Snapshot:
    """The watched fields of ``person`` as they are now (the addresses only when asked:
    reading them costs a query without a prefetch)."""
    snapshot: Snapshot = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "job_title": person.job_title,
        "time_zone": person.time_zone,
        "owner": person.owner_id,
    }
    if with_emails:
        snapshot["email"] = [e.email for e in person.ordered_emails]
    for slug, value in (person.attributes or {}).items():
        snapshot.setdefault(slug, value)
    return snapshot


def company_snapshot(company: Company, domains: Sequence[str] | None = None) -> Snapshot:
    snapshot: Snapshot = {"name": company.name}
    if domains is not None:
        snapshot["domain"] = list(domains)
    for slug, value in (company.attributes or {}).items():
        snapshot.setdefault(slug, value)
    return snapshot


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """``{field: [old, new]}`` for every field whose value differs; a field only one
    side has is compared with None (an attribute set or cleared)."""
    changes: Changes = {}
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = [old, new]
    return changes


# --- What the CRM services call -------------------------------------------------------


def person_created(person: Person) -> WorkflowEvent | None:
    return record(TriggerKind.PERSON_CREATED, at=person.created_at, person=person)


def person_changed(person: Person, before: Snapshot) -> WorkflowEvent | None:
    """Note the change of ``person`` since ``before`` (a :func:`person_snapshot` taken
    before the write), if any watched field changed."""
    after = person_snapshot(person, with_emails="email" in before)
    changes = changes_between(before, after)
    if not changes:
        return None
    return record(
        TriggerKind.ATTRIBUTE_CHANGED, at=person.updated_at, person=person, changes=changes
    )


def company_changed(company: Company, before: Snapshot) -> WorkflowEvent | None:
    """As :func:`person_changed`, for a company: the runner fans the event out to the
    company's people."""
    domains = None
    if "domain" in before:
        # Read afresh: a prefetch made before the write would show the old domains.
        domains = list(
            CompanyDomain.objects.filter(company=company)
            .order_by("position", "id")
            .values_list("domain", flat=True)
        )
    changes = changes_between(before, company_snapshot(company, domains))
    if not changes:
        return None
    return record(
        TriggerKind.ATTRIBUTE_CHANGED, at=company.updated_at, company=company, changes=changes
    )


def added_to_list(entry: ListEntry) -> WorkflowEvent | None:
    return record(
        TriggerKind.ADDED_TO_LIST,
        at=entry.added_at,
        person=entry.person,
        person_list_id=entry.person_list_id,
    )
