"""Imports from the browser: a file read once, its columns mapped, then imported a piece
at a time as the page asks for the next one.

The import service itself runs in the caller, start to end (the API and the command line
wait for it). A browser cannot wait minutes on one request, and progress must survive
any web process, so a job keeps the file's rows in the database and each
:func:`advance` imports the next piece and records how far it got in the same
transaction as the records it wrote: a piece is imported once or not at all, whichever
process answers the page's next request.

The column mapping is applied by renaming the file's header before the import reads
it, so the rules of :mod:`sequencer.crm.importing.columns` decide exactly as they do for
a file imported whole; a column mapped to nothing gets an empty name, which the import
ignores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from django.db import transaction

from sequencer.clock import Clock
from sequencer.crm.csvfile import FileError, Record, header_key, read_csv
from sequencer.crm.fields import RESERVED_SLUGS
from sequencer.crm.importing import import_records
from sequencer.crm.importing.columns import map_columns, suggested_column
from sequencer.crm.models import Attribute, ImportJob, ImportStatus
from sequencer.domain.errors import InvalidInput

# Rows imported by one request: a second or so of work, whatever the file's size.
PIECE = 500
# More than one column may hold further addresses of a person; they become email_2, ...
OTHER_EMAIL = "emails"
_EXTRA_EMAIL = re.compile(r"email_\d+")

_PEOPLE_FIELDS = [
    ("email", "Email (primary address)"),
    (OTHER_EMAIL, "Other email address"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("job_title", "Job title"),
    ("company", "Company name"),
    ("company_domain", "Company domain"),
    ("time_zone", "Time zone"),
]
_COMPANY_FIELDS = [("name", "Name"), ("domains", "Domains")]


@dataclass(frozen=True)
class Target:
    key: str
    label: str


def targets(kind: str) -> list[Target]:
    """What a column can be imported as: the record's fields, then its custom attributes."""
    fields = _PEOPLE_FIELDS if kind == "people" else _COMPANY_FIELDS
    custom = [
        Target(a.slug, a.title or a.slug)
        for a in Attribute.objects.filter(object=kind).order_by("title", "slug")
        if a.slug not in RESERVED_SLUGS[kind]
    ]
    return [Target(key, label) for key, label in fields] + custom


def suggest(kind: str, header: list[str], known: set[str]) -> list[str]:
    """A target for each column from its name (``E-mail`` is the email), else nothing;
    a target already taken by an earlier column is not suggested twice."""
    taken: set[str] = set()
    mapping: list[str] = []
    for name in header:
        key = suggested_column(kind, name)
        if kind == "people" and _EXTRA_EMAIL.fullmatch(key):
            key = OTHER_EMAIL
        if key not in known or (key in taken and key != OTHER_EMAIL):
            key = ""
        taken.add(key)
        mapping.append(key)
    return mapping


def get_job(user_id: int, job_id: int) -> ImportJob:
    """The member's own job; anyone else's is missing (``ImportJob.DoesNotExist``)."""
    return ImportJob.objects.get(pk=job_id, created_by_id=user_id)


def start(user_id: int, kind: str, file_name: str, stream: BinaryIO, *, clock: Clock) -> ImportJob:
    """Read the file and keep it for mapping; InvalidInput (field ``file``) if unreadable."""
    if kind not in ("people", "companies"):
        raise InvalidInput("Choose people or companies.", field="object", code="invalid_choice")
    try:
        read = read_csv(stream)
    except FileError as exc:
        raise InvalidInput(f"Line {exc.line}: {exc.message}", field="file", code=exc.code) from None
    if not read.records:
        raise InvalidInput(
            "The file has a header line but no rows under it; add the rows to import.",
            field="file",
            code="empty",
        )
    known = {t.key for t in targets(kind)}
    return ImportJob.objects.create(
        kind=kind,
        created_by_id=user_id,
        file_name=file_name[:255],
        header=read.header,
        records=[[r.line, r.cells] for r in read.records],
        total=len(read.records),
        mapping=suggest(kind, read.header, known),
        created_at=clock.now(),
    )


def mapped_header(job: ImportJob) -> list[str]:
    """The header the import reads: each column renamed to its target (further email
    columns numbered email_2, email_3...), unmapped columns nameless."""
    renamed: list[str] = []
    extra = 1
    for key in job.mapping:
        if key == OTHER_EMAIL and job.kind == "people":
            extra += 1
            key = f"email_{extra}"
        renamed.append(key)
    return renamed


def column_of(job: ImportJob, field: str | None) -> str:
    """The file's own name for the column an error names, else the field itself."""
    if not field:
        return ""
    for original, renamed in zip(job.header, mapped_header(job), strict=False):
        if renamed and (renamed == field or field.startswith(f"{renamed}.")):
            return original.strip() or renamed
    return field


def set_mapping(job: ImportJob, mapping: list[str]) -> ImportJob:
    """Check the mapping against the import's own column rules, then start the import.

    InvalidInput's field is ``column.<index>`` for a column's own problem, ``mapping``
    for the mapping as a whole (no email column, say)."""
    if job.status != ImportStatus.MAPPING:
        return job
    known = {t.key for t in targets(job.kind)}
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for index in range(len(job.header)):
        key = mapping[index] if index < len(mapping) else ""
        if key and key not in known:
            raise InvalidInput("Choose what this column is from the list.", field=f"column.{index}")
        if key and key != OTHER_EMAIL and key in seen:
            raise InvalidInput(
                f"Another column ({job.header[seen[key]].strip()!r}) is imported as this "
                "already; choose something else or Don't import.",
                field=f"column.{index}",
                code="duplicate",
            )
        seen.setdefault(key, index)
        cleaned.append(key)
    job.mapping = cleaned
    try:
        map_columns(job.kind, [header_key(name) for name in mapped_header(job)])
    except FileError as exc:
        raise InvalidInput(exc.message, field="mapping", code=exc.code) from None
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["mapping", "status"])
    return job


def advance(user_id: int, job_id: int, *, clock: Clock, piece: int = PIECE) -> ImportJob:
    """Import the job's next piece of rows, and note how far it got, in one transaction."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id, created_by_id=user_id)
        if job.status != ImportStatus.RUNNING:
            return job
        start_at, end_at = job.position, min(job.position + piece, job.total)
        records = [Record(line, cells) for line, cells in job.records[start_at:end_at]]
        report = import_records(job.kind, mapped_header(job), records, clock=clock)
        job.position = end_at
        job.created_count += report.created
        job.updated_count += report.updated
        job.errors = job.errors + [
            {"line": e.line, "message": e.message, "field": e.field} for e in report.errors
        ]
        fields = ["position", "created_count", "updated_count", "errors"]
        if end_at >= job.total:
            # The rows are no longer needed once imported; the report stays.
            job.status, job.finished_at, job.records = ImportStatus.DONE, clock.now(), []
            fields += ["status", "finished_at", "records"]
        job.save(update_fields=fields)
    return job
