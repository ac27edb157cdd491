"""``sequencer worker --once`` also delivers the webhooks that are due."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from sequencer.cli import main
from sequencer.clock import system_clock
from sequencer.webhooks import endpoints
from tests.peers.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


def test_one_worker_run_delivers_a_due_test_event(
    admin: Any, webhook_receiver: WebhookReceiver
) -> None:
    created = endpoints.create(admin, url=webhook_receiver.url, clock=system_clock)
    endpoints.send_test(created.endpoint.pk, admin, clock=system_clock)

    result = CliRunner().invoke(main, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "webhook attempts 1" in result.output
    assert webhook_receiver.types() == ["webhook.test"]
    assert webhook_receiver.verified(
        webhook_receiver.received[0], created.secret, system_clock.now()
    )
