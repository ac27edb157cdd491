"""What is kept of each message a mailbox receives."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from sequencer.engine.worker import inbound_handler
from sequencer.mail import inbound_store
from sequencer.mail.inbound_store import MAX_STORED_BYTES
from sequencer.mail.models import InboundMessage
from tests.integration.inbound import messages

pytestmark = pytest.mark.django_db


def _with_attachment(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Grace Hopper <grace@navy.test>"
    message["To"] = messages.ALICE
    message["Subject"] = "The slides you asked for"
    message["Message-ID"] = "<slides@navy.test>"
    message.set_content("Here they are.\n\nGrace")
    payload = bytes(range(256)) * (size // 256 + 1)
    message.add_attachment(payload[:size], maintype="application", subtype="pdf")
    return message.as_bytes()


def test_a_message_over_the_storage_bound_keeps_its_first_bytes_and_is_still_classified(
    mailbox, clock
):
    raw = _with_attachment(MAX_STORED_BYTES)  # base64 makes it a third larger again
    assert len(raw) > MAX_STORED_BYTES

    stored = inbound_store.ingest(
        mailbox, raw, received_at=None, clock=clock, act=inbound_handler(clock)
    )

    assert stored is not None
    stored.refresh_from_db()
    assert bytes(stored.raw) == raw[:MAX_STORED_BYTES]
    assert (stored.kind, stored.message_id, stored.enrollment_id) == (
        "reply",
        "<slides@navy.test>",
        None,
    )
    assert stored.processed_at is not None


def test_a_message_under_the_bound_that_concerns_no_enrollment_is_kept_whole(mailbox, clock):
    raw = _with_attachment(1000)

    inbound_store.ingest(mailbox, raw, received_at=None, clock=clock, act=inbound_handler(clock))

    stored = InboundMessage.objects.get(mailbox=mailbox)
    assert stored.enrollment_id is None and stored.processed_at is not None
    assert bytes(stored.raw) == raw
