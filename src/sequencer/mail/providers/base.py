"""The one interface every mail provider implements (SMTP + IMAP, Gmail API, Graph).

The engine only talks to :class:`MailProvider`. ``send`` either returns (the provider
accepted the message) or raises one of :mod:`sequencer.mail.providers.errors`, whose
class tells the engine what to do; ``find_sent`` settles an ``unknown`` delivery by
looking for its Message-ID among the mailbox's sent mail before anything is resent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sequencer.mail.compose import wire_bytes
from sequencer.mail.providers.errors import MessageRejected
from sequencer.mail.wire_check import WireCheckError


@dataclass(frozen=True)
class ThreadRef:
    """Where a follow-up belongs, as each provider needs to know it.

    SMTP threads by the ``In-Reply-To``/``References`` headers already in the message
    (RFC 5322 §3.6.4); Gmail also wants its ``threadId``; Graph replies to the previous
    message's id (``createReply``).
    """

    message_id: str | None = None  # RFC 5322 Message-ID of the message replied to
    provider_message_id: str | None = None  # Gmail/Graph id of that message
    thread_id: str | None = None  # Gmail threadId / Graph conversationId


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None = None
    thread_id: str | None = None
    # The provider's own words on acceptance ("250 2.0.0 Ok: queued as 4F2..."), for the log.
    server_reply: str | None = None


@dataclass(frozen=True)
class Check:
    """One connection's verdict. ``ok`` is None when there is nothing to check."""

    ok: bool | None
    message: str
    # Where a failed check stopped, for people fixing it: "connect", "tls", "login",
    # "send" (the server refused the sender) or "imap". None when passed, or when the
    # provider cannot tell (the Gmail and Graph sign-ins).
    step: str | None = None


@dataclass(frozen=True)
class ConnectionReport:
    """What a connection test found, in the same terms for every provider.

    ``sending``: whether the mailbox can send as its address (SMTP submission, or the
    Gmail/Graph sign-in and its permission to send). ``reading``: whether its mail can
    be read, so that replies are detected and a send whose outcome is unknown can be
    looked up (IMAP, or the API's search of sent mail); ``ok`` None when nothing is
    configured for reading.
    """

    sending: Check
    reading: Check
    # The folder that holds sent mail, when the reading check found one (IMAP).
    sent_folder: str | None = None
    # Whether the mailbox's address is proven (sequencer.mail.proof); set by the
    # connection test service, not by providers.
    address: Check | None = None

    @property
    def ok(self) -> bool:
        return bool(self.sending.ok) and self.reading.ok is not False


# Work a caller lends to a provider's waits (see MailProvider.send): it takes nothing,
# returns nothing and never raises.
Meanwhile = Callable[[], None]


class MailProvider(Protocol):
    def send(
        self,
        message: EmailMessage,
        *,
        thread: ThreadRef | None = None,
        meanwhile: Meanwhile | None = None,
    ) -> SendResult:
        """Send ``message``; raise a classified :class:`ProviderError` subclass if not.

        ``meanwhile`` is work the caller lends the provider's waits to: a provider that
        talks to its server step by step (SMTP) may call it once per step, after sending
        and before reading the answer; it never raises. Others ignore it.
        """
        ...

    def find_sent(self, message_id: str) -> bool | None:
        """True if the sent mail holds ``message_id``, False if not, None if it cannot
        be searched (no IMAP). Raises :class:`TransientFailure` when the search failed."""
        ...

    def test_connection(self) -> ConnectionReport: ...


def message_bytes(message: EmailMessage) -> bytes:
    """The bytes to hand over, checked (see :mod:`sequencer.mail.wire_check`); a message
    that fails the check is this email's failure, and nothing is sent."""
    try:
        return wire_bytes(message)
    except WireCheckError as exc:
        raise MessageRejected(f"Not sent: {exc}") from exc
