"""Reading the figures costs the same queries for 10 emails as for 50: every figure is an
aggregate query, never a loop over rows. Checked on the scrape and on Settings → Status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.ai.models import AiGeneration
from sequencer.clock import system_clock
from sequencer.mail.models import InboundMessage, Mailbox, SyncCursor
from sequencer.operations.models import WorkerHeartbeat
from sequencer.sequences.models import ScheduledEmail
from tests.integration.web.enrolling import enroll, many_people

pytestmark = pytest.mark.django_db

TOKEN = "count-the-queries"


def grow(admin, sequence, mailbox, start: int, stop: int) -> None:
    """People ``start``..``stop`` enrolled, every other email sent; as many inbound
    messages, AI calls, synced folders and workers."""
    now = system_clock.now()
    people = many_people(stop - start, f"P{start}x")
    enroll(sequence, admin, mailbox, *people)
    fresh = ScheduledEmail.objects.filter(enrollment__person__in=people).order_by("pk")
    sent = list(fresh.values_list("pk", flat=True)[::2])
    ScheduledEmail.objects.filter(pk__in=sent).update(
        state="sent", sent_at=now - timedelta(hours=3)
    )
    InboundMessage.objects.bulk_create(
        InboundMessage(
            mailbox=mailbox,
            message_id=f"<m{n}@test>",
            raw=b"",
            received_at=now,
            kind=("reply", "bounce", "auto_reply")[n % 3],
        )
        for n in range(start, stop)
    )
    AiGeneration.objects.bulk_create(
        AiGeneration(provider="local", model="m", seconds=n / 10, outcome="ok", created_at=now)
        for n in range(start, stop)
    )
    SyncCursor.objects.bulk_create(
        SyncCursor(mailbox=mailbox, folder=f"F{n}", synced_at=now) for n in range(start, stop)
    )
    WorkerHeartbeat.objects.bulk_create(
        WorkerHeartbeat(name=f"w{n}", started_at=now, beat_at=now) for n in range(start, stop)
    )


def queries(client: Client, path: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_scrape_and_the_status_page_cost_the_same_queries_for_10_emails_as_for_50(
    admin, publish, mailbox, monkeypatch
):
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_host="imap.test")
    sequence = publish()
    scraper = Client()
    page = Client()
    page.force_login(admin)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}

    grow(admin, sequence, mailbox, 0, 10)
    assert ScheduledEmail.objects.count() == 10
    scrape_10 = queries(scraper, "/metrics", **bearer)
    page_10 = queries(page, "/settings/status/")

    grow(admin, sequence, mailbox, 10, 50)
    assert ScheduledEmail.objects.count() == 50
    scrape_50 = queries(scraper, "/metrics", **bearer)
    page_50 = queries(page, "/settings/status/")

    assert scrape_50 == scrape_10
    assert page_50 == page_10
