"""What the record pages share: paging, the query string, ids picked in a selection."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

PAGE_SIZE = 50
# One selection never names more people than the enroll service takes in one go.
MAX_SELECTED = 1000


def page_of(rows: QuerySet[Any], request: HttpRequest, size: int = PAGE_SIZE) -> Page[Any]:
    """One page of ``rows`` (offset paging: a count and one slice, whatever the page)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def page_by_ids(rows: QuerySet[Any], request: HttpRequest, size: int = PAGE_SIZE) -> Page[Any]:
    """The same page as :func:`page_of`, found in two steps: the page's ids first (the
    order and the offset read from an index alone), then only those rows with everything
    ``rows`` joins and prefetches. Skipping 9,950 narrow index entries to reach the last
    page costs little; sorting 10,000 whole rows joined to their company to get there
    would cost as much as the rest of the page."""
    page = Paginator(rows.values_list("pk", flat=True), size).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    found = rows.in_bulk(ids) if ids else {}
    page.object_list = [found[pk] for pk in ids if pk in found]
    return page


def query_without_page(query: QueryDict) -> str:
    """The query string to repeat in the pager's links and the sort links."""
    kept = query.copy()
    kept.pop("page", None)
    return kept.urlencode()


def ids_from(query: QueryDict, name: str) -> list[int]:
    """The distinct positive integers given as ``name`` (others are ignored), in order."""
    ids: dict[int, None] = {}
    for raw in query.getlist(name)[:MAX_SELECTED]:
        if raw.isdigit() and int(raw) > 0:
            ids.setdefault(int(raw), None)
    return list(ids)
