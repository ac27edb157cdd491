"""Cells of relationship attributes resolved to records: an id, or a person's email
address, or a company's domain. Each distinct reference is looked up once per batch."""

from __future__ import annotations

from typing import Any

from sequencer.crm.attributes import existing_ids
from sequencer.crm.domains import normalize_domain
from sequencer.crm.emails import normalize_email
from sequencer.crm.importing.rows import Row
from sequencer.crm.models import CompanyDomain, EmailAddress
from sequencer.crm.values import AttributeSpec, relationship_from_ids
from sequencer.domain.errors import InvalidInput


class References:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], int | None] = {}

    def resolve(self, row: Row, specs_by_slug: dict[str, AttributeSpec]) -> dict[str, Any]:
        """The row's relationship values; InvalidInput names the first that is missing."""
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
        if key not in self._cache:
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
            self._cache[key] = pk
        return self._cache[key]
