"""An admin adds a webhook in Settings, copies its secret, sends a test event to a real
receiver and reads the delivery log, in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.webhooks.delivery import deliver_due
from sequencer.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def test_an_admin_adds_a_webhook_tests_it_and_reads_the_log(
    live_server, page: Page, admin, sign_in, axe, violations, webhook_receiver
):
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/settings/webhooks/")
    expect(page.get_by_role("heading", name="No webhooks yet")).to_be_visible()
    axe("empty webhooks page")
    _shot(page, "webhooks-empty.png")

    page.get_by_label("Endpoint URL").fill("not a url")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_text("A URL has no spaces")).to_be_visible()

    page.get_by_label("Endpoint URL").fill(webhook_receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_label("email.bounced — An email bounces").uncheck()
    page.get_by_role("button", name="Add webhook").click()
    secret = WebhookEndpoint.objects.get().secret
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(secret)
    axe("webhook created")
    _shot(page, "webhooks-created.png")

    page.get_by_role("link", name=f"Open the webhook to {webhook_receiver.url}").click()
    expect(page.get_by_role("heading", name="CRM sync")).to_be_visible()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("A test event is on its way")).to_be_visible()

    assert deliver_due(system_clock.now(), owner="browser-test", clock=system_clock) == 1
    assert webhook_receiver.verified(webhook_receiver.received[0], secret, system_clock.now())
    page.reload()
    log = page.get_by_role("table", name="Delivery attempts, newest first")
    expect(log.get_by_text("webhook.test")).to_be_visible()
    expect(log.get_by_text("HTTP 200")).to_be_visible()
    axe("webhook with a log")
    _shot(page, "webhook-log.png")

    page.get_by_role("button", name="Rotate secret…").click()
    page.get_by_role("button", name="Rotate secret", exact=True).click()
    expect(page.get_by_text("The previous secret keeps signing too")).to_be_visible()

    page.set_viewport_size(NARROW)
    page.goto(page.url)  # reloading the answer to the rotation: the secret is gone
    expect(page.get_by_role("heading", name="CRM sync")).to_be_visible()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)
    _shot(page, "webhook-log-phone.png")
    assert violations == []
