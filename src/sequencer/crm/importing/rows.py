"""One record of the file read into a row: its cells checked and normalised, in Python,
before any database work. A row that fails here is reported and the others go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sequencer.crm.companies import check_name
from sequencer.crm.csvfile import Record
from sequencer.crm.domains import normalize_domain
from sequencer.crm.emails import normalize_email
from sequencer.crm.importing.columns import Columns
from sequencer.crm.people import check_text
from sequencer.crm.timezones import normalize_time_zone
from sequencer.crm.values import parse_cell, split_cell
from sequencer.domain.errors import InvalidInput


@dataclass
class Row:
    line: int
    fields: dict[str, str]  # standard text fields that were not empty
    emails: list[str] = field(default_factory=list)  # primary first
    domains: list[str] = field(default_factory=list)
    company_domain: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)  # relationship parts


def _parse_attributes(columns: Columns, cells: list[str], row: Row) -> None:
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


def parse_person(columns: Columns, record: Record) -> Row:
    cells = record.cells
    row = Row(record.line, {})
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


def parse_company(columns: Columns, record: Record) -> Row:
    cells = record.cells
    row = Row(record.line, {})
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
