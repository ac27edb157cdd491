"""The webhook events: which an exit publishes, the envelope, parsing names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sequencer.domain.events import EXIT_REASONS
from sequencer.domain.webhook_events import (
    ALL_EVENTS,
    EVENT_LABELS,
    WebhookEvent,
    envelope,
    events_for_exit,
    parse_events,
)
from sequencer.domain.webhook_url import url_problem


def test_every_exit_publishes_recipient_exited_last_and_its_own_event_first() -> None:
    assert events_for_exit("replied") == ("recipient.replied", "recipient.exited")
    assert events_for_exit("unsubscribed") == ("recipient.unsubscribed", "recipient.exited")
    assert events_for_exit("bounced") == ("email.bounced", "recipient.exited")
    assert events_for_exit("meeting_booked") == ("meeting.booked", "recipient.exited")
    assert events_for_exit("removed") == ("recipient.exited",)
    assert events_for_exit("complained") == ("recipient.exited",)
    for reason in EXIT_REASONS:
        assert events_for_exit(reason)[-1] == WebhookEvent.RECIPIENT_EXITED


def test_there_are_seven_events_each_with_a_label() -> None:
    assert len(ALL_EVENTS) == 7
    assert set(EVENT_LABELS) == set(ALL_EVENTS)


def test_the_envelope_names_the_type_and_time() -> None:
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert envelope("email.sent", at, {"a": 1}) == {
        "type": "email.sent",
        "timestamp": "2026-03-02T10:00:00+00:00",
        "data": {"a": 1},
    }
    with pytest.raises(ValueError):
        envelope("email.sent", datetime(2026, 3, 2), {})


def test_parsing_events_keeps_the_defined_order_and_names_an_unknown_one() -> None:
    assert parse_events(["meeting.booked", "email.sent", "email.sent"]) == (
        WebhookEvent.EMAIL_SENT,
        WebhookEvent.MEETING_BOOKED,
    )
    with pytest.raises(ValueError, match="nope"):
        parse_events(["nope"])


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/x",
        "https://",
        "https://user:pw@example.com/x",
        "https://example.com:99999/x",
        "https://exa mple.com/",
        "https://[::1",
        "https://example.com/#frag",
        "https://" + "a" * 2000 + ".com",
        "https://\u0000/",
    ],
)
def test_junk_urls_are_refused_with_a_reason(url: str) -> None:
    assert url_problem(url)


def test_ordinary_urls_are_accepted() -> None:
    assert url_problem("https://hooks.example.com/sequencer?key=1") is None
    assert url_problem("http://127.0.0.1:8080/hooks") is None
