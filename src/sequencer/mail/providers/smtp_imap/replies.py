"""What an SMTP server's refusal means for the engine.

SMTP replies are classified by their enhanced status code (RFC 3463, ``class.subject.
detail``) when the server gives one (RFC 2034), else by the basic reply code and the
stage of the transaction it answered (RFC 5321 §4.2).
"""

from __future__ import annotations

import re
from typing import Literal

from sequencer.mail.providers.errors import (
    QUOTA_PAUSE_SECONDS,
    MailboxFailure,
    MailboxProblem,
    MessageRejected,
    ProviderError,
    RecipientRejected,
    TransientFailure,
)

Stage = Literal["connect", "auth", "mail", "rcpt", "data", "end_of_data"]

# RFC 3463 §2: class "." subject "." detail, at the start of the reply text.
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")


def reply_text(raw: bytes | str) -> str:
    """A server's reply as one line of text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def enhanced_code(text: str) -> tuple[int, int, int] | None:
    """The RFC 3463 code at the start of a reply's text (``"5.1.1 No such user"``)."""
    match = _ENHANCED.match(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _describe(code: int, text: str) -> str:
    text = " ".join(text.split())
    return f"{code} {text}".strip()


def classify_smtp_reply(
    code: int, text: str, *, stage: Stage, recipient: str | None = None
) -> ProviderError:
    """The exception for an SMTP reply that refused the transaction at ``stage``."""
    reply = _describe(code, text)
    enhanced = enhanced_code(text)
    esc = ".".join(map(str, enhanced)) if enhanced else None
    where = f" (recipient {recipient})" if recipient else ""

    def transient() -> ProviderError:
        return TransientFailure(
            f"The server asked to try again later: {reply}", reply_code=code, enhanced_code=esc
        )

    def mailbox(problem: MailboxProblem, what: str, pause: float | None = None) -> ProviderError:
        return MailboxFailure(
            f"{what}: {reply}",
            problem=problem,
            pause_seconds=pause,
            reply_code=code,
            enhanced_code=esc,
        )

    def bounced() -> ProviderError:
        return RecipientRejected(
            f"The recipient was rejected{where}: {reply}",
            recipient=recipient,
            reply_code=code,
            enhanced_code=esc,
        )

    def refused_message() -> ProviderError:
        return MessageRejected(
            f"The server refused the message: {reply}", reply_code=code, enhanced_code=esc
        )

    # A 4yz basic code or a 4.x.x enhanced code is a transient condition (RFC 5321
    # §4.2.1, RFC 3463 §3.1). 421 means the server is closing the channel.
    if 400 <= code < 500 or (enhanced and enhanced[0] == 4):
        return transient()

    auth_codes = (530, 534, 535, 538)  # RFC 4954 §6
    if enhanced:
        _, subject, detail = enhanced
        # X.7.X security or policy. Bad credentials are 535 5.7.8 (also 5.7.9 mechanism
        # too weak, 5.7.11 encryption required); any other policy refusal ("554 5.7.1
        # message refused") means the provider blocks this mailbox's mail: stop, let a
        # person look.
        if subject == 7:
            if stage == "auth" or code in auth_codes or detail in (8, 9, 11):
                return mailbox("auth", "The server rejected the mailbox's credentials")
            return mailbox("policy", "The server refused the mail by policy")
        # 5.4.5 is "mail system congestion" in RFC 3463, but Gmail and Google Workspace
        # answer "550 5.4.5 Daily user sending limit exceeded": a quota of the sending
        # mailbox, lifted within 24 hours.
        if (subject, detail) == (4, 5):
            return mailbox(
                "quota", "The mailbox reached its provider's sending quota", QUOTA_PAUSE_SECONDS
            )
        # X.1.7 and X.1.8: the *sender's* address is bad (RFC 3463 §3.2).
        if subject == 1 and detail in (7, 8):
            return mailbox("sender", "The server refused the sender address")
        # X.6.X media (content), X.3.4 and X.2.3 message too big: this message only.
        if subject == 6 or (subject, detail) in ((3, 4), (2, 3)):
            return refused_message()
        # X.1.X addressing, X.2.X the recipient's mailbox, X.3.X / X.4.X the recipient's
        # system or route, X.5.X protocol errors about an address at RCPT: a bounce.
        if subject in (1, 2, 3, 4) or (subject == 5 and stage == "rcpt"):
            return bounced()

    # No (decisive) enhanced code: decide by the basic code and the stage.
    if stage == "auth" or code in auth_codes:
        return mailbox("auth", "The server rejected the mailbox's credentials")
    if stage == "rcpt" and code in (501, 550, 551, 552, 553):
        return bounced()
    if stage == "mail":
        return mailbox("sender", "The server refused the sender address")
    if code == 552:
        return refused_message()
    return mailbox("policy", "The server refused the mail")
