"""A planned batch written to the database in a few bulk statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import Max

from sequencer.automations import capture
from sequencer.automations.models import WorkflowEvent
from sequencer.crm.importing.plan import CompanyDraft, PersonDraft, Plan
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person

BATCH_SIZE = 500

_PERSON_COLUMNS = [
    "first_name",
    "last_name",
    "job_title",
    "time_zone",
    "company",
    "attributes",
    "updated_at",
]


def _update_many(model: type[Person] | type[Company], records: list[Any], names: list[str]) -> None:
    """UPDATE the ``names`` columns of each record with one executemany.

    Django's bulk_update builds a CASE expression per field and row, which takes seconds
    for a few thousand rows; one prepared statement run many times does not.
    """
    if not records:
        return
    connection = connections[model.objects.db]
    quote = connection.ops.quote_name
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    columns = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote('id')} = %s"
    params = [
        [f.get_db_prep_save(getattr(record, f.attname), connection) for f in fields] + [record.pk]
        for record in records
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def write_plan(plan: Plan, now: datetime) -> None:
    """Create and update what ``plan`` holds at ``now``: companies and their domains
    first, so that people can point at them, then people and their addresses."""
    _write_companies(plan, now)
    _write_people(plan, now)
    _note_for_workflows(plan, now)


def _write_companies(plan: Plan, now: datetime) -> None:
    new_companies = [d.company for d in plan.companies if d.is_new]
    Company.objects.bulk_create(new_companies, batch_size=BATCH_SIZE)
    changed = [d.company for d in plan.companies if not d.is_new and d.changed()]
    for company in changed:
        company.updated_at = now
    _update_many(Company, changed, ["name", "attributes", "updated_at"])
    with_new_domains = [d for d in plan.companies if d.new_domains]
    last = dict(
        CompanyDomain.objects.filter(
            company_id__in=[d.company.pk for d in with_new_domains if not d.is_new]
        )
        .values("company_id")
        .annotate(last=Max("position"))
        .values_list("company_id", "last")
    )
    CompanyDomain.objects.bulk_create(
        (
            CompanyDomain(
                company=d.company, domain=domain, position=last.get(d.company.pk, -1) + 1 + i
            )
            for d in with_new_domains
            for i, domain in enumerate(d.new_domains)
        ),
        batch_size=BATCH_SIZE,
    )


def _write_people(plan: Plan, now: datetime) -> None:
    for draft in plan.people:
        if draft.company is not None:
            draft.person.company = draft.company.company  # saved now, so it has its id
    new_people = [d.person for d in plan.people if d.is_new]
    Person.objects.bulk_create(new_people, batch_size=BATCH_SIZE)
    updated = [d.person for d in plan.people if not d.is_new and d.changed()]
    for person in updated:
        person.updated_at = now
    _update_many(Person, updated, _PERSON_COLUMNS)
    rewritten = [d for d in plan.people if d.is_new or d.emails_changed]
    EmailAddress.objects.filter(
        person_id__in=[d.person.pk for d in rewritten if not d.is_new]
    ).delete()
    EmailAddress.objects.bulk_create(
        (
            EmailAddress(person=d.person, email=email, is_primary=i == 0, position=i)
            for d in rewritten
            for i, email in enumerate(d.emails)
        ),
        batch_size=BATCH_SIZE,
    )


def _with_attributes(snapshot: dict[str, object], attributes: object) -> dict[str, object]:
    if isinstance(attributes, dict):
        for slug, value in attributes.items():
            snapshot.setdefault(slug, value)
    return snapshot


def _person_fields(draft: PersonDraft, before: bool) -> dict[str, object]:
    """The fields workflows watch, as the person had them before the batch or has now."""
    values = draft.fields_before() if before else vars(draft.person)
    snapshot = {k: values[k] for k in ("first_name", "last_name", "job_title", "time_zone")}
    snapshot["email"] = list(draft.emails_before if before else draft.emails)
    return _with_attributes(snapshot, values["attributes"])


def _company_fields(draft: CompanyDraft, before: bool) -> dict[str, object]:
    """As :func:`_person_fields`, for a company (its domains are only ever added to)."""
    values = draft.fields_before() if before else vars(draft.company)
    old_domains = sorted(draft.domains - set(draft.new_domains))
    snapshot: dict[str, object] = {
        "name": values["name"],
        "domain": old_domains if before else old_domains + list(draft.new_domains),
    }
    return _with_attributes(snapshot, values["attributes"])


def _note_for_workflows(plan: Plan, now: datetime) -> None:
    """The batch's events for workflows (people created, fields changed), written with a
    query per kind of event for the whole batch, not one per row."""
    events: list[WorkflowEvent] = []
    for draft in plan.people:
        if draft.is_new:
            events.append(
                WorkflowEvent(kind="person_created", person=draft.person, occurred_at=now)
            )
            continue
        changes = capture.changes_between(_person_fields(draft, True), _person_fields(draft, False))
        if changes:
            events.append(
                WorkflowEvent(
                    kind="attribute_changed", person=draft.person, changes=changes, occurred_at=now
                )
            )
    for company_draft in plan.companies:
        if company_draft.is_new:
            continue
        changes = capture.changes_between(
            _company_fields(company_draft, True), _company_fields(company_draft, False)
        )
        if changes:
            events.append(
                WorkflowEvent(
                    kind="attribute_changed",
                    company=company_draft.company,
                    changes=changes,
                    occurred_at=now,
                )
            )
    capture.record_many(events)
