"""An endpoint on the real webhook receiver, the engine's sequence and mailbox, and a
helper that runs one delivery round on the test clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sequencer.domain.backoff import no_jitter
from sequencer.testing import FakeClock
from sequencer.webhooks import endpoints
from sequencer.webhooks.delivery import deliver_due
from tests.integration.engine.conftest import START
from tests.integration.engine.conftest import mailbox as mailbox  # the fixtures
from tests.integration.engine.conftest import person as person
from tests.integration.engine.conftest import publish as publish
from tests.integration.engine.conftest import worker as worker
from tests.peers.webhook_receiver import WebhookReceiver


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def hook(
    admin: Any, webhook_receiver: WebhookReceiver, clock: FakeClock
) -> Callable[..., endpoints.Created]:
    """``hook(events=None, **fields)``: an endpoint on the receiver, with its secret."""

    def make(**fields: Any) -> endpoints.Created:
        fields.setdefault("url", webhook_receiver.url)
        return endpoints.create(admin, clock=clock, **fields)

    return make


@pytest.fixture
def deliver(clock: FakeClock) -> Callable[[], int]:
    """One delivery round now (on the test clock, without jitter); attempts made."""

    def run() -> int:
        return deliver_due(clock.now(), owner="test-deliverer", clock=clock, random=no_jitter)

    return run
