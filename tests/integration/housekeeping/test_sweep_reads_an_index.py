"""Housekeeping's search for cancelled emails that were never tried reads only those
rows, from their own partial index, not the whole emails table: on a database of
millions of emails, the daily run's batches stay cheap.

The table here is small, so the planner is told to avoid scanning whole tables when it
has another way (as in the web's large-table tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from sequencer.housekeeping.sweep import _unshown_emails

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans only"),
]


def test_cancelled_untried_emails_are_found_from_their_partial_index() -> None:
    cutoff = datetime(2026, 6, 1, tzinfo=UTC)
    batch = _unshown_emails(cutoff).order_by("pk").values_list("pk", flat=True)[:500]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "cancelled_untried_emails" in batch.explain()
