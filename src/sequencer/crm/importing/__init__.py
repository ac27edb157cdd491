"""Importing people or companies from a CSV file, creating or updating records.

How a file is read (:mod:`sequencer.crm.csvfile`): UTF-8 with or without a BOM, `,`
`;` or tab as the header line shows, header names compared without case, spaces or
dashes (``First Name`` is ``first_name``). Blank lines are skipped.

Columns (:mod:`.columns`). People: ``first_name``, ``last_name``, ``email`` (the primary
address, required), further addresses in ``emails`` (``;``-separated) and/or
``email_2``, ``email_3``..., ``job_title``, ``company`` (a name) and/or
``company_domain``, ``time_zone``, and any custom attribute of people by its slug.
Companies: ``name``, ``domains`` (or ``domain``; ``;``-separated), and any custom
attribute of companies. A column the import does not know is an error of the whole
file, reported once on line 1 before anything is written. A column with an empty name
is ignored.

Rows (:mod:`.rows`) are checked and normalised in Python first; matching a row to the
record it updates, or planning the one it creates, is :mod:`.plan`; writing a planned
batch is :mod:`.write`; the outcome is an :class:`ImportReport` (:mod:`.report`).

Errors. A row that cannot be imported is reported with the line it starts on and why;
it never stops the other rows. Rows are written a batch at a time in one savepoint
(fast); should the database refuse a batch (a concurrent edit), the batch is replayed
one row per savepoint, so a bad row never takes good rows down with it. Each batch
commits on its own, so progress survives a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import BinaryIO

from django.db import DatabaseError, IntegrityError, transaction

from sequencer.clock import Clock
from sequencer.crm.csvfile import FileError, Record, read_csv
from sequencer.crm.importing.columns import map_columns
from sequencer.crm.importing.plan import plan_batch
from sequencer.crm.importing.report import ImportReport, RowError
from sequencer.crm.importing.rows import Row, parse_company, parse_person
from sequencer.crm.importing.write import BATCH_SIZE, write_plan
from sequencer.crm.values import AttributeSpec
from sequencer.domain.errors import InvalidInput

__all__ = ["BATCH_SIZE", "ImportReport", "Progress", "RowError", "import_csv", "import_records"]

Progress = Callable[[int, int | None], None]


def _write(
    kind: str,
    rows: list[Row],
    specs_by_slug: dict[str, AttributeSpec],
    report: ImportReport,
    now: datetime,
) -> None:
    """Write ``rows`` in one savepoint; if the database refuses, one savepoint per row."""
    plan = plan_batch(kind, rows, specs_by_slug)
    try:
        with transaction.atomic():
            write_plan(plan, now)
    except (IntegrityError, DatabaseError) as exc:
        if len(rows) > 1:
            for row in rows:
                _write(kind, [row], specs_by_slug, report, now)
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
    clock: Clock,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Create or update ``kind`` ("people" or "companies") from the CSV in ``stream``;
    each batch is stamped with ``clock``'s time as it is written."""
    _check_kind(kind)
    try:
        csv_file = read_csv(stream)
    except FileError as exc:
        return ImportReport(errors=[RowError(exc.line, exc.message, exc.field)])
    return import_records(
        kind, csv_file.header, csv_file.records, progress, clock=clock, batch_size=batch_size
    )


def _check_kind(kind: str) -> None:
    if kind not in ("people", "companies"):
        raise InvalidInput("kind is 'people' or 'companies'.", field="kind")


def import_records(
    kind: str,
    header: list[str],
    records: list[Record],
    progress: Progress | None = None,
    *,
    clock: Clock,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import ``records`` of a file already read, under ``header``: a whole file, or a
    part of one imported a piece at a time (each record keeps its line in the file)."""
    _check_kind(kind)
    report = ImportReport()
    try:
        columns = map_columns(kind, header)
    except FileError as exc:
        report.errors.append(RowError(exc.line, exc.message, exc.field))
        return report
    parse = parse_person if kind == "people" else parse_company
    specs_by_slug = columns.specs_by_slug()
    total = len(records)
    done = 0
    if progress is not None:
        progress(0, total)
    for batch in _batches(records, batch_size):
        rows: list[Row] = []
        for record in batch:
            try:
                rows.append(parse(columns, record))
            except InvalidInput as exc:
                report.errors.append(RowError(record.line, exc.message, exc.field))
        with transaction.atomic():
            _write(kind, rows, specs_by_slug, report, clock.now())
        done += len(batch)
        if progress is not None:
            progress(done, total)
    report.errors.sort(key=lambda e: e.line)
    return report
