"""Autovacuum settings for the tables that change on every tick (PostgreSQL only).

PostgreSQL vacuums a table once ``50 + autovacuum_vacuum_scale_factor × rows`` of its
rows are dead, and analyzes it after ``50 + autovacuum_analyze_scale_factor × rows``
changes. The defaults (0.2 and 0.1) wait for a fifth of a table to be dead: on ten
million scheduled emails that is two million dead rows, which the claim query's index
scans and the lease updates wade through before anything is cleaned. These tables are
updated row by row all day (claims, leases, state changes, sync positions, delivery
attempts), so they are vacuumed after 2% dead rows and analyzed after 1% changes: the
planner keeps seeing how few rows are due (the partial indexes stay the cheap path), and
the tables stay near their live size. Small tables are unaffected in practice (the
50-row threshold dominates). SQLite has no autovacuum settings: nothing happens there.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

HOT_TABLES = (
    ("sequences", "ScheduledEmail"),
    ("sequences", "Enrollment"),
    ("mail", "InboundMessage"),
    ("mail", "SyncCursor"),
    ("webhooks", "WebhookDelivery"),
    ("calendars", "CalendarConnection"),
)
VACUUM_SCALE_FACTOR = 0.02
ANALYZE_SCALE_FACTOR = 0.01


def _tables(apps: Any) -> list[str]:
    return [apps.get_model(app, model)._meta.db_table for app, model in HOT_TABLES]


def tune(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} SET ("
            f"autovacuum_vacuum_scale_factor = {VACUUM_SCALE_FACTOR}, "
            f"autovacuum_analyze_scale_factor = {ANALYZE_SCALE_FACTOR})"
        )


def untune(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} RESET ("
            "autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("housekeeping", "0001_daily_run"),
        ("sequences", "0009_version_has_ai_slots"),
        ("mail", "0003_mailbox_address_proof"),
        ("webhooks", "0001_initial"),
        ("calendars", "0002_timestamps_set_by_services"),
    ]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
