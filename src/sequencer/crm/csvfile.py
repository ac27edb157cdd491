"""Reading a CSV file as spreadsheets write it: a BOM, `,` `;` or tab, quoted newlines.

Every record comes with the file line it starts on (the header is line 1), counted
by the csv reader so that a quoted cell spanning lines does not shift later numbers.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from sequencer.domain.errors import InvalidInput

_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Record:
    line: int
    cells: list[str]


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    records: list[Record]


class FileError(InvalidInput):
    """The file as a whole cannot be read; ``line`` says where it went wrong."""

    def __init__(self, line: int, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field, code="invalid_file")
        self.line = line


def header_key(name: str) -> str:
    """``" First Name "`` -> ``first_name``: how column names are compared."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower()).strip("_")


def _text(data: bytes) -> str:
    try:
        # utf-8-sig drops the byte order mark Excel puts at the start of "CSV UTF-8".
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            line,
            "The file is not UTF-8 text (the encoding breaks on this line); save it as "
            '"CSV UTF-8" and import it again.',
        ) from None


def _delimiter(first_line: str) -> str:
    # The header decides: a `;` file from a European Excel has more `;` than `,` there.
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(stream: BinaryIO | io.IOBase) -> CsvFile:
    data = stream.read()
    text = data if isinstance(data, str) else _text(bytes(data))
    if not text.strip():
        raise FileError(1, "The file is empty; the first line must name the columns.")
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[Record] = []
    header: list[str] | None = None
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are no rows
            if header is None:
                header = cells
                continue
            records.append(Record(start, cells))
    except csv.Error as exc:
        raise FileError(reader.line_num, f"The file is not valid CSV here: {exc}.") from None
    if header is None:
        raise FileError(1, "The file is empty; the first line must name the columns.")
    return CsvFile(header=header, records=records)
