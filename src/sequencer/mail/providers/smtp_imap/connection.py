"""Where an SMTP or IMAP server is, and what a failed connection to it means."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientAbortError

from sequencer.mail.providers.errors import MailboxFailure, ProviderError, TransientFailure

DEFAULT_TIMEOUT = 30.0
# RFC 5321 §4.5.3.2.6 asks clients to wait up to 10 minutes for the reply to the final
# "."; servers scan content then. Waiting that long would hold a worker, and a lost reply
# is settled by the Sent-folder search anyway, so wait two minutes.
DEFAULT_FINAL_REPLY_TIMEOUT = 120.0

SECURITY_WORDS = {"none": "without encryption", "starttls": "with STARTTLS", "tls": "over TLS"}


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    security: str = "starttls"  # none | starttls | tls
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Account:
    """How one mailbox signs in to one server."""

    email: str
    server: ServerSettings
    access_token: str | None
    timeout: float
    ssl_context: ssl.SSLContext | None

    @property
    def user(self) -> str:
        return self.server.username or self.email

    def tls(self) -> ssl.SSLContext:
        # Certificates are verified against the system's CAs (RFC 8314 §5.2 wants
        # clients to check the server identity); tests pass a context trusting their CA.
        return self.ssl_context or ssl.create_default_context()


def timed_out(exc: BaseException) -> bool:
    # smtplib reports a timeout while reading a reply as "disconnected"; the cause is
    # kept as the exception's context.
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def network_error(
    exc: BaseException, server: ServerSettings, what: str, timeout: float
) -> ProviderError:
    """The classified failure for a connection to ``server`` (``what``: SMTP or IMAP)."""
    where = f"{what} server {server.address}"
    if isinstance(exc, ConnectionRefusedError):
        return TransientFailure(
            f"Connection refused at {server.address}: nothing accepts {what} connections "
            "there. Check the host and port."
        )
    if timed_out(exc):
        return TransientFailure(
            f"Timed out after {timeout:g} s waiting for the {where}. Check the host, "
            "the port and any firewall."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailboxFailure(
            f"TLS handshake failed with the {where}: its certificate is not trusted "
            f"({exc.verify_message}).",
            problem="connection",
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        return MailboxFailure(
            f"TLS handshake failed with the {where} ({reason}). Check the security "
            "setting: 'tls' for implicit TLS (ports 465, 993), 'starttls' for ports 587 "
            "and 143.",
            problem="connection",
        )
    if isinstance(exc, socket.gaierror):
        return TransientFailure(f"Cannot resolve the host name {server.host!r}: {exc}.")
    if isinstance(exc, smtplib.SMTPServerDisconnected | IMAPClientAbortError | EOFError):
        return TransientFailure(f"The {where} closed the connection unexpectedly ({exc}).")
    if isinstance(exc, OSError):
        return TransientFailure(f"Cannot connect to the {where}: {exc.strerror or exc}.")
    return TransientFailure(f"The {where} failed: {exc}.")
