"""The metrics a Prometheus server scrapes follow what the worker does: an email enrolled
is due, the worker sends it to the SMTP peer, and the scraped text says so.

The worker's clock starts five minutes before the real time because ``/metrics`` reads
the figures at the system clock's now, as a scrape in production does: the email enrolled
is five minutes late when scraped.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from sequencer.clock import system_clock
from sequencer.operations.metrics import SEND_FAILURES
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.testing import FakeClock
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-3f9a1c"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(system_clock.now().replace(microsecond=0) - timedelta(minutes=5))


@pytest.fixture(autouse=True)
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, by name and labels."""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def emails(samples, state: str) -> float:
    return samples[("sequencer_emails", (("state", state),))]


def enroll(admin, sequence, mailbox, person, clock) -> None:
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome


def test_the_scraped_state_counts_move_from_due_to_sent_as_the_worker_sends(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    sequence = publish()
    enroll(admin, sequence, mailbox, person, clock)

    before = scrape()
    assert emails(before, "scheduled") == 1
    assert emails(before, "sent") == 0
    assert before[("sequencer_emails_due", ())] == 1
    lag = before[("sequencer_send_lag_seconds", ())]
    assert lag >= 300
    # One email waits: the lateness histogram's sum is its lateness, read a moment later.
    assert before[("sequencer_due_lateness_seconds_count", ())] == 1
    assert 300 <= before[("sequencer_due_lateness_seconds_sum", ())] <= lag + 60
    assert before[("sequencer_due_lateness_seconds_bucket", (("le", "300.0"),))] == 0
    assert before[("sequencer_due_lateness_seconds_bucket", (("le", "900.0"),))] == 1
    assert before[("sequencer_database_up", ())] == 1
    ticks = before.get(("sequencer_tick_seconds_count", ()), 0)

    report = worker.tick()

    assert report.handed_over == 1
    assert len(smtp_server.messages) == 1
    after = scrape()
    assert emails(after, "sent") == 1
    # The next step is scheduled, two days on: nothing is due any more.
    assert emails(after, "scheduled") == 1
    assert after[("sequencer_emails_due", ())] == 0
    assert after[("sequencer_send_lag_seconds", ())] == 0
    assert after[("sequencer_tick_seconds_count", ())] == ticks + 1
    assert after[("sequencer_claim_seconds_count", ())] == ticks + 1


def test_a_refused_recipient_shows_as_a_bounce_and_a_recipient_failure(
    admin, publish, mailbox, clock, worker, smtp_server
):
    ghost = make_person("Ghost", "ghost@initech.test")
    smtp_server.reply_to("ghost@initech.test", "550 5.1.1 No such user here")
    enroll(admin, publish(), mailbox, ghost, clock)
    refused = SEND_FAILURES.labels("recipient")._value.get()

    worker.tick()

    samples = scrape()
    assert emails(samples, "bounced") == 1
    assert samples[("sequencer_send_failures_total", (("failure_class", "recipient"),))] == (
        refused + 1
    )
