"""Importing people or companies from a CSV file, creating or updating records.

How a file is read (:mod:`sequencer.crm.csvfile`): UTF-8 with or without a BOM, `,`
`;` or tab as the header line shows, header names compared without case, spaces or
dashes (``First Name`` is ``first_name``). Blank lines are skipped.

Columns. People: ``first_name``, ``last_name``, ``email`` (the primary address,
required), further addresses in ``emails`` (``;``-separated) and/or ``email_2``,
``email_3``..., ``job_title``, ``company`` (a name) and/or ``company_domain``,
``time_zone``, and any custom attribute of people by its slug. Companies: ``name``,
``domains`` (or ``domain``; ``;``-separated), and any custom attribute of companies.
A column the import does not know is an error of the whole file, reported once on
line 1 before anything is written: a misspelt column would otherwise be dropped
silently on every row. A column with an empty name is ignored.

Matching. A person is the one who has any of the row's addresses; a company the one
that has any of the row's domains, else (for a row without domains, or a company
without domains yet) the one with that exact name, case aside. A matched record is
updated, another is created. An empty cell never erases what a record has; the row's
``email`` becomes the primary address and addresses are only ever added. A company
named in a people row is found by ``company_domain``, else by exact name, else
created.

Errors. A row that cannot be imported is reported with the line it starts on and why;
it never stops the other rows. Rows are checked in Python first, then written a batch
at a time in one savepoint (fast); should the database refuse a batch (a concurrent
edit), the batch is replayed one row per savepoint, so a bad row never takes good
rows down with it. Each batch commits on its own, so progress survives a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from sequencer.crm.attributes import existing_ids, specs
from sequencer.crm.companies import check_name
from sequencer.crm.csvfile import FileError, Record, header_key, read_csv
from sequencer.crm.domains import normalize_domain
from sequencer.crm.emails import normalize_email
from sequencer.crm.fields import RESERVED_SLUGS
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, ListAttribute, Person
from sequencer.crm.people import check_text
from sequencer.crm.timezones import normalize_time_zone
from sequencer.crm.values import AttributeSpec, parse_cell, relationship_from_ids, split_cell
from sequencer.domain.errors import InvalidInput

BATCH_SIZE = 500
Progress = Callable[[int, int | None], None]

_PEOPLE_ALIASES = {
    "email_address": "email",
    "e_mail": "email",
    "primary_email": "email",
    "email_1": "email",
    "email_addresses": "emails",
    "timezone": "time_zone",
    "tz": "time_zone",
    "company_name": "company",
    "first": "first_name",
    "firstname": "first_name",
    "last": "last_name",
    "lastname": "last_name",
}
_COMPANY_ALIASES = {"domain": "domains", "company": "name", "company_name": "name"}
_PEOPLE_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "emails",
        "job_title",
        "company",
        "company_domain",
        "time_zone",
    }
)
_COMPANY_COLUMNS = frozenset({"name", "domains"})
_EXTRA_EMAIL = re.compile(r"email_(\d+)")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str
    field: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Rows not imported (each failed row has exactly one error)."""
        return len(self.errors)


# --- Columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """Which cell of a record holds what."""

    standard: dict[str, int]
    extra_emails: list[tuple[str, int]]
    custom: dict[str, tuple[AttributeSpec, int]]

    def cell(self, cells: list[str], name: str) -> str:
        index = self.standard.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()


def _columns(kind: str, header: list[str]) -> _Columns:
    aliases = _PEOPLE_ALIASES if kind == "people" else _COMPANY_ALIASES
    known = _PEOPLE_COLUMNS if kind == "people" else _COMPANY_COLUMNS
    attribute_specs = specs(kind)
    standard: dict[str, int] = {}
    extra_emails: list[tuple[str, int]] = []
    custom: dict[str, tuple[AttributeSpec, int]] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(header):
        key = header_key(raw)
        if not key:
            continue
        key = aliases.get(key, key)
        if key in seen:
            raise FileError(1, f"The column {raw.strip()!r} appears twice.", field=key)
        seen.add(key)
        if key in known:
            standard[key] = index
        elif kind == "people" and _EXTRA_EMAIL.fullmatch(key):
            extra_emails.append((key, index))
        elif key in attribute_specs and key not in RESERVED_SLUGS[kind]:
            custom[key] = (attribute_specs[key], index)
        else:
            unknown.append(raw.strip())
    if unknown:
        raise FileError(1, _unknown_columns(kind, unknown), field=header_key(unknown[0]))
    if kind == "people" and "email" not in standard:
        raise FileError(
            1,
            "The file has no email column; every person needs a primary address in it.",
            field="email",
        )
    if kind == "companies" and not {"name", "domains"} & standard.keys():
        raise FileError(1, "The file needs a name or a domains column.", field="name")
    return _Columns(standard, extra_emails, custom)


def _unknown_columns(kind: str, names: list[str]) -> str:
    listed = ", ".join(repr(n) for n in names)
    columns = _PEOPLE_COLUMNS if kind == "people" else _COMPANY_COLUMNS
    hint = ""
    in_lists = set(
        ListAttribute.objects.filter(slug__in=[header_key(n) for n in names]).values_list(
            "slug", flat=True
        )
    )
    if in_lists:
        hint = (
            f" ({', '.join(sorted(in_lists))} belong to lists, not to {kind}; import them "
            "into list entries instead.)"
        )
    return (
        f"Unknown column{'s' if len(names) > 1 else ''} {listed}: nothing was imported. "
        f"Rename or remove {'them' if len(names) > 1 else 'it'}, or create the custom "
        f"attribute first (POST /api/v1/attributes with object {kind!r}). Known columns: "
        f"{', '.join(sorted(columns))}, and the slugs of {kind} attributes.{hint}"
    )


# --- Rows as written ----------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    fields: dict[str, str]  # standard text fields that were not empty
    emails: list[str] = field(default_factory=list)  # primary first
    domains: list[str] = field(default_factory=list)
    company_domain: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)  # relationship parts


def _parse_attributes(columns: _Columns, cells: list[str], row: _Row) -> None:
    for slug, (spec, index) in columns.custom.items():
        text = cells[index] if index < len(cells) else ""
        try:
            value = parse_cell(spec, text)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=slug, code=exc.code) from None
        if value is None:
            continue
        if spec.type == "relationship":
            assert isinstance(value, list)
            row.references[slug] = value
        else:
            row.attributes[slug] = value


def _parse_person(columns: _Columns, record: Record) -> _Row:
    cells = record.cells
    row = _Row(record.line, {})
    for name, limit in (("first_name", 150), ("last_name", 150), ("job_title", 200)):
        text = check_text(columns.cell(cells, name), name, limit)
        if text:
            row.fields[name] = text
    zone = normalize_time_zone(columns.cell(cells, "time_zone"))
    if zone:
        row.fields["time_zone"] = zone
    primary = columns.cell(cells, "email")
    if not primary:
        raise InvalidInput(
            "No email address: every person needs one in the email column.",
            field="email",
            code="required",
        )
    emails = [normalize_email(primary, field="email")]
    for part in split_cell(columns.cell(cells, "emails")):
        emails.append(normalize_email(part, field="emails"))
    for name, index in columns.extra_emails:
        text = cells[index].strip() if index < len(cells) else ""
        if text:
            emails.append(normalize_email(text, field=name))
    row.emails = list(dict.fromkeys(emails))
    company = columns.cell(cells, "company")
    if company:
        row.fields["company"] = check_name(company, field="company")
    domain = columns.cell(cells, "company_domain")
    if domain:
        row.company_domain = normalize_domain(domain, field="company_domain")
    _parse_attributes(columns, cells, row)
    return row


def _parse_company(columns: _Columns, record: Record) -> _Row:
    cells = record.cells
    row = _Row(record.line, {})
    name = columns.cell(cells, "name")
    if name:
        row.fields["name"] = check_name(name)
    row.domains = list(
        dict.fromkeys(
            normalize_domain(part, field="domains")
            for part in split_cell(columns.cell(cells, "domains"))
        )
    )
    if not name and not row.domains:
        raise InvalidInput(
            "The row has neither a name nor a domain.", field="name", code="required"
        )
    _parse_attributes(columns, cells, row)
    return row


# --- Planning a batch ---------------------------------------------------------------------


_PERSON_FIELDS = ("first_name", "last_name", "job_title", "time_zone", "company_id", "attributes")
_COMPANY_FIELDS = ("name", "attributes")


def _snapshot(record: Person | Company, names: tuple[str, ...]) -> tuple[object, ...]:
    # Shallow copies do: rows replace attribute values, they never change them in place.
    return tuple(
        dict(value) if isinstance(value := getattr(record, name), dict) else value for name in names
    )


@dataclass(eq=False)
class _CompanyDraft:
    company: Company
    domains: set[str]
    new_domains: list[str] = field(default_factory=list)
    is_new: bool = False
    before: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        self.before = _snapshot(self.company, _COMPANY_FIELDS)

    def changed(self) -> bool:
        return _snapshot(self.company, _COMPANY_FIELDS) != self.before


@dataclass(eq=False)
class _PersonDraft:
    person: Person
    emails: list[str]
    is_new: bool = False
    emails_changed: bool = False
    before: tuple[object, ...] = ()
    company: _CompanyDraft | None = None  # set by a row, written once companies are

    def __post_init__(self) -> None:
        self.before = _snapshot(self.person, _PERSON_FIELDS)

    def changed(self) -> bool:
        return _snapshot(self.person, _PERSON_FIELDS) != self.before


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


class _Plan:
    """The records a batch of rows creates or changes, kept in memory until written.

    Lookups are made once per batch; records a row of the batch creates are found by
    later rows of the same batch through the in-memory indexes.
    """

    def __init__(self, rows: list[_Row]) -> None:
        self.companies: list[_CompanyDraft] = []
        self.people: list[_PersonDraft] = []
        self.outcomes: list[tuple[int, bool]] = []  # (line, created)
        self.errors: list[RowError] = []
        self._by_domain: dict[str, _CompanyDraft] = {}
        self._by_name: dict[str, _CompanyDraft] = {}
        self._by_email: dict[str, _PersonDraft] = {}
        self._reference_cache: dict[tuple[str, str], int | None] = {}
        self._load(rows)

    # Loading what the batch's rows may match.

    def _load(self, rows: list[_Row]) -> None:
        emails = {e for row in rows for e in row.emails}
        domains = {d for row in rows for d in row.domains}
        domains |= {row.company_domain for row in rows if row.company_domain}
        names = {
            row.fields[k].lower() for row in rows for k in ("name", "company") if k in row.fields
        }
        # Rows are fetched as plain values and grouped here: prefetch_related builds a
        # queryset per record, which costs more than the whole import of the batch.
        person_ids = set(
            EmailAddress.objects.filter(email__in=emails).values_list("person_id", flat=True)
        )
        addresses: dict[int, list[str]] = {}
        for person_id, email in (
            EmailAddress.objects.filter(person_id__in=person_ids)
            .order_by("-is_primary", "position", "id")
            .values_list("person_id", "email")
        ):
            addresses.setdefault(person_id, []).append(email)
        for person in Person.objects.filter(pk__in=person_ids):
            person_draft = _PersonDraft(person, addresses.get(person.pk, []))
            for email in person_draft.emails:
                self._by_email[email] = person_draft
        company_ids = set(
            CompanyDomain.objects.filter(domain__in=domains).values_list("company_id", flat=True)
        )
        named = (
            Company.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=names)
            .values_list("pk", flat=True)
        )
        company_ids |= set(named)
        company_domains: dict[int, set[str]] = {}
        for company_id, domain in CompanyDomain.objects.filter(
            company_id__in=company_ids
        ).values_list("company_id", "domain"):
            company_domains.setdefault(company_id, set()).add(domain)
        for company in Company.objects.filter(pk__in=company_ids).order_by("-id"):
            draft = _CompanyDraft(company, company_domains.get(company.pk, set()))
            for domain in draft.domains:
                self._by_domain[domain] = draft
            # Ordered newest first so that the oldest company of a name is set last, and wins.
            self._by_name[company.name.lower()] = draft

    # Companies.

    def _new_company(self, name: str) -> _CompanyDraft:
        draft = _CompanyDraft(Company(name=name, attributes={}), set(), is_new=True)
        self.companies.append(draft)
        self._by_name.setdefault(name.lower(), draft)
        return draft

    def _add_domain(self, draft: _CompanyDraft, domain: str) -> None:
        if domain not in draft.domains:
            draft.domains.add(domain)
            draft.new_domains.append(domain)
            self._by_domain[domain] = draft
            if draft not in self.companies:
                self.companies.append(draft)

    def _company_for_person(self, row: _Row) -> _CompanyDraft | None:
        name = row.fields.get("company")
        domain = row.company_domain
        if domain is None and name is None:
            return None
        draft = self._by_domain.get(domain) if domain else None
        if draft is None and name:
            draft = self._by_name.get(name.lower())
        if draft is None:
            draft = self._new_company(name or str(domain))
        if domain:
            self._add_domain(draft, domain)
        return draft

    # References of relationship attributes.

    def _resolve(self, row: _Row, specs_by_slug: dict[str, AttributeSpec]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for slug, parts in row.references.items():
            spec = specs_by_slug[slug]
            ids: list[int] = []
            for part in parts:
                pk = self._reference(spec.target, part)
                if pk is None:
                    noun = "person" if spec.target == "people" else "company"
                    how = "email address" if spec.target == "people" else "domain"
                    raise InvalidInput(
                        f"{slug}: no {noun} is {part!r}; give the id or the {how} of an "
                        f"existing {noun}.",
                        field=slug,
                        code="missing_record",
                    )
                ids.append(pk)
            values[slug] = relationship_from_ids(spec, ids)
        return values

    def _reference(self, target: str, part: str) -> int | None:
        key = (target, part)
        if key not in self._reference_cache:
            pk: int | None = None
            if part.isascii() and part.isdigit():
                pk = int(part) if existing_ids(target, [int(part)]) else None
            elif target == "people":
                try:
                    email = normalize_email(part)
                except InvalidInput:
                    email = None
                row = EmailAddress.objects.filter(email=email).first() if email else None
                pk = row.person_id if row else None
            else:
                try:
                    domain = normalize_domain(part)
                except InvalidInput:
                    domain = None
                found = CompanyDomain.objects.filter(domain=domain).first() if domain else None
                pk = found.company_id if found else None
            self._reference_cache[key] = pk
        return self._reference_cache[key]

    # Rows.

    def add_person(self, row: _Row, specs_by_slug: dict[str, AttributeSpec]) -> None:
        owners = list({id(d): d for e in row.emails if (d := self._by_email.get(e))}.values())
        if len(owners) > 1:
            names = " and ".join(
                f"{d.person.display_name} (id {d.person.pk})" if d.person.pk else "another row"
                for d in owners
            )
            raise InvalidInput(
                f"The row's addresses belong to different people: {names}; an address "
                "belongs to one person only, so split or fix the row.",
                field="emails",
                code="duplicate_email",
            )
        references = self._resolve(row, specs_by_slug)
        # Nothing below fails: the row is only applied once it is known to be good.
        company = self._company_for_person(row)
        draft = owners[0] if owners else None
        created = draft is None
        if draft is None:
            draft = _PersonDraft(Person(attributes={}), [], is_new=True)
            self.people.append(draft)
        elif draft not in self.people:
            self.people.append(draft)
        person = draft.person
        for name in ("first_name", "last_name", "job_title", "time_zone"):
            if name in row.fields:
                setattr(person, name, row.fields[name])
        if company is not None:
            draft.company = company
        person.attributes = {**(person.attributes or {}), **row.attributes, **references}
        primary, *others = row.emails
        emails = [primary] + [e for e in draft.emails if e != primary]
        emails += [e for e in others if e not in emails]
        if emails != draft.emails:
            draft.emails = emails
            draft.emails_changed = True
        for email in emails:
            self._by_email[email] = draft
        self.outcomes.append((row.line, created))

    def add_company(self, row: _Row, specs_by_slug: dict[str, AttributeSpec]) -> None:
        owners = list({id(c): c for x in row.domains if (c := self._by_domain.get(x))}.values())
        if len(owners) > 1:
            names = " and ".join(f"{d.company.name!r}" for d in owners)
            raise InvalidInput(
                f"The row's domains belong to different companies: {names}; a domain belongs "
                "to one company only.",
                field="domains",
                code="duplicate_domain",
            )
        draft = owners[0] if owners else None
        name = row.fields.get("name")
        if draft is None and name:
            by_name = self._by_name.get(name.lower())
            # A company with other domains is another company that has the same name.
            if by_name is not None and (not row.domains or not by_name.domains):
                draft = by_name
        if draft is None and not name:
            raise InvalidInput(
                "No company has these domains and the row has no name to create one with.",
                field="name",
                code="required",
            )
        references = self._resolve(row, specs_by_slug)
        created = draft is None
        if draft is None:
            assert name is not None
            draft = self._new_company(name)
        elif draft not in self.companies:
            self.companies.append(draft)
        company = draft.company
        if name and company.name != name:
            if company.name.lower() != name.lower():
                self._by_name.setdefault(name.lower(), draft)
            company.name = name
        company.attributes = {**(company.attributes or {}), **row.attributes, **references}
        for domain in row.domains:
            self._add_domain(draft, domain)
        self.outcomes.append((row.line, created))

    # Writing.

    def write(self) -> None:
        now = timezone.now()
        new_companies = [d.company for d in self.companies if d.is_new]
        Company.objects.bulk_create(new_companies, batch_size=BATCH_SIZE)
        changed = [d.company for d in self.companies if not d.is_new and d.changed()]
        for company in changed:
            company.updated_at = now
        _update_many(Company, changed, ["name", "attributes", "updated_at"])
        with_new_domains = [d for d in self.companies if d.new_domains]
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
        for draft in self.people:
            if draft.company is not None:
                draft.person.company = draft.company.company  # saved now, so it has its id
        new_people = [d.person for d in self.people if d.is_new]
        Person.objects.bulk_create(new_people, batch_size=BATCH_SIZE)
        updated = [d.person for d in self.people if not d.is_new and d.changed()]
        for person in updated:
            person.updated_at = now
        _update_many(
            Person,
            updated,
            [
                "first_name",
                "last_name",
                "job_title",
                "time_zone",
                "company",
                "attributes",
                "updated_at",
            ],
        )
        rewritten = [d for d in self.people if d.is_new or d.emails_changed]
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


# --- The import ---------------------------------------------------------------------------


def _plan(kind: str, rows: list[_Row], specs_by_slug: dict[str, AttributeSpec]) -> _Plan:
    plan = _Plan(rows)
    add = plan.add_person if kind == "people" else plan.add_company
    for row in rows:
        try:
            add(row, specs_by_slug)
        except InvalidInput as exc:
            plan.errors.append(RowError(row.line, exc.message, exc.field))
    return plan


def _write(
    kind: str, rows: list[_Row], specs_by_slug: dict[str, AttributeSpec], report: ImportReport
) -> None:
    """Write ``rows`` in one savepoint; if the database refuses, one savepoint per row."""
    plan = _plan(kind, rows, specs_by_slug)
    try:
        with transaction.atomic():
            plan.write()
    except (IntegrityError, DatabaseError) as exc:
        if len(rows) > 1:
            for row in rows:
                _write(kind, [row], specs_by_slug, report)
            return
        report.errors.append(
            RowError(
                rows[0].line,
                "The database refused the row, most likely because another change took one "
                f"of its addresses or domains meanwhile; import the file again. ({exc})",
            )
        )
        return
    report.errors.extend(plan.errors)
    for _, created in plan.outcomes:
        if created:
            report.created += 1
        else:
            report.updated += 1


def _batches(records: list[Record], size: int) -> Iterable[list[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def import_csv(
    kind: str,
    stream: BinaryIO,
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Create or update ``kind`` ("people" or "companies") from the CSV in ``stream``."""
    if kind not in ("people", "companies"):
        raise InvalidInput("kind is 'people' or 'companies'.", field="kind")
    report = ImportReport()
    try:
        csv_file = read_csv(stream)
        columns = _columns(kind, csv_file.header)
    except FileError as exc:
        report.errors.append(RowError(exc.line, exc.message, exc.field))
        return report
    parse = _parse_person if kind == "people" else _parse_company
    specs_by_slug = {slug: spec for slug, (spec, _) in columns.custom.items()}
    total = len(csv_file.records)
    done = 0
    if progress is not None:
        progress(0, total)
    for batch in _batches(csv_file.records, batch_size):
        rows: list[_Row] = []
        for record in batch:
            try:
                rows.append(parse(columns, record))
            except InvalidInput as exc:
                report.errors.append(RowError(record.line, exc.message, exc.field))
        with transaction.atomic():
            _write(kind, rows, specs_by_slug, report)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    report.errors.sort(key=lambda e: e.line)
    return report
