"""Delivering: retries with backoff for a day, the log of attempts, rotation, leases,
and a receiver that hangs never holding up sending."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from sequencer.domain.webhook_signing import BadSignature, format_secret, verify
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.webhooks import endpoints
from sequencer.webhooks.delivery import deliver_due
from sequencer.webhooks.events import publish
from sequencer.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.peers.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


def owe_one(clock: Any) -> WebhookDelivery:
    assert publish("email.sent", {"enrollment_id": 1}, clock.now()) == 1  # type: ignore[arg-type]
    return WebhookDelivery.objects.get()


def test_a_receiver_answering_500_is_retried_with_backoff_and_each_attempt_is_logged(
    hook: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    created = hook()
    webhook_receiver.answer(500, b"x" * 5000)
    delivery = owe_one(clock)
    start = clock.now()

    assert deliver() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == start + timedelta(seconds=5)
    assert deliver() == 0  # not due yet

    waits = [5, 300, 1800, 7200, 18000, 36000]
    for seconds in waits:
        clock.advance(timedelta(seconds=seconds))
        assert deliver() == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.attempts == 7
    # The last wait (10 hours) is cut short to end a day after the event.
    assert delivery.next_attempt_at == start + timedelta(days=1)
    clock.set(start + timedelta(days=1))
    assert deliver() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert delivery.last_status == 500
    clock.advance(timedelta(days=2))
    assert deliver() == 0

    log = list(WebhookAttempt.objects.filter(endpoint=created.endpoint).order_by("number"))
    assert [a.number for a in log] == list(range(1, 9))
    assert all(a.status_code == 500 and not a.succeeded for a in log)
    assert all(len(a.response_excerpt) == 1024 for a in log)
    assert "500" in log[0].error
    # The same event, id and body every time; a fresh timestamp and signature each time.
    assert len(webhook_receiver.received) == 8
    assert len({r.headers["webhook-id"] for r in webhook_receiver.received}) == 1
    assert len({r.body for r in webhook_receiver.received}) == 1
    assert len({r.headers["webhook-timestamp"] for r in webhook_receiver.received}) == 8


def test_a_failed_delivery_retried_by_hand_is_delivered_when_the_receiver_is_back(
    hook: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    created = hook()
    webhook_receiver.answer(503)
    delivery = owe_one(clock)
    for _ in range(8):
        deliver()
        clock.advance(timedelta(hours=10))
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    tried = delivery.attempts

    webhook_receiver.answer(204)
    endpoints.retry(created.endpoint.pk, delivery.pk, clock=clock)
    assert deliver() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        "delivered",
        tried + 1,
        204,
    )


def test_a_receiver_that_is_down_is_logged_as_no_answer(
    hook: Any, deliver: Any, clock: Any, closed_port: int
) -> None:
    hook(url=f"http://127.0.0.1:{closed_port}/hooks")
    delivery = owe_one(clock)
    deliver()
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code is None and "connect" in attempt.error.lower()
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.last_status is None


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(
    hook: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    created = hook()
    old = created.secret
    new = endpoints.rotate_secret(created.endpoint.pk, clock=clock).secret
    assert new != old and new.startswith("whsec_")

    owe_one(clock)
    deliver()
    during = webhook_receiver.received[-1]
    assert len(during.signatures) == 2
    verify(new, during.headers, during.body, clock.now())
    verify(old, during.headers, during.body, clock.now())

    clock.advance(timedelta(hours=24))
    publish("email.sent", {"enrollment_id": 2}, clock.now())  # type: ignore[arg-type]
    deliver()
    after = webhook_receiver.received[-1]
    assert len(after.signatures) == 1
    verify(new, after.headers, after.body, clock.now())
    with pytest.raises(BadSignature):
        verify(old, after.headers, after.body, clock.now())


def test_a_wrong_secret_a_tampered_body_or_an_old_timestamp_is_detected(
    hook: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    secret = hook().secret
    owe_one(clock)
    deliver()
    [got] = webhook_receiver.received
    verify(secret, got.headers, got.body, clock.now())
    with pytest.raises(BadSignature):
        verify(format_secret(b"w" * 32), got.headers, got.body, clock.now())
    with pytest.raises(BadSignature):
        tampered = got.body.replace(b'"enrollment_id":1', b'"enrollment_id":2')
        verify(secret, got.headers, tampered, clock.now())
    with pytest.raises(BadSignature):
        verify(secret, got.headers, got.body, clock.now() + timedelta(minutes=10))


def test_a_delivery_leased_by_another_worker_is_not_attempted_again(
    hook: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    from sequencer import leasing
    from sequencer.webhooks.delivery import LEASE

    hook()
    delivery = owe_one(clock)
    assert leasing.take(WebhookDelivery.objects.filter(pk=delivery.pk), "other", clock.now(), LEASE)
    assert deliver_due(clock.now(), owner="me", clock=clock) == 0
    assert webhook_receiver.received == []
    clock.advance(LEASE)  # the other worker vanished: its lease ran out
    assert deliver_due(clock.now(), owner="me", clock=clock) == 1


def test_a_test_event_reaches_even_a_disabled_endpoint(
    hook: Any, admin: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    created = hook(enabled=False)
    endpoints.send_test(created.endpoint.pk, admin, clock=clock)
    deliver()
    assert webhook_receiver.types() == ["webhook.test"]
    assert webhook_receiver.verified(webhook_receiver.received[0], created.secret, clock.now())


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_hangs_does_not_hold_up_sending(
    admin: Any,
    publish: Any,
    mailbox: Any,
    person: Any,
    clock: Any,
    worker: Any,
    hook: Any,
    webhook_receiver: WebhookReceiver,
    smtp_server: Any,
) -> None:
    hook(events=["enrollment.created"])
    webhook_receiver.hold()
    enrollment.enroll(
        admin, publish().pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    )
    stop = threading.Event()
    thread = worker.start_webhooks(stop)
    try:
        # The worker's own delivery thread is inside its POST, waiting for an answer.
        assert webhook_receiver.holding.wait(20)
        assert worker.tick().handed_over == 1
        assert len(smtp_server.messages) == 1
        # Sent while the receiver still had not answered.
        assert webhook_receiver.holding.is_set()
        assert not WebhookAttempt.objects.exists()
    finally:
        webhook_receiver.release()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.succeeded


def test_finished_deliveries_older_than_thirty_days_are_pruned_with_their_log(
    hook: Any, deliver: Any, clock: Any, webhook_receiver: WebhookReceiver
) -> None:
    from sequencer.webhooks.delivery import KEEP, prune

    hook()
    delivered = owe_one(clock)
    deliver()
    webhook_receiver.answer(500)
    clock.advance(timedelta(days=1))
    publish("email.sent", {"enrollment_id": 2}, clock.now())  # type: ignore[arg-type]
    deliver()  # fails: pending, retried later
    clock.advance(KEEP + timedelta(days=1))
    publish("email.sent", {"enrollment_id": 3}, clock.now())  # type: ignore[arg-type]

    assert prune(clock.now()) == 1
    assert not WebhookDelivery.objects.filter(pk=delivered.pk).exists()
    assert WebhookDelivery.objects.count() == 2  # the pending one and the fresh one
    assert WebhookAttempt.objects.count() == 1
