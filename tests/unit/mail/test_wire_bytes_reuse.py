"""A built message is written and checked once; any change to it is checked again.

``build_message`` checks the bytes and the provider asks for them again right after:
the second time the checked bytes are reused, but only while nothing in the message,
in any of its parts, has changed since.
"""

from datetime import UTC, datetime

import pytest

from sequencer.mail.compose import build_message, wire_bytes
from sequencer.mail.wire_check import WireCheckError

WHEN = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)


def compose(**overrides):
    args = {
        "from_": ("Alice Example", "alice@example.test"),
        "to": ("Bob Prospect", "bob@prospect.test"),
        "subject": "Quick question",
        "html": "<p>The real body.</p>",
        "date": WHEN,
        "message_id": "<first@example.test>",
        "attachments": [("notes.txt", "text/plain", b"notes")],
    }
    return build_message(**{**args, **overrides})


def test_asking_for_the_bytes_of_an_unchanged_message_again_reuses_the_checked_bytes():
    message = compose()
    first = wire_bytes(message)
    assert wire_bytes(message) is first
    message.checked = None
    assert wire_bytes(message) == first


def test_a_header_line_added_to_a_part_after_building_is_still_refused():
    message = compose()
    wire_bytes(message)
    alternative, _ = message.iter_parts()
    plain, _ = alternative.iter_parts()
    plain.set_raw("X-Note", "fine\r\nBcc: x@evil.test")
    with pytest.raises(WireCheckError, match="Bcc"):
        wire_bytes(message)


def test_a_recipient_changed_after_building_is_still_refused():
    message = compose()
    wire_bytes(message)
    message.replace_header("To", "carl@evil.test")
    with pytest.raises(WireCheckError, match="To header"):
        wire_bytes(message)


def test_a_body_changed_after_building_is_sent_as_changed():
    message = compose()
    before = wire_bytes(message)
    alternative, _ = message.iter_parts()
    _, html = alternative.iter_parts()
    html.set_content("<p>Another body.</p>", subtype="html")
    after = wire_bytes(message)
    assert after != before
    assert b"Another body." in after


def test_a_header_added_after_building_is_on_the_wire():
    message = compose()
    wire_bytes(message)
    message["X-Campaign"] = "spring"
    assert b"\r\nX-Campaign: spring\r\n" in wire_bytes(message)
