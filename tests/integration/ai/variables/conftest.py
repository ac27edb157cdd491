"""The engine's published sequence, person, mailbox on the real SMTP peer and fake clock,
with a generator deriving its text from the request set up as the workspace's model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sequencer.engine.worker import Worker
from sequencer.testing import FakeClock
from tests.integration.ai.variables import deriving
from tests.integration.ai.variables.deriving import DerivingGenerator
from tests.integration.engine.conftest import START
from tests.integration.engine.conftest import mailbox as mailbox  # the fixture
from tests.integration.engine.conftest import person as person  # the fixture
from tests.integration.engine.conftest import publish as publish  # the fixture


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def generator(settings: Any) -> Iterator[DerivingGenerator]:
    made = DerivingGenerator()
    deriving.ACTIVE.append(made)
    settings.SEQUENCER_AI_GENERATOR = "tests.integration.ai.variables.deriving.active"
    yield made
    deriving.ACTIVE.remove(made)


@pytest.fixture
def worker(clock: FakeClock, generator: DerivingGenerator) -> Worker:
    return Worker(clock=clock, name="ai-worker", ai_generator=lambda: generator)
