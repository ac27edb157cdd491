"""What a batch of rows creates or changes, matched against the database and kept in
memory until written (:mod:`sequencer.crm.importing.write`).

A person is the one who has any of the row's addresses; a company the one that has any
of the row's domains, else (for a row without domains, or a company without domains
yet) the one with that exact name, case aside. A matched record is updated, another is
created. An empty cell never erases what a record has; the row's ``email`` becomes the
primary address and addresses are only ever added. A company named in a people row is
found by ``company_domain``, else by exact name, else created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models.functions import Lower

from sequencer.crm.importing.references import References
from sequencer.crm.importing.report import RowError
from sequencer.crm.importing.rows import Row
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person
from sequencer.crm.values import AttributeSpec
from sequencer.domain.errors import InvalidInput

_PERSON_FIELDS = ("first_name", "last_name", "job_title", "time_zone", "company_id", "attributes")
_COMPANY_FIELDS = ("name", "attributes")


def _snapshot(record: Person | Company, names: tuple[str, ...]) -> tuple[object, ...]:
    # Shallow copies do: rows replace attribute values, they never change them in place.
    return tuple(
        dict(value) if isinstance(value := getattr(record, name), dict) else value for name in names
    )


@dataclass(eq=False)
class CompanyDraft:
    company: Company
    domains: set[str]
    new_domains: list[str] = field(default_factory=list)
    is_new: bool = False
    before: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        self.before = _snapshot(self.company, _COMPANY_FIELDS)

    def fields_before(self) -> dict[str, object]:
        """The record's fields as they were before the batch (for workflow events)."""
        return dict(zip(_COMPANY_FIELDS, self.before, strict=True))

    def changed(self) -> bool:
        return _snapshot(self.company, _COMPANY_FIELDS) != self.before


@dataclass(eq=False)
class PersonDraft:
    person: Person
    emails: list[str]
    is_new: bool = False
    emails_changed: bool = False
    before: tuple[object, ...] = ()
    company: CompanyDraft | None = None  # set by a row, written once companies are
    emails_before: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.before = _snapshot(self.person, _PERSON_FIELDS)
        self.emails_before = list(self.emails)

    def fields_before(self) -> dict[str, object]:
        """The record's fields as they were before the batch (for workflow events)."""
        return dict(zip(_PERSON_FIELDS, self.before, strict=True))

    def changed(self) -> bool:
        return _snapshot(self.person, _PERSON_FIELDS) != self.before


class Plan:
    """The records a batch of rows creates or changes, kept in memory until written.

    Lookups are made once per batch; records a row of the batch creates are found by
    later rows of the same batch through the in-memory indexes.
    """

    def __init__(self, rows: list[Row]) -> None:
        self.companies: list[CompanyDraft] = []
        self.people: list[PersonDraft] = []
        self.outcomes: list[tuple[int, bool]] = []  # (line, created)
        self.errors: list[RowError] = []
        self._by_domain: dict[str, CompanyDraft] = {}
        self._by_name: dict[str, CompanyDraft] = {}
        self._by_email: dict[str, PersonDraft] = {}
        self._references = References()
        self._load_people(rows)
        self._load_companies(rows)

    # Loading what the batch's rows may match.

    def _load_people(self, rows: list[Row]) -> None:
        emails = {e for row in rows for e in row.emails}
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
            person_draft = PersonDraft(person, addresses.get(person.pk, []))
            for email in person_draft.emails:
                self._by_email[email] = person_draft

    def _load_companies(self, rows: list[Row]) -> None:
        domains = {d for row in rows for d in row.domains}
        domains |= {row.company_domain for row in rows if row.company_domain}
        names = {
            row.fields[k].lower() for row in rows for k in ("name", "company") if k in row.fields
        }
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
            draft = CompanyDraft(company, company_domains.get(company.pk, set()))
            for domain in draft.domains:
                self._by_domain[domain] = draft
            # Ordered newest first so that the oldest company of a name is set last, and wins.
            self._by_name[company.name.lower()] = draft

    # Companies.

    def _new_company(self, name: str) -> CompanyDraft:
        draft = CompanyDraft(Company(name=name, attributes={}), set(), is_new=True)
        self.companies.append(draft)
        self._by_name.setdefault(name.lower(), draft)
        return draft

    def _add_domain(self, draft: CompanyDraft, domain: str) -> None:
        if domain not in draft.domains:
            draft.domains.add(domain)
            draft.new_domains.append(domain)
            self._by_domain[domain] = draft
            if draft not in self.companies:
                self.companies.append(draft)

    def _company_for_person(self, row: Row) -> CompanyDraft | None:
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

    # Rows.

    def add_person(self, row: Row, specs_by_slug: dict[str, AttributeSpec]) -> None:
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
        references = self._references.resolve(row, specs_by_slug)
        # Nothing below fails: the row is only applied once it is known to be good.
        company = self._company_for_person(row)
        draft = owners[0] if owners else None
        created = draft is None
        if draft is None:
            draft = PersonDraft(Person(attributes={}), [], is_new=True)
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

    def add_company(self, row: Row, specs_by_slug: dict[str, AttributeSpec]) -> None:
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
        references = self._references.resolve(row, specs_by_slug)
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


def plan_batch(kind: str, rows: list[Row], specs_by_slug: dict[str, AttributeSpec]) -> Plan:
    """The plan for ``rows``; a row that cannot be applied is kept as an error instead."""
    plan = Plan(rows)
    add = plan.add_person if kind == "people" else plan.add_company
    for row in rows:
        try:
            add(row, specs_by_slug)
        except InvalidInput as exc:
            plan.errors.append(RowError(row.line, exc.message, exc.field))
    return plan
