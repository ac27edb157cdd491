"""The small pure pieces of inbound handling."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from sequencer.domain.threading import normalise_subject
from sequencer.mail.inbound import classify
from sequencer.mail.inbound_store import message_key
from sequencer.mail.sync.graph import rebuild_mime
from tests.integration.inbound.messages import ALICE, START


@pytest.mark.parametrize(
    "subject",
    [
        "Hello Ada",
        "RE: Hello Ada",
        "Re: RE: re:Hello Ada",
        "AW: Hello  Ada",
        "SV: Hello Ada",
        "Fwd: Re: Hello Ada",
        "Re[2]: Hello Ada",
        "Automatic reply: Hello Ada",
        "  hello ada ",
    ],
)
def test_reply_prefixes_are_stripped_for_matching(subject):
    assert normalise_subject(subject) == "hello ada"


def test_a_subject_that_only_looks_like_a_prefix_is_kept():
    assert normalise_subject("Research: results") == "research: results"
    assert normalise_subject("") == ""


def test_a_message_without_a_message_id_is_known_by_its_bytes():
    assert message_key("<a@b>", b"x") == "<a@b>"
    assert message_key(None, b"x") == message_key("  ", b"x")
    assert message_key(None, b"x") != message_key(None, b"y")


def test_a_graph_message_rebuilt_from_json_keeps_what_classification_reads():
    raw = rebuild_mime(
        {
            "id": "AAMk",
            "internetMessageId": "<r1@initech.test>",
            "receivedDateTime": "2026-03-02T10:00:00Z",
            "subject": "Automatic reply: Hello\r\nBcc: injected@evil.test",
            "from": {"emailAddress": {"name": "Ada", "address": "ada@initech.test"}},
            "toRecipients": [{"emailAddress": {"address": ALICE}}],
            "body": {"contentType": "html", "content": "<p>Back on 10 March 2026.</p>"},
            "internetMessageHeaders": [
                {"name": "Auto-Submitted", "value": "auto-replied"},
                {"name": "In-Reply-To", "value": "<sent@example.test>"},
                {"name": "X-Unrelated", "value": "dropped"},
            ],
        }
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None  # a line break in a value cannot add a header
    assert message["X-Unrelated"] is None
    event = classify(raw, mailbox_address=ALICE, received_at=START)
    assert event.kind == "auto_reply"
    assert event.in_reply_to == "<sent@example.test>"
    assert event.message_id == "<r1@initech.test>"
    assert str(event.return_date) == "2026-03-10"
