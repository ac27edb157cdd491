"""What went wrong when a provider sent, classified by what the engine must do next.

=====================  ==========================================  =========================
class                  examples                                    the engine ...
=====================  ==========================================  =========================
TransientFailure       SMTP 421/450/451, HTTP 429/5xx, refused     retries later
                       connections, timeouts before the message
                       was handed over
RecipientRejected      SMTP 550 5.1.1 at RCPT, Gmail "Invalid To   marks the recipient bounced
                       header", Graph ErrorInvalidRecipients
MailboxFailure         bad credentials, a used-up sending quota,   pauses or disconnects the
                       a policy block, TLS failures                mailbox
MessageRejected        content refused, too big, a message that    fails this one email
                       fails the wire check
OutcomeUnknown         connection lost after the whole message     looks for the Message-ID in
                       was handed over                             the sent mail first
=====================  ==========================================  =========================

Each provider classifies its own protocol's answers (SMTP replies in
:mod:`sequencer.mail.providers.smtp_imap.replies`, the APIs' errors in their modules);
``reply_code`` keeps the server's own code (an SMTP reply code or an HTTP status).
"""

from __future__ import annotations

from typing import Literal

# How long a mailbox should rest after the provider reports its daily quota used up
# (Gmail "550 5.4.5 Daily user sending limit exceeded" lifts within 24 hours).
QUOTA_PAUSE_SECONDS = 24 * 3600


class ProviderError(Exception):
    """Base of every classified failure; ``message`` says what happened, for people.
    ``reply_code``: the server's code (SMTP reply code or HTTP status), when there was
    one; ``enhanced_code``: an SMTP enhanced status code (RFC 3463), when given."""

    def __init__(
        self, message: str, *, reply_code: int | None = None, enhanced_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reply_code = reply_code
        self.enhanced_code = enhanced_code


class TransientFailure(ProviderError):
    """Not sent; trying again later may work. ``retry_after`` in seconds when known."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        reply_code: int | None = None,
        enhanced_code: str | None = None,
    ) -> None:
        super().__init__(message, reply_code=reply_code, enhanced_code=enhanced_code)
        self.retry_after = retry_after


class PermanentFailure(ProviderError):
    """Not sent, and sending the same email again the same way will fail again."""


class RecipientRejected(PermanentFailure):
    """The recipient's address does not accept mail: the recipient bounces."""

    def __init__(
        self,
        message: str,
        *,
        recipient: str | None = None,
        reply_code: int | None = None,
        enhanced_code: str | None = None,
    ) -> None:
        super().__init__(message, reply_code=reply_code, enhanced_code=enhanced_code)
        self.recipient = recipient


MailboxProblem = Literal["auth", "quota", "policy", "sender", "connection"]


class MailboxFailure(PermanentFailure):
    """The sending mailbox cannot send now: pause it (``pause_seconds``) or, when
    ``pause_seconds`` is None, disconnect it until a person fixes it."""

    def __init__(
        self,
        message: str,
        *,
        problem: MailboxProblem,
        pause_seconds: float | None = None,
        reply_code: int | None = None,
        enhanced_code: str | None = None,
    ) -> None:
        super().__init__(message, reply_code=reply_code, enhanced_code=enhanced_code)
        self.problem = problem
        self.pause_seconds = pause_seconds


class MessageRejected(PermanentFailure):
    """This message's content is refused (too big, bad media type); others may pass."""


class OutcomeUnknown(ProviderError):
    """The connection broke after the whole message was handed over (after the final
    '.' of DATA, RFC 5321 §4.1.1.4): the server may or may not have accepted it."""
