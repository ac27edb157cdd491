"""What building one outgoing email costs the worker: ``build_message`` and then
``wire_bytes``, as dispatch and the provider call them.

The email is a typical follow-up of a sequence: plain text and HTML of about 1.5 KB
together, display names, a ``RE:`` subject, ``In-Reply-To``/``References`` and
``List-Unsubscribe`` with one-click. Every message goes to another person (its own
display name, address and Message-ID), from one mailbox, as a tick's sends do. After one
round to warm up, each round builds ``MESSAGES`` emails; the figure is the median of the
rounds' time per message. In this process: nothing here touches Django or a database.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from sequencer.domain.text import html_to_text
from sequencer.mail.compose import build_message, wire_bytes

FIGURES: dict[str, tuple[str, str, tuple[str, float] | None]] = {
    "compose_ms_per_message": (
        "build_message + wire_bytes of a typical follow-up email (text + HTML, threading "
        "and unsubscribe headers), median of the rounds' time per message",
        "ms",
        None,
    ),
}
ROUNDS = 9
MESSAGES = 300

_HTML = (
    "<p>Hi {first_name},</p>"
    "<p>I wanted to follow up on my note from last week. I noticed {company} is growing "
    "and wondered how you handle outbound email today. We help teams send personal "
    "sequences from their own mailboxes, with replies stopping the sequence "
    "automatically, and every email threaded under the first one.</p>"
    "<p>Teams like yours usually start with one mailbox and a three-step sequence, and "
    "see their first replies within days. Would a short call next week be useful? Here "
    'is <a href="https://example.test/demo">a two-minute demo</a>, or pick a time on '
    '<a href="https://example.test/calendar/alice">my calendar</a>.</p>'
    "<p>If now is not the right time, just say so and I will not write again.</p>"
    "<p>Best,<br>Alice Example<br>Head of Growth, Example Ltd</p>"
)
_WHEN = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)


def _inputs(index: int) -> dict[str, Any]:
    """What dispatch passes for one enrollment: the step already rendered (its text
    too, which rendering derives from the HTML)."""
    html = _HTML.format(first_name=f"Bob{index}", company=f"Prospect {index} Inc")
    return {
        "from_": ("Alice Example", "alice@example.test"),
        "to": (f"Bob{index} Prospect", f"bob.{index}@prospect{index % 97}.test"),
        "subject": f"RE: Quick question, Bob{index}",
        "html": html,
        "text": html_to_text(html),
        "date": _WHEN,
        "message_id": f"<{index:032x}@example.test>",
        "in_reply_to": f"<{index:031x}2@example.test>",
        "references": [f"<{index:031x}1@example.test>", f"<{index:031x}2@example.test>"],
        "unsubscribe_url": f"https://app.example.test/unsubscribe/{index:040x}",
        "unsubscribe_mailto": "unsubscribe@example.test",
    }


def _round(start: int) -> float:
    """Milliseconds per message: build each, then ask for its bytes as a provider does."""
    emails = [_inputs(index) for index in range(start, start + MESSAGES)]
    started = time.perf_counter()
    for email in emails:
        wire_bytes(build_message(**email))
    return (time.perf_counter() - started) / MESSAGES * 1000


def run() -> dict[str, float]:
    _round(0)
    rounds = [_round((r + 1) * MESSAGES) for r in range(ROUNDS)]
    return {"compose_ms_per_message": statistics.median(rounds)}
