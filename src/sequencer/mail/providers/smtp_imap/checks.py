"""The connection test of an SMTP + IMAP mailbox: can it send, and can its mail be read."""

from __future__ import annotations

import ssl

from imapclient.exceptions import IMAPClientError

from sequencer.mail.providers.base import Check
from sequencer.mail.providers.errors import MailboxFailure, ProviderError
from sequencer.mail.providers.smtp_imap.connection import SECURITY_WORDS
from sequencer.mail.providers.smtp_imap.imap import ImapFolders
from sequencer.mail.providers.smtp_imap.replies import reply_text
from sequencer.mail.providers.smtp_imap.smtp import SmtpSubmission, quit_session

NO_IMAP = (
    "No IMAP server is configured: replies, bounces and auto-replies cannot be detected, "
    "and a send whose outcome is unknown cannot be checked."
)


def _opening_step(exc: ProviderError) -> str:
    """Which step of opening a session failed: the sign-in, the encryption, or reaching
    the server at all (refused, timed out, unknown host, a refusing greeting)."""
    if isinstance(exc, MailboxFailure) and exc.problem == "auth":
        return "login"
    if isinstance(exc.__cause__, ssl.SSLError) or "STARTTLS" in exc.message:
        return "tls"
    return "connect"


def check_sending(smtp: SmtpSubmission) -> Check:
    """Sign in, and ask whether the mailbox's address would be accepted as sender."""
    account, server = smtp.account, smtp.account.server
    try:
        conn = smtp.open()
    except ProviderError as exc:
        return Check(False, exc.message, step=_opening_step(exc))
    try:
        # Ask whether this sender would be accepted, then cancel (RFC 5321 §4.1.1.5):
        # a server that needs AUTH says so here ("530 5.7.0 Authentication required").
        code, reply = conn.mail(account.email)
        if code != 250:
            conn.close()
            return Check(
                False,
                f"Connected to {server.address}, but the server refused the sender "
                f"{account.email}: {code} {reply_text(reply)}",
                step="send",
            )
        conn.rset()
    except OSError as exc:
        conn.close()
        return Check(False, smtp.error(exc).message, step="send")
    quit_session(conn)
    if account.access_token:
        how = f"signed in with OAuth2 as {account.user}"
    elif server.password:
        how = f"signed in as {account.user}"
    else:
        how = "the server accepts mail without authentication"
    return Check(
        True, f"Connected to {server.address} {SECURITY_WORDS.get(server.security, '')}; {how}."
    )


def check_reading(imap: ImapFolders | None) -> tuple[Check, str | None]:
    """Sign in to IMAP and find the Sent folder; the check and the folder found."""
    if imap is None:
        return Check(None, NO_IMAP), None
    server = imap.account.server
    try:
        with imap.session() as client:
            folder = imap.discover_sent_folder(client)
    except ProviderError as exc:
        return Check(False, exc.message, step="imap"), None
    except (OSError, IMAPClientError) as exc:
        return Check(False, imap.error(exc).message, step="imap"), None
    user = imap.account.user
    if folder is None:
        return (
            Check(
                False,
                f"Signed in to IMAP at {server.address} as {user}, but no Sent folder found: "
                "no folder has the \\Sent attribute (RFC 6154) or a usual name such as "
                "'Sent'. Create a folder named 'Sent' in your mail client.",
                step="imap",
            ),
            None,
        )
    return (
        Check(
            True,
            f"Signed in to IMAP at {server.address} as {user}; sent mail is filed in {folder!r}.",
        ),
        folder,
    )
