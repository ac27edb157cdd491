"""CSV imports of people and companies: one bad row never loses the others.

Every member of the workspace sees and edits every record; the API's default
authentication is all the access control there is. The logic is in :mod:`sequencer.crm`;
this module only translates JSON to service calls and back.
"""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema, UploadedFile

from sequencer.clock import system_clock
from sequencer.crm.importing import ImportReport, import_csv
from sequencer.domain.errors import InvalidInput

router = Router(tags=["CRM"])


class ImportErrorOut(Schema):
    line: int
    message: str
    field: str | None


class ImportOut(Schema):
    created: int
    updated: int
    failed: int
    errors: list[ImportErrorOut]


def _import(request: HttpRequest, kind: str, file: UploadedFile | None) -> ImportOut:
    if file is not None:
        stream: Any = file
    elif request.content_type in {"text/csv", "text/plain", "application/csv"}:
        stream = io.BytesIO(request.body)
    else:
        raise InvalidInput(
            "Send the CSV file as the multipart field 'file', or as the request body with "
            "Content-Type: text/csv.",
            field="file",
            code="required",
        )
    report: ImportReport = import_csv(kind, stream, clock=system_clock)
    return ImportOut(
        created=report.created,
        updated=report.updated,
        failed=report.failed,
        errors=[
            ImportErrorOut(line=e.line, message=e.message, field=e.field) for e in report.errors
        ],
    )


@router.post("/imports/people", response=ImportOut)
def import_people(request: HttpRequest, file: File[UploadedFile | None] = None) -> ImportOut:
    """Create or update people from a CSV file (matched on any of their addresses)."""
    return _import(request, "people", file)


@router.post("/imports/companies", response=ImportOut)
def import_companies(request: HttpRequest, file: File[UploadedFile | None] = None) -> ImportOut:
    """Create or update companies from a CSV file (matched on domain, else on name)."""
    return _import(request, "companies", file)
