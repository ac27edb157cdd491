"""A published sequence sent from alice's mailbox on the real peers (SMTP out, Dovecot IMAP
in), a fake clock, and helpers to send the first email and read the inbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person
from sequencer.engine.worker import Worker, inbound_handler
from sequencer.mail.models import InboundMessage
from sequencer.mail.sync import runner
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.testing import FakeClock
from tests.integration.engine.conftest import START
from tests.integration.engine.conftest import publish as publish  # the fixture


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


@pytest.fixture
def mailbox(admin: Any, peer_mailbox: Any) -> Any:
    """Alice's mailbox: sends through the SMTP peer, reads her Dovecot INBOX."""
    box = peer_mailbox(admin, imap=True)
    box.min_spacing_seconds = 0
    box.save()
    return box


@pytest.fixture
def worker(clock: Any) -> Worker:
    return Worker(clock=clock, name="test-worker")


def enroll_one(admin: Any, sequence: Any, mailbox: Any, person: Any, clock: Any) -> Enrollment:
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def sent_email(enrolled: Enrollment, step: int = 0) -> ScheduledEmail:
    email = ScheduledEmail.objects.get(enrollment=enrolled, step=step, state="sent")
    return email


def read_inbox(clock: Any, owner: str = "test-reader") -> int:
    """One pass over every mailbox now, whatever the interval (as a tick would); the
    number of messages newly stored."""
    before = InboundMessage.objects.count()
    runner.sync_mailboxes(
        clock.now(), owner=owner, clock=clock, act=inbound_handler(clock), interval=timedelta(0)
    )
    return InboundMessage.objects.count() - before


@pytest.fixture
def database(tmp_path: Any) -> Iterator[dict[str, str]]:
    """A database of its own, of the run's kind, for scenarios that run threads in a
    process of their own (``concurrency.py``)."""
    from django.db import connection

    from tests.integration.engine.worker_process import scratch_database

    kind = "postgres" if connection.vendor == "postgresql" else "sqlite"
    with scratch_database(kind, tmp_path) as env:
        yield env
