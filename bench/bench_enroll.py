"""How long one API request takes to enroll 1,000 people.

The child process (SQLite file database) publishes a one-step sequence, connects a
mailbox and creates an API token, then POSTs ``/api/v1/sequences/{id}/enrollments``
through Django's test client with that token: once untimed with 10 people (so URL
routing, schemas and imports are loaded, as in a running server), then three times
with 1,000 people not enrolled before. The figure is the median of the three.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from bench import support

FIGURES = {
    "enroll_1000_seconds": (
        "one API request enrolling 1,000 people into a published sequence (median of 3, "
        "Django test client, real token, SQLite)",
        "s",
        ("<=", 1.0),
    ),
}

PEOPLE = 1000
RUNS = 3


def run() -> dict[str, float]:
    result = support.run_child("bench_enroll", str(PEOPLE), str(RUNS))
    return {"enroll_1000_seconds": result["median"]}


# -- child ----------------------------------------------------------------------------


def _enroll(client: Any, token: str, sequence_id: int, mailbox_id: int, people: list[int]) -> float:
    body = {
        "sender": {"mailbox_id": mailbox_id},
        "recipients": [{"person_id": p} for p in people],
    }
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/sequences/{sequence_id}/enrollments",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"enroll answered {response.status_code}: {response.content[:500]!r}")
    results = response.json()["results"]
    refused = [r for r in results if r["status"] != "enrolled"]
    if len(results) != len(people) or refused:
        raise RuntimeError(f"{len(refused)} of {len(results)} refused: {refused[:3]}")
    return elapsed


def child(count: int, runs: int) -> dict[str, Any]:
    support.setup_django()
    from django.test import Client

    from sequencer.workspace import services

    admin = support.make_admin()
    sequence = support.publish_sequence(admin)
    mailbox = support.make_mailbox(admin)
    _, token = services.create_token(admin, "bench")
    client = Client()

    _enroll(client, token, sequence.pk, mailbox.pk, support.make_people(10, "warm"))
    timings = [
        _enroll(client, token, sequence.pk, mailbox.pk, support.make_people(count, f"run{n}"))
        for n in range(runs)
    ]
    return {"median": statistics.median(timings), "runs": timings}


if __name__ == "__main__":
    support.emit(child(int(sys.argv[1]), int(sys.argv[2])))
