"""On PostgreSQL the tables updated on every tick are vacuumed and analyzed sooner than
PostgreSQL's defaults would (see the migration for the numbers)."""

from __future__ import annotations

import pytest
from django.db import connection

from sequencer.calendars.models import CalendarConnection
from sequencer.mail.models import InboundMessage, SyncCursor
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

HOT = (ScheduledEmail, Enrollment, InboundMessage, SyncCursor, WebhookDelivery, CalendarConnection)


def test_the_hot_tables_are_vacuumed_after_two_percent_dead_rows_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no autovacuum settings")
    tables = [model._meta.db_table for model in HOT]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [tables])
        options = {name: set(opts or ()) for name, opts in cursor.fetchall()}
    assert set(options) == set(tables)
    for table in tables:
        assert {
            "autovacuum_vacuum_scale_factor=0.02",
            "autovacuum_analyze_scale_factor=0.01",
        } <= options[table], table
