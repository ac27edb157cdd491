"""Companies and their domains."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from sequencer.automations import capture
from sequencer.crm.attributes import check_record_values, forget_record
from sequencer.crm.domains import normalize_domain
from sequencer.crm.models import Company, CompanyDomain
from sequencer.crm.unset import UNSET, Unset
from sequencer.domain.errors import InvalidInput

MAX_NAME_LENGTH = 300


def check_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            "A company needs a name, such as Acme Inc.", field=field, code="required"
        )
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"The name is longer than {MAX_NAME_LENGTH} characters.", field=field, code="too_long"
        )
    return name


def check_domains(domains: object, company: Company | None = None) -> list[str]:
    """Normalised domains, in order, repeats dropped; each owned by no other company."""
    if domains is None:
        return []
    if not isinstance(domains, list | tuple):
        raise InvalidInput('domains is a list, such as ["acme.com"].', field="domains")
    checked: dict[str, int] = {}
    for i, raw in enumerate(domains):
        checked.setdefault(normalize_domain(raw, field=f"domains.{i}"), i)
    taken = CompanyDomain.objects.filter(domain__in=checked).select_related("company")
    if company is not None:
        taken = taken.exclude(company=company)
    for row in taken:
        raise _taken(row, f"domains.{checked[row.domain]}")
    return list(checked)


def _taken(row: CompanyDomain, field: str) -> InvalidInput:
    return InvalidInput(
        f"{row.domain} already belongs to the company {row.company.name!r} "
        f"(id {row.company_id}); a domain belongs to one company only.",
        field=field,
        code="duplicate_domain",
    )


def domains_of(company: Company) -> list[str]:
    return [row.domain for row in company.domain_rows.all()]


def _set_domains(company: Company, domains: Sequence[str]) -> None:
    company.domain_rows.exclude(domain__in=domains).delete()
    existing = {row.domain: row for row in company.domain_rows.all()}
    for position, domain in enumerate(domains):
        row = existing.get(domain)
        if row is None:
            CompanyDomain.objects.create(company=company, domain=domain, position=position)
        elif row.position != position:
            row.position = position
            row.save(update_fields=["position"])


def create_company(name: object, domains: object = None, attributes: object = None) -> Company:
    checked_name = check_name(name)
    checked_domains = check_domains(domains)
    values = check_record_values("companies", attributes)
    try:
        with transaction.atomic():
            company = Company.objects.create(name=checked_name, attributes=values)
            _set_domains(company, checked_domains)
    except IntegrityError:
        # Another request claimed one of the domains between the check and the insert.
        check_domains(checked_domains)
        raise
    return company


def update_company(
    company: Company,
    *,
    name: object | Unset = UNSET,
    domains: object | Unset = UNSET,
    attributes: object | Unset = UNSET,
) -> Company:
    before = capture.company_snapshot(
        company, domains_of(company) if domains is not UNSET else None
    )
    if name is not UNSET:
        company.name = check_name(name)
    checked_domains = None if domains is UNSET else check_domains(domains, company)
    if attributes is not UNSET:
        company.attributes = check_record_values("companies", attributes, company.attributes)
    with transaction.atomic():
        company.save()
        if checked_domains is not None:
            _set_domains(company, checked_domains)
        capture.company_changed(company, before)
    return company


@transaction.atomic
def delete_company(company: Company) -> None:
    pk = company.pk
    company.delete()
    forget_record("companies", pk)


def search_companies(q: str | None = None, domain: str | None = None) -> QuerySet[Company]:
    companies = Company.objects.all()
    if q and q.strip():
        text = q.strip()
        companies = companies.filter(
            Q(name__icontains=text)
            | Q(pk__in=CompanyDomain.objects.filter(domain__icontains=text).values("company_id"))
        )
    if domain is not None and domain.strip():
        try:
            wanted = normalize_domain(domain, field="domain")
        except InvalidInput:
            return companies.none()
        companies = companies.filter(domain_rows__domain=wanted)
    return companies.order_by("name", "id").prefetch_related("domain_rows")
