"""A database made by the previous release, with data in it, upgrades with ``migrate`` and
keeps working: the worker sends its due email with the mailbox password it stored.

The previous release is the migration state in ``previous_release.json``. The test
unapplies every Sequencer migration (an empty schema, as on a fresh database), applies
the previous release's migrations only, writes realistic data through the historical
models of that state (what the previous release's code could have written, not today's
models), then migrates to the latest state as ``sequencer migrate`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps.registry import Apps
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sequencer.clock import system_clock
from sequencer.engine.worker import Worker
from tests.peers.fixtures import ALICE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PREVIOUS = json.loads((Path(__file__).parent / "previous_release.json").read_text())
APPS = list(PREVIOUS["migrations"])
SETTINGS = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "holiday_country": None,
    "use_recipient_time_zone": False,
    "unsubscribe_phrase": "unsubscribe",
    "thread_emails": True,
    "include_signature": False,
    "signature": "default",
    "exit_on_reply": True,
    "exit_on_meeting_booked": False,
    "pause_on_out_of_office": True,
}
STEPS = [
    {
        "position": 0,
        "delay_days": 0,
        "subject": "Hello {{ person.first_name }}",
        "body_html": "<p>Hi {{ person.first_name }} at {{ company.name }}.</p>",
        "attachment_ids": [],
        "inline_image_ids": [],
        "ai_prompts": [],
        "subject_as_written": "Hello {{ person.first_name }}",
    }
]


def migrate(targets: list[tuple[str, str | None]]) -> Apps:
    """Migrate to ``targets``; the historical models of that state."""
    MigrationExecutor(connection).migrate(targets)
    # A fresh loader: the state migrate() returns has been mutated along the way, and
    # its models' relations may point at other renderings of the same model.
    loader = MigrationExecutor(connection).loader
    return loader.project_state([t for t in targets if t[1] is not None], at_end=True).apps


@pytest.fixture
def previous_release() -> Iterator[Apps]:
    """The database at the previous release's schema; at the latest again afterwards,
    whatever the test did."""
    migrate([(app, None) for app in APPS])
    try:
        yield migrate(list(PREVIOUS["migrations"].items()))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def write_previous_release_data(apps: Apps, smtp: Any) -> dict[str, int]:
    now = system_clock.now()
    model = apps.get_model
    model("workspace", "Workspace").objects.create(name="Acme")
    admin = model("workspace", "User").objects.create(
        email="admin@acme.test", name="Ada Admin", role="admin", password=make_password("pw")
    )
    company = model("crm", "Company").objects.create(name="Globex")
    model("crm", "CompanyDomain").objects.create(company=company, domain="globex.test")
    grace = model("crm", "Person").objects.create(
        first_name="Grace", last_name="Hopper", company=company, time_zone="UTC"
    )
    model("crm", "EmailAddress").objects.create(
        person=grace, email="grace@globex.test", is_primary=True
    )
    mailbox = model("mail", "Mailbox").objects.create(
        owner=admin,
        provider="smtp_imap",
        email=ALICE,
        display_name="Alice",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_username="alice",
        smtp_password="secret",  # encrypted by the field, as the previous release did
        min_spacing_seconds=0,
        address_proven_at=now,
        address_proof="admin",
    )
    sequence = model("sequences", "Sequence").objects.create(
        name="Welcome",
        status="live",
        settings=SETTINGS,
        created_by=admin,
        created_at=now,
        updated_at=now,
    )
    model("sequences", "Step").objects.create(
        sequence=sequence,
        position=0,
        delay_days=0,
        subject=STEPS[0]["subject"],
        body_html=STEPS[0]["body_html"],
    )
    version = model("sequences", "SequenceVersion").objects.create(
        sequence=sequence,
        number=1,
        settings=SETTINGS,
        steps=STEPS,
        published_at=now,
        published_by=admin,
    )
    enrollment = model("sequences", "Enrollment").objects.create(
        sequence=sequence,
        version=version,
        person=grace,
        email="grace@globex.test",
        mailbox=mailbox,
        sender=admin,
        enrolled_by=admin,
        status="active",
        time_zone="UTC",
        enrolled_at=now - timedelta(minutes=5),
    )
    email = model("sequences", "ScheduledEmail").objects.create(
        enrollment=enrollment,
        step=0,
        mailbox=mailbox,
        state="scheduled",
        due_at=now - timedelta(minutes=1),
        message_id="<upgrade-0@example.test>",
        created_at=now - timedelta(minutes=5),
    )
    return {"email": email.pk, "mailbox": mailbox.pk, "version": version.pk}


def test_a_previous_release_database_upgrades_and_the_worker_sends_its_due_email(
    previous_release: Apps, smtp_server: Any
) -> None:
    ids = write_previous_release_data(previous_release, smtp_server)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from sequencer.crm.models import Person
    from sequencer.mail.models import Mailbox
    from sequencer.sequences.models import ScheduledEmail, SequenceVersion

    assert (
        MigrationExecutor(connection).migration_plan(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
        == []
    )
    grace = Person.objects.get()
    assert (grace.first_name, grace.company.name, grace.owner) == ("Grace", "Globex", None)
    assert Mailbox.objects.get(pk=ids["mailbox"]).smtp_password == "secret"
    assert SequenceVersion.objects.get(pk=ids["version"]).has_ai_slots is False

    report = Worker(clock=system_clock).tick()

    assert report.handed_over == 1
    [received] = smtp_server.wait_for(1)
    assert received.authenticated_as == "alice"  # the stored password still signs in
    assert received.message["Subject"] == "Hello Grace"
    assert "Hi Grace at Globex." in received.message.get_body(("html",)).get_content()
    email = ScheduledEmail.objects.get(pk=ids["email"])
    assert (email.state, email.message_id) == ("sent", "<upgrade-0@example.test>")
