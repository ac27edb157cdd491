"""The webhook receiver peer records what it gets and answers as scripted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx

from sequencer.domain.webhook_signing import format_secret, signed_headers
from tests.peers.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECRET = format_secret(b"k" * 32)


def test_the_receiver_records_each_request_and_answers_as_scripted() -> None:
    with WebhookReceiver() as receiver:
        body = b'{"type":"email.sent"}'
        receiver.queue(500)
        first = httpx.post(
            receiver.url, content=body, headers=signed_headers([SECRET], "msg_1", NOW, body)
        )
        second = httpx.post(
            receiver.url, content=body, headers=signed_headers([SECRET], "msg_1", NOW, body)
        )
        receiver.answer(410)
        third = httpx.post(receiver.url, content=b'{"type":"x"}')
    assert [first.status_code, second.status_code, third.status_code] == [500, 200, 410]
    assert receiver.types() == ["email.sent", "email.sent", "x"]
    assert receiver.received[0].path == "/hooks"
    assert receiver.received[0].body == body
    assert receiver.verified(receiver.received[0], SECRET, NOW)
    assert not receiver.verified(receiver.received[0], format_secret(b"z" * 32), NOW)
    assert not receiver.verified(receiver.received[2], SECRET, NOW)  # unsigned


def test_a_held_request_gets_no_answer_until_released() -> None:
    with WebhookReceiver() as receiver:
        receiver.hold()
        answers: list[int] = []
        client = threading.Thread(
            target=lambda: answers.append(httpx.post(receiver.url, content=b"{}").status_code)
        )
        client.start()
        assert receiver.holding.wait(10)
        assert answers == []
        receiver.release()
        client.join(10)
    assert answers == [200]
