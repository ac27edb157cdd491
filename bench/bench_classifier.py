"""How fast inbound mail is classified: every synced message goes through it.

The mixed corpus of the inbound tests (replies, auto-replies, bounces, invitations,
unsubscribe requests, newsletters) is classified again and again, each event's matching
IDs extracted as the sync worker does. The figure is the best of several rounds, so a
busy machine's pauses do not count as the classifier's time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sequencer.mail.inbound import classify

FIGURES = {
    "classifier_messages_per_second": (
        "classification and matching throughput over the mixed corpus",
        "msg/s",
        (">=", 2000),
    ),
}

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "unit" / "inbound" / "corpus"
MAILBOX = "alice@northwind.test"
RECEIVED = datetime(2025, 12, 10, 9, 0, tzinfo=UTC)
ROUNDS = 7
PASSES_PER_ROUND = 10


def _classify_all(messages: list[bytes]) -> int:
    ids = 0
    for raw in messages:
        event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
        ids += len(event.matching_ids())
    return ids


def run() -> dict[str, float]:
    messages = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    if not messages:
        raise RuntimeError(f"no corpus messages in {CORPUS}")
    _classify_all(messages)  # warm imports and regex caches
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(PASSES_PER_ROUND):
            _classify_all(messages)
        best = min(best, time.perf_counter() - started)
    return {"classifier_messages_per_second": len(messages) * PASSES_PER_ROUND / best}


if __name__ == "__main__":
    print(run())
