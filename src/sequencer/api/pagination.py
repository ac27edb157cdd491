"""Paging through collections: ``?limit=&offset=`` answered as ``{"items", "count"}``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from pydantic import Field

from sequencer.inputs import Input

MAX_LIMIT = 500
# Beyond any real collection, and inside every database's integer range.
MAX_OFFSET = 1_000_000_000


class Page(Input):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    @property
    def bounds(self) -> tuple[int, int]:
        """The slice ``[start, end)`` of this page."""
        return self.offset, self.offset + self.limit


def page_of(query: QuerySet[Any], page: Page) -> tuple[list[Any], int]:
    """The rows of one page and the size of the whole collection."""
    start, end = page.bounds
    return list(query[start:end]), query.count()
