"""A published three-step sequence, a person, a mailbox on the real peers, a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sequencer.clock import system_clock
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person
from sequencer.engine.worker import Worker
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.testing import FakeClock

# A Monday, 10:00 UTC.
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "thread_emails": True,
    "include_signature": False,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def person(db: None) -> Person:
    company = Company.objects.create(name="Initech")
    CompanyDomain.objects.create(company=company, domain="initech.test")
    ada = Person.objects.create(first_name="Ada", last_name="Lovelace", company=company)
    EmailAddress.objects.create(person=ada, email="ada@initech.test", is_primary=True)
    return ada


def make_person(first: str, email: str, **fields: Any) -> Person:
    someone = Person.objects.create(first_name=first, last_name="Tester", **fields)
    EmailAddress.objects.create(person=someone, email=email, is_primary=True)
    return someone


@pytest.fixture
def publish(admin):
    def make(
        steps: list[tuple[int, str, str]] | None = None, **settings: Any
    ) -> authoring.Sequence:
        steps = steps or [
            (
                0,
                'Hello {{ person.first_name | default: "there" }}',
                "<p>Hi {{ person.first_name }}, first.</p>",
            ),
            (2, "", "<p>Second note for {{ company.name | default: 'your team' }}.</p>"),
            (3, "", "<p>Last one.</p>"),
        ]
        sequence = authoring.create_sequence(
            admin,
            name="Demo",
            settings={**ALL_DAY, **settings},
            steps=[StepInput(delay_days=d, subject=s, body_html=b) for d, s, b in steps],
            clock=system_clock,
        )
        authoring.publish(admin, sequence.pk, clock=system_clock)
        sequence.refresh_from_db()
        return sequence

    return make


@pytest.fixture
def mailbox(admin, peer_mailbox):
    box = peer_mailbox(admin, imap=False)
    box.min_spacing_seconds = 0
    box.save()
    return box


@pytest.fixture
def worker(clock) -> Worker:
    return Worker(clock=clock, name="test-worker")
