"""Settings → Webhooks: admins add endpoints (the secret shown once), change them,
rotate the secret, send a test event, retry a failed delivery and read the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.webhooks import endpoints
from sequencer.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from sequencer.workspace.models import Role

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.test/sequencer"


def _endpoint(admin, **fields) -> endpoints.Created:
    fields.setdefault("url", URL)
    return endpoints.create(admin, clock=system_clock, **fields)


def test_adding_a_webhook_shows_its_secret_once_then_never_again(admin, browser_of):
    client = browser_of(admin)
    answer = client.post(
        "/settings/webhooks/",
        {"url": URL, "description": "CRM sync", "events": ["email.sent"], "enabled": "on"},
    )
    page = answer.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    assert endpoint.secret in page and "it will not be shown again" in page
    assert (endpoint.url, endpoint.description, endpoint.events) == (
        URL,
        "CRM sync",
        ["email.sent"],
    )

    for path in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/"):
        again = client.get(path).content.decode()
        assert endpoint.secret not in again
        assert "CRM sync" in again


def test_the_form_starts_with_every_event_chosen_and_an_empty_list_says_what_to_do(
    admin, browser_of
):
    page = browser_of(admin).get("/settings/webhooks/").content.decode()
    assert page.count('name="events"') == 7 and page.count(" checked") >= 8
    assert "No webhooks yet" in page


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"url": "ftp://x.test/", "events": ["email.sent"]}, "Enter an http:// or https:// URL"),
        ({"url": "", "events": ["email.sent"]}, "Enter the URL that should receive"),
        ({"url": URL}, "Choose at least one event"),
    ],
)
def test_a_refused_webhook_says_why_next_to_the_field(admin, browser_of, posted, message):
    answer = browser_of(admin).post("/settings/webhooks/", posted)
    page = answer.content.decode()
    assert answer.status_code == 400
    assert message in page and 'class="field-error"' in page
    assert not WebhookEndpoint.objects.exists()


def test_changing_disabling_rotating_testing_and_deleting(admin, browser_of):
    created = _endpoint(admin)
    client = browser_of(admin)
    base = f"/settings/webhooks/{created.endpoint.pk}/"

    answer = client.post(
        base, {"url": URL + "/v2", "description": "", "events": ["meeting.booked"]}
    )
    assert answer.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.enabled) == (
        URL + "/v2",
        ["meeting.booked"],
        False,
    )

    rotated = client.post(base + "rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != created.secret
    assert endpoint.secret in rotated.content.decode()
    assert "previous secret keeps signing too" in rotated.content.decode()

    client.post(base + "test/")
    assert WebhookDelivery.objects.get().kind == "webhook.test"

    client.post(base + "delete/")
    assert not WebhookEndpoint.objects.exists()


def test_a_failed_delivery_can_be_retried_from_the_page(admin, browser_of):
    created = _endpoint(admin)
    delivery = endpoints.send_test(created.endpoint.pk, admin, clock=system_clock)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED)
    client = browser_of(admin)
    page = client.get(f"/settings/webhooks/{created.endpoint.pk}/").content.decode()
    assert "Failed deliveries" in page and "Retry" in page

    client.post(f"/settings/webhooks/{created.endpoint.pk}/deliveries/{delivery.pk}/retry/")
    delivery.refresh_from_db()
    assert delivery.state == "pending"


def test_signed_out_visitors_are_sent_to_sign_in(admin):
    created = _endpoint(admin)
    for path in ("/settings/webhooks/", f"/settings/webhooks/{created.endpoint.pk}/"):
        answer = Client().get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_members_who_are_not_admins_can_neither_see_nor_change_webhooks(
    admin, make_member, browser_of
):
    created = _endpoint(admin)
    client = browser_of(make_member())
    base = f"/settings/webhooks/{created.endpoint.pk}/"
    assert client.get("/settings/webhooks/").status_code == 403
    assert client.get(base).status_code == 403
    assert (
        client.post("/settings/webhooks/", {"url": URL, "events": ["email.sent"]}).status_code
        == 403
    )
    for action in ("rotate/", "test/", "delete/"):
        assert client.post(base + action).status_code == 403
    assert "Webhooks" not in client.get("/settings/tokens/").content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == created.secret and not WebhookDelivery.objects.exists()


def test_another_admin_sees_the_webhooks(admin, make_member, browser_of):
    _endpoint(admin, description="CRM sync")
    other = make_member(role=Role.ADMIN)
    page = browser_of(other).get("/settings/webhooks/").content.decode()
    assert "CRM sync" in page


def test_the_page_costs_the_same_queries_with_10_or_50_attempts_in_the_log(admin, browser_of):
    created = _endpoint(admin)
    client = browser_of(admin)
    counts = []
    for total in (10, 50):
        WebhookDelivery.objects.all().delete()
        now = system_clock.now()
        for i in range(total):
            delivery = endpoints.send_test(created.endpoint.pk, admin, clock=system_clock)
            if i % 2:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED)
            WebhookAttempt.objects.create(
                delivery=delivery,
                endpoint=created.endpoint,
                number=1,
                attempted_at=now - timedelta(minutes=i),
                status_code=500 if i % 2 else 200,
                succeeded=not i % 2,
                response_excerpt="nope",
            )
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/settings/webhooks/{created.endpoint.pk}/").content.decode()
        assert "webhook.test" in page
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_list_costs_the_same_queries_with_10_or_50_endpoints(admin, browser_of):
    client = browser_of(admin)
    counts = []
    for total in (10, 50):
        WebhookEndpoint.objects.all().delete()
        for i in range(total):
            _endpoint(admin, url=f"{URL}/{i}", events=["email.sent"] if i % 2 else None)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/settings/webhooks/").content.decode()
        assert f"{URL}/{total - 1}" in page
        counts.append(len(queries))
    assert counts[0] == counts[1]
