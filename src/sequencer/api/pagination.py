"""Paging through collections: ``?limit=&offset=`` answered as ``{"items", "count"}``."""

from __future__ import annotations

from ninja import Schema

from sequencer.domain.errors import InvalidInput

MAX_LIMIT = 500
# Beyond any real collection, and inside every database's integer range.
MAX_OFFSET = 1_000_000_000


class Page(Schema):
    limit: int = 50
    offset: int = 0


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    """The slice ``[start, end)`` of a page, after checking ``limit`` and ``offset``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_LIMIT}.", field="limit", code="out_of_range"
        )
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(
            f"offset must be between 0 and {MAX_OFFSET}.", field="offset", code="out_of_range"
        )
    return offset, offset + limit
