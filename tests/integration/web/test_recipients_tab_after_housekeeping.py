"""After housekeeping the Recipients tab shows a recipient's timeline as before: the
reply's text, the email as sent, the bounce reason. Only the original message's bytes
are gone, and asking for them says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sequencer.domain.events import EventKind
from sequencer.domain.retention import Retention
from sequencer.housekeeping.sweep import sweep
from sequencer.sequences.models import EnrollmentEvent, ScheduledEmail
from sequencer.sequences.timeline import timeline
from sequencer.web.enroll.timeline_items import items

from .enrolling import enroll, mailbox_of, person, published, reply_from, send_first_email

pytestmark = pytest.mark.django_db

KEEP_LITTLE = Retention(
    inbound_raw_days=1,
    seen_calendar_event_days=1,
    finished_delivery_days=1,
    unused_attachment_days=1,
)


def _timeline_html(client, sequence, enrolled) -> str:
    page = client.get(f"/sequences/{sequence.pk}/recipients/?recipient={enrolled.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    return html[
        html.index('<ol class="timeline"') : html.index("</ol>", html.index("timeline-title"))
    ]


def test_the_timeline_and_the_tab_show_the_same_after_housekeeping(admin, browser_of, api_as):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    bea, cal = enroll(
        sequence, admin, box, person("Bea", "bea@initech.test"), person("Cal", "cal@initech.test")
    )
    sent_at = datetime.now(UTC) - timedelta(days=3)
    send_first_email(bea, sent_at)
    message = reply_from(bea, box, sent_at + timedelta(hours=2), "Thanks, not now.\nMaybe in Q4.")
    EnrollmentEvent.objects.create(
        enrollment=cal,
        kind=EventKind.BOUNCED,
        occurred_at=sent_at,
        detail={"status": "5.1.1", "diagnostic": "user unknown"},
    )
    client = browser_of(admin)
    api = api_as(admin)
    raw_url = f"/sequences/{sequence.pk}/recipients/{bea.pk}/messages/{message.pk}/"
    api_raw_url = f"enrollments/{bea.pk}/messages/{message.pk}/raw"
    zone = ZoneInfo("UTC")
    now = datetime.now(UTC)
    before = {
        "entries": [timeline(e) for e in (bea, cal)],
        "items": [items(e, zone, now) for e in (bea, cal)],
        "html": [_timeline_html(client, sequence, e) for e in (bea, cal)],
        "api": api.get(f"enrollments/{bea.pk}/timeline").data,
    }
    raw_before = client.get(raw_url)

    report = sweep(now + timedelta(days=3), KEEP_LITTLE)
    after = {
        "entries": [timeline(e) for e in (bea, cal)],
        "items": [items(e, zone, now) for e in (bea, cal)],
        "html": [_timeline_html(client, sequence, e) for e in (bea, cal)],
        "api": api.get(f"enrollments/{bea.pk}/timeline").data,
    }

    assert report.removed["inbound_raw"] == 1
    assert report.removed["finished_deliveries"] == 1  # Bea's cancelled email 2
    assert ScheduledEmail.objects.filter(enrollment=bea).count() == 1
    assert after == before
    bea_html = after["html"][0]
    assert "Thanks, not now.<br>Maybe in Q4." in bea_html and "Hi Bea!" in bea_html
    assert "5.1.1 user unknown" in after["html"][1]
    assert raw_before.status_code == 200 and b"Maybe in Q4." in raw_before.content
    gone = client.get(raw_url)
    assert gone.status_code == 410 and "no longer kept" in gone.content.decode()
    api_gone = api.get(api_raw_url)
    assert api_gone.status_code == 404 and api_gone.data["error"]["code"] == "not_kept"
