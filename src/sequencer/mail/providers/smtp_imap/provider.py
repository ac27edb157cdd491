"""The SMTP + IMAP provider: what a desktop mail client does.

It submits the message over SMTP (RFC 6409) with the member's credentials, then APPENDs
a copy, flagged ``\\Seen``, to the IMAP Sent folder (RFC 9051 §6.3.12) so it shows up
with the member's other sent mail.

What ``find_sent`` can prove depends on who files the Sent copy. Gmail and Microsoft 365
file every message submitted over SMTP themselves, so a search settles an unknown
outcome. A plain SMTP server does not: the only copy is the one this provider APPENDs
after the server accepted, so a send that ended in :class:`OutcomeUnknown` (or a worker
that died between the server's "250" and the APPEND) is *not* found even if it was
delivered. The engine should treat "not found" for such mailboxes as "unknown", not as
"safe to resend".
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from sequencer.mail.providers.base import (
    ConnectionReport,
    Meanwhile,
    SendResult,
    ThreadRef,
    message_bytes,
)
from sequencer.mail.providers.errors import MessageRejected
from sequencer.mail.providers.smtp_imap.checks import check_reading, check_sending
from sequencer.mail.providers.smtp_imap.connection import (
    DEFAULT_FINAL_REPLY_TIMEOUT,
    DEFAULT_TIMEOUT,
    Account,
    ServerSettings,
)
from sequencer.mail.providers.smtp_imap.imap import ImapFolders
from sequencer.mail.providers.smtp_imap.smtp import SmtpSubmission
from sequencer.mail.wire_check import Addressing

log = logging.getLogger(__name__)


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The addresses of ``To``, ``Cc`` and ``Bcc``, read from the parsed headers (never
    from their text again, which would read a display name a second time)."""
    addressing = getattr(message, "addressing", None)
    copied = message.get("Cc") is not None or message.get("Bcc") is not None
    if isinstance(addressing, Addressing) and not copied:
        # A composed message whose bytes were checked against whom it was asked to go
        # to (wire_bytes): the same addresses, without parsing its headers once more.
        return [*addressing.to, *addressing.cc]
    found: list[str] = []
    for key in ("To", "Cc", "Bcc"):
        for value in message.get_all(key, []):
            addresses = getattr(value, "addresses", None)
            if addresses is None:  # a compat32 message: plain strings
                found += [addr for _, addr in getaddresses([str(value)]) if addr]
            else:
                found += [a.addr_spec for a in addresses if a.addr_spec]
    return found


class SmtpImapProvider:
    """A mailbox reached over SMTP (sending) and, optionally, IMAP (Sent folder)."""

    def __init__(
        self,
        *,
        email: str,
        smtp: ServerSettings,
        imap: ServerSettings | None = None,
        sent_folder: str | None = "Sent",
        access_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        final_reply_timeout: float = DEFAULT_FINAL_REPLY_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        append_to_sent: bool = True,
    ) -> None:
        self.email = email
        self.smtp = smtp
        self.imap = imap
        self.sent_folder = sent_folder or "Sent"
        self.append_to_sent = append_to_sent
        self.access_token = access_token
        self.timeout = timeout
        self._submission = SmtpSubmission(
            Account(email, smtp, access_token, timeout, ssl_context),
            final_reply_timeout=final_reply_timeout,
        )
        self._folders = (
            ImapFolders(
                Account(email, imap, access_token, timeout, ssl_context),
                sent_folder=self.sent_folder,
            )
            if imap is not None
            else None
        )

    def hold_connection(self) -> None:
        """Keep the SMTP session open after each successful send, for the next one, until
        :meth:`close`: one connection, TLS handshake and login for several messages, as
        a mail client sends them. The worker holds it for one mailbox's emails of a tick.

        A held session the server has meanwhile closed (its idle timeout, or a "421" to
        the next MAIL) is replaced once by a new one; nothing was sent on it, since MAIL
        is the first command of a transaction. After any failed send the session is
        dropped, never reused.
        """
        self._submission.hold()

    def close(self) -> None:
        """End the held session (QUIT) and stop holding."""
        self._submission.close()

    # -- MailProvider ----------------------------------------------------------------

    def send(
        self,
        message: EmailMessage,
        *,
        thread: ThreadRef | None = None,
        meanwhile: Meanwhile | None = None,
    ) -> SendResult:
        # SMTP threads by the message's own In-Reply-To/References: ``thread`` is unused.
        data = message_bytes(message)
        recipients = envelope_recipients(message)
        if not recipients:
            raise MessageRejected("The message has no recipient (To, Cc or Bcc).")
        reply = self._submission.submit(recipients, data, meanwhile)
        self._append_sent_copy(data, message)
        return SendResult(server_reply=reply)

    def _append_sent_copy(self, data: bytes, message: EmailMessage) -> None:
        if self._folders is None or not self.append_to_sent:
            return
        try:
            when = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
        except (TypeError, ValueError):
            when = None
        try:
            self._folders.append_sent(data, when)
        except Exception:
            # The message is sent; a missing Sent copy must not make the engine resend it.
            log.warning(
                "Sent %s from %s but could not file the copy in IMAP folder %r",
                message["Message-ID"],
                self.email,
                self.sent_folder,
                exc_info=True,
            )

    def find_sent(self, message_id: str) -> bool | None:
        """Whether the Sent folder holds ``message_id`` (see the module's note on what a
        False proves); None without IMAP. Raises :class:`TransientFailure` or
        :class:`MailboxFailure` when IMAP cannot be reached or refuses the login."""
        if self._folders is None:
            return None
        return self._folders.holds_sent(message_id)

    def test_connection(self) -> ConnectionReport:
        sending = check_sending(self._submission)
        reading, folder = check_reading(self._folders)
        return ConnectionReport(sending=sending, reading=reading, sent_folder=folder)
