"""The capture provider behaves like a provider: it keeps what it accepts, raises the
failures it is told to, one per send, and answers the Sent-folder search as told."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from sequencer.mail.providers.base import MailProvider, ThreadRef
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.testing import CaptureProvider


def message(message_id: str = "<m1@sender.test>") -> EmailMessage:
    built = EmailMessage()
    built["Message-ID"] = message_id
    built["Subject"] = "Hello"
    built.set_content("Hi")
    return built


def test_it_is_a_mail_provider_that_keeps_each_accepted_message_with_its_thread() -> None:
    provider: MailProvider = CaptureProvider()
    thread = ThreadRef(message_id="<m0@sender.test>", thread_id="t-1")

    result = provider.send(message(), thread=thread)

    assert isinstance(provider, CaptureProvider)
    assert [(c.message_id, c.thread) for c in provider.sent] == [("<m1@sender.test>", thread)]
    assert (result.provider_message_id, result.thread_id) == ("capture-1", "t-1")


@pytest.mark.parametrize(
    "failure",
    [
        TransientFailure("try later", retry_after=30),
        RecipientRejected("no such user", recipient="ada@initech.test"),
        MailboxFailure("bad password", problem="auth"),
        MessageRejected("too big"),
        OutcomeUnknown("connection lost after DATA"),
    ],
    ids=lambda f: type(f).__name__,
)
def test_each_failure_class_is_raised_once_and_nothing_is_kept(failure: Exception) -> None:
    provider = CaptureProvider()
    provider.fail_next(failure)

    with pytest.raises(type(failure)) as raised:
        provider.send(message())
    provider.send(message("<m2@sender.test>"))

    assert raised.value is failure
    assert [c.message_id for c in provider.sent] == ["<m2@sender.test>"]


def test_failures_are_raised_in_the_order_given() -> None:
    provider = CaptureProvider()
    provider.fail_next(TransientFailure("first"), MessageRejected("second"))

    with pytest.raises(TransientFailure):
        provider.send(message())
    with pytest.raises(MessageRejected):
        provider.send(message())


def test_the_sent_search_finds_only_what_was_captured_until_told_otherwise() -> None:
    provider = CaptureProvider()
    provider.send(message("<kept@sender.test>"))

    assert provider.find_sent("<kept@sender.test>") is True
    assert provider.find_sent("<other@sender.test>") is False

    provider.answer_find_sent(None)
    assert provider.find_sent("<kept@sender.test>") is None
    provider.answer_find_sent(TransientFailure("IMAP down"))
    with pytest.raises(TransientFailure):
        provider.find_sent("<kept@sender.test>")
    assert (
        provider.searched
        == ["<kept@sender.test>", "<other@sender.test>"] + ["<kept@sender.test>"] * 2
    )
