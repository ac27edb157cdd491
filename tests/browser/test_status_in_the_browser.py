"""An admin opens Settings → Status, in Chromium: first before anything was sent (the page
says what to do), then after a worker sent emails to the SMTP peer (the figures and the
charts show them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.engine.worker import Worker
from sequencer.mail.models import Mailbox
from sequencer.operations.heartbeat import Heart
from sequencer.sequences.models import ScheduledEmail
from tests.browser.test_webhooks_in_the_browser import NARROW, WIDE, _shot
from tests.integration.web.enrolling import enroll, many_people, published

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 24


def _send_through_the_peer(admin, peer_mailbox, smtp_server) -> None:
    """A worker sends the first email of each of ``PEOPLE`` enrollments to the SMTP peer;
    their times are then spread over the last two days, as if they had gone out hour by
    hour, some of them late."""
    mailbox: Mailbox = peer_mailbox(admin, imap=False)
    Mailbox.objects.filter(pk=mailbox.pk).update(min_spacing_seconds=0, per_hour=1000, per_day=1000)
    enroll(published(admin), admin, mailbox, *many_people(PEOPLE, "Reader"))
    report = Worker(clock=system_clock, batch_size=PEOPLE, name="status-browser").tick()
    assert report.handed_over == PEOPLE
    assert len(smtp_server.wait_for(PEOPLE)) == PEOPLE
    now = system_clock.now()
    sent = ScheduledEmail.objects.filter(state="sent").order_by("pk")
    for n, email in enumerate(sent):
        sent_at = now - timedelta(hours=(n * 7) % 46 + 1, minutes=n)
        late = timedelta(minutes=(n * 13) % 40 if n % 3 else 1)
        ScheduledEmail.objects.filter(pk=email.pk).update(sent_at=sent_at, due_at=sent_at - late)
    # Two follow-ups have been due for a quarter of an hour.
    waiting = ScheduledEmail.objects.filter(state="scheduled").order_by("pk")
    ScheduledEmail.objects.filter(pk__in=list(waiting.values_list("pk", flat=True)[:2])).update(
        due_at=now - timedelta(minutes=15)
    )
    Heart("status-browser").beat(now)


def _shown_in(region, element) -> bool:
    """Whether ``element`` lies wholly inside the visible part of the scrolling ``region``."""
    outer, inner = region.bounding_box(), element.bounding_box()
    assert outer is not None and inner is not None
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
    )


def test_an_admin_reads_the_status_before_and_after_emails_are_sent(
    live_server, page: Page, admin, sign_in, axe, violations, peer_mailbox, smtp_server
):
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/settings/mailboxes/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Status").click()
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Nothing has been sent yet")).to_be_visible()
    expect(page.get_by_text("No worker is running")).to_be_visible()
    axe("status before anything was sent")
    _shot(page, "status-empty.png")

    _send_through_the_peer(admin, peer_mailbox, smtp_server)
    page.reload()

    figures = page.get_by_role("region", name="Right now")
    expect(figures.get_by_text("Sent in the last 24 hours")).to_be_visible()
    expect(page.get_by_text("No worker is running")).to_have_count(0)
    sends = page.get_by_role("img", name="Emails sent per hour, last 48 hours")
    expect(sends).to_be_visible()
    expect(page.locator("#sends-chart-desc")).to_contain_text(
        f"{PEOPLE} emails were sent in the last 48 hours."
    )
    expect(page.get_by_role("img", name="Send lag per hour, last 48 hours")).to_be_visible()
    states = page.get_by_role("table", name="Emails by state")
    expect(states.get_by_role("row", name=f"Sent {PEOPLE}")).to_be_visible()
    page.get_by_text("The numbers, hour by hour").first.click()
    expect(page.get_by_role("table", name="Emails sent per hour, last 48 hours")).to_be_visible()
    axe("status after sending")
    _shot(page, "status.png")

    page.set_viewport_size(NARROW)
    page.reload()
    expect(page.get_by_role("img", name="Emails sent per hour, last 48 hours")).to_be_visible()
    # Too wide for a phone, each chart opens at its newest hours, beside its scale.
    for title in ("Emails sent per hour", "Send lag per hour"):
        chart = page.get_by_role("region", name=f"{title}, last 48 hours, chart")
        hours = chart.locator("text.chart-hour")
        assert _shown_in(chart, hours.last), f"{title}: the newest hours are scrolled away"
        assert not _shown_in(chart, hours.first), f"{title}: it does not scroll at all"
        scale = chart.locator("text.chart-scale")
        assert scale.count() == 3
        assert all(_shown_in(chart, scale.nth(n)) for n in range(3)), f"{title}: no scale"
    _shot(page, "status-phone.png")
    assert violations == []
