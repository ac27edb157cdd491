"""/api/v1/webhooks: admins manage endpoints; secrets appear only when made."""

from __future__ import annotations

import logging

import pytest

from sequencer.webhooks.models import WebhookDelivery, WebhookEndpoint
from sequencer.workspace.models import Role

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.test/sequencer"


def test_an_admin_creates_lists_changes_rotates_and_deletes_an_endpoint(api, caplog):
    caplog.set_level(logging.DEBUG)
    created = api.post("webhooks", {"url": URL, "description": "CRM"})
    assert created.status_code == 201, created.data
    secret = created.data["secret"]
    assert secret.startswith("whsec_")
    assert created.data["events"] == [
        "enrollment.created",
        "email.sent",
        "email.bounced",
        "recipient.replied",
        "recipient.exited",
        "recipient.unsubscribed",
        "meeting.booked",
    ]
    webhook_id = created.data["id"]

    listed = api.get("webhooks")
    assert listed.status_code == 200 and [w["id"] for w in listed.data] == [webhook_id]
    assert secret not in listed.content.decode()
    assert secret not in api.get(f"webhooks/{webhook_id}").content.decode()

    changed = api.patch(f"webhooks/{webhook_id}", {"events": ["email.sent"], "enabled": False})
    assert changed.status_code == 200
    assert (changed.data["events"], changed.data["enabled"], changed.data["url"]) == (
        ["email.sent"],
        False,
        URL,
    )

    rotated = api.post(f"webhooks/{webhook_id}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.data["secret"] != secret and rotated.data["previous_secret_valid_until"]
    new_secret = rotated.data["secret"]
    assert new_secret not in api.get("webhooks").content.decode()

    assert api.post(f"webhooks/{webhook_id}/test").status_code == 201
    deliveries = api.get(f"webhooks/{webhook_id}/deliveries")
    assert deliveries.data["count"] == 1 and deliveries.data["items"][0]["type"] == "webhook.test"
    assert api.get(f"webhooks/{webhook_id}/attempts").data == {"items": [], "count": 0}
    delivery_id = deliveries.data["items"][0]["id"]
    refused = api.post(f"webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
    assert refused.status_code == 400 and refused.data["error"]["code"] == "invalid_state"

    assert api.delete(f"webhooks/{webhook_id}").status_code == 204
    assert api.get(f"webhooks/{webhook_id}").status_code == 404
    for text in (secret, new_secret):
        assert text not in caplog.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://u:p@x.test/"}, "url"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["email.opened"]}, "events"),
        ({"url": URL, "description": "x" * 201}, "description"),
        ({"url": URL, "secret": "mine"}, "secret"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, body, field):
    answer = api.post("webhooks", body)
    assert answer.status_code == 400, answer.data
    assert answer.data["error"]["field"] == field
    assert not WebhookEndpoint.objects.exists()


def test_private_hosts_are_refused_when_the_operator_blocks_them(api, settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = True
    answer = api.post("webhooks", {"url": "http://127.0.0.1:8080/hooks"})
    assert answer.status_code == 400 and answer.data["error"]["code"] == "blocked_host"


def test_members_and_strangers_get_nothing(api, api_as, make_member, anonymous_api):
    webhook_id = api.post("webhooks", {"url": URL}).data["id"]
    member = api_as(make_member())
    for client, status in ((member, 403), (anonymous_api, 401)):
        assert client.get("webhooks").status_code == status
        assert client.get("webhooks/events").status_code == status
        assert client.post("webhooks", {"url": URL}).status_code == status
        assert client.get(f"webhooks/{webhook_id}").status_code == status
        assert client.patch(f"webhooks/{webhook_id}", {"enabled": False}).status_code == status
        assert client.post(f"webhooks/{webhook_id}/rotate-secret").status_code == status
        assert client.post(f"webhooks/{webhook_id}/test").status_code == status
        assert client.get(f"webhooks/{webhook_id}/attempts").status_code == status
        assert client.delete(f"webhooks/{webhook_id}").status_code == status
    assert WebhookEndpoint.objects.get().enabled and not WebhookDelivery.objects.exists()
    other_admin = api_as(make_member(role=Role.ADMIN))
    assert other_admin.get(f"webhooks/{webhook_id}").status_code == 200


def test_the_events_are_listed_with_their_meaning(api):
    answer = api.get("webhooks/events")
    assert {"name": "meeting.booked", "description": "A meeting is booked"} in answer.data
    assert len(answer.data) == 7


def test_unknown_ids_are_not_found(api):
    assert api.get("webhooks/999").status_code == 404
    assert api.post("webhooks/999/deliveries/1/retry").status_code == 404


def test_a_failed_delivery_is_retried_through_the_api(api):
    webhook_id = api.post("webhooks", {"url": URL}).data["id"]
    delivery_id = api.post(f"webhooks/{webhook_id}/test").data["id"]
    WebhookDelivery.objects.filter(pk=delivery_id).update(state="failed", next_attempt_at=None)

    answer = api.post(f"webhooks/{webhook_id}/deliveries/{delivery_id}/retry")

    assert answer.status_code == 200
    assert answer.data["state"] == "pending" and answer.data["next_attempt_at"]
    other = api.post("webhooks", {"url": URL}).data["id"]
    assert api.post(f"webhooks/{other}/deliveries/{delivery_id}/retry").status_code == 404
