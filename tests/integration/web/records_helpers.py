"""Records for the record pages' tests, made through the CRM services."""

from __future__ import annotations

from sequencer.crm import people as people_service
from sequencer.crm.companies import create_company
from sequencer.crm.models import Company, Person


def person(
    first: str, last: str = "Tester", *emails: str, company: Company | None = None, **more: object
) -> Person:
    addresses = list(emails) or [f"{first.lower()}.{last.lower()}@example.test"]
    return people_service.create_person(
        email_addresses=addresses,
        first_name=first,
        last_name=last,
        company_id=company.pk if company else None,
        **more,
    )


def many_people(count: int, start: int = 0, company: Company | None = None) -> None:
    for i in range(start, start + count):
        person(f"P{i:04d}", "Many", f"p{i}@many.test", company=company)


def company(name: str = "Initech", *domains: str) -> Company:
    return create_company(name, list(domains))
