"""Send through any SMTP submission server; file and find sent mail over IMAP.

This is what a desktop mail client does: submit the message over SMTP (RFC 6409) with
the member's credentials, then APPEND a copy, flagged ``\\Seen``, to the IMAP Sent folder
(RFC 9051 §6.3.12) so it shows up with the member's other sent mail.

The SMTP transaction is driven step by step (MAIL, RCPT, DATA) instead of through
``smtplib.sendmail`` because the engine needs to know *when* a connection broke: before
the final ``.`` of DATA nothing can have been accepted (retry), after it the server may
have accepted the message (look in the Sent folder before any resend).

What ``find_sent`` can prove depends on who files the Sent copy. Gmail and Microsoft 365
file every message submitted over SMTP themselves, so a search settles an unknown
outcome. A plain SMTP server does not: the only copy is the one this provider APPENDs
after the server accepted, so a send that ended in :class:`OutcomeUnknown` (or a worker
that died between the server's "250" and the APPEND) is *not* found even if it was
delivered. The engine should treat "not found" for such mailboxes as "unknown", not as
"safe to resend".
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SENT

from sequencer.mail.providers.base import (
    Check,
    ConnectionReport,
    SendResult,
    ThreadRef,
    message_bytes,
)
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    ProviderError,
    TransientFailure,
    classify_smtp_reply,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
# RFC 5321 §4.5.3.2.6 asks clients to wait up to 10 minutes for the reply to the final
# "."; servers scan content then. Waiting that long would hold a worker, and a lost reply
# is settled by the Sent-folder search anyway, so wait two minutes.
DEFAULT_FINAL_REPLY_TIMEOUT = 120.0

_SECURITY_WORDS = {"none": "without encryption", "starttls": "with STARTTLS", "tls": "over TLS"}


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


def _ehlo_name(sender: str) -> str:
    # smtplib would call socket.getfqdn(), a reverse DNS lookup that can hang for
    # seconds in a container. Submission servers do not check the EHLO name of an
    # authenticated client, so the host name or the sender's domain does.
    host = socket.gethostname()
    return host if "." in host else (sender.rpartition("@")[2] or "localhost")


def _dot_stuffed(data: bytes) -> bytes:
    """``data`` with CRLF line ends and leading dots doubled, ended by ``CRLF.CRLF``.

    RFC 5321 §4.5.2: a line that starts with "." gets one more, so that no line of the
    message can look like the end-of-data marker.
    """
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def _xoauth2(user: str, token: str) -> str:
    # https://developers.google.com/gmail/imap/xoauth2-protocol (also Microsoft 365).
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def _imap_error_text(exc: BaseException) -> str:
    text = str(exc)
    # imapclient puts the server's bytes in the message: "b'[AUTHENTICATIONFAILED] ...'".
    match = re.fullmatch(r"b(['\"])(.*)\1", text)
    return match.group(2) if match else text


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
        self.access_token = access_token
        self.timeout = timeout
        self.final_reply_timeout = max(final_reply_timeout, timeout)
        self._ssl_context = ssl_context
        self.append_to_sent = append_to_sent
        # See hold_connection: the session a successful send left open for the next one.
        self._hold = False
        self._held: smtplib.SMTP | None = None

    # -- connections -----------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        # Certificates are verified against the system's CAs (RFC 8314 §5.2 wants
        # clients to check the server identity); tests pass a context trusting their CA.
        return self._ssl_context or ssl.create_default_context()

    def _network_error(
        self, exc: BaseException, server: ServerSettings, what: str
    ) -> ProviderError:
        where = f"{what} server {server.address}"
        if isinstance(exc, ConnectionRefusedError):
            return TransientFailure(
                f"Connection refused at {server.address}: nothing accepts {what} connections "
                "there. Check the host and port."
            )
        # smtplib reports a timeout while reading a reply as "disconnected"; the cause
        # is kept as the exception's context.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return TransientFailure(
                f"Timed out after {self.timeout:g} s waiting for the {where}. Check the host, "
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

    def _open_smtp(self) -> smtplib.SMTP:
        """A connected, encrypted (as configured) and authenticated SMTP session."""
        server = self.smtp
        try:
            conn: smtplib.SMTP
            if server.security == "tls":
                conn = smtplib.SMTP_SSL(
                    server.host,
                    server.port,
                    local_hostname=_ehlo_name(self.email),
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                conn = smtplib.SMTP(
                    server.host,
                    server.port,
                    local_hostname=_ehlo_name(self.email),
                    timeout=self.timeout,
                )
        except smtplib.SMTPConnectError as exc:
            # The greeting was not 220 (RFC 5321 §4.2: a 554 greeting refuses service).
            raise classify_smtp_reply(
                exc.smtp_code, _reply_text(exc.smtp_error), stage="connect"
            ) from exc
        except OSError as exc:
            raise self._network_error(exc, server, "SMTP") from exc
        try:
            conn.ehlo()
            if server.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise MailboxFailure(
                        f"The SMTP server {server.address} does not offer STARTTLS; choose "
                        "security 'tls' or 'none' (only on a trusted network).",
                        problem="connection",
                    )
                conn.starttls(context=self._context())
                conn.ehlo()
            self._smtp_login(conn)
        except ProviderError:
            conn.close()
            raise
        except smtplib.SMTPResponseException as exc:
            conn.close()
            raise classify_smtp_reply(
                exc.smtp_code, _reply_text(exc.smtp_error), stage="auth"
            ) from exc
        except OSError as exc:
            conn.close()
            raise self._network_error(exc, server, "SMTP") from exc
        return conn

    def _smtp_login(self, conn: smtplib.SMTP) -> None:
        server = self.smtp
        user = server.username or self.email
        if self.access_token:
            # SASL XOAUTH2 with the initial response. On a bad token the server sends a
            # 334 challenge holding a JSON error; the client answers with an empty line
            # and gets the final 535 (Google's documented flow).
            code, reply = conn.docmd("AUTH", "XOAUTH2 " + _xoauth2(user, self.access_token))
            detail = ""
            if code == 334:
                with contextlib.suppress(ValueError):
                    detail = f"; details: {json.dumps(json.loads(base64.b64decode(reply)))}"
                code, reply = conn.docmd("")
            if 400 <= code < 500:
                raise classify_smtp_reply(code, _reply_text(reply), stage="auth")
            if code != 235:
                raise MailboxFailure(
                    f"Authentication rejected ({code} {_reply_text(reply)}) for the OAuth2 "
                    f"user {user!r} at {server.address}{detail}. Reconnect the mailbox to "
                    "renew its access.",
                    problem="auth",
                    smtp_code=code,
                )
            return
        if not server.password:
            return  # no credentials: the server must accept mail without AUTH
        if not conn.has_extn("auth"):
            raise MailboxFailure(
                f"The SMTP server {server.address} does not offer authentication (AUTH) on "
                "this connection; most servers offer it only after STARTTLS.",
                problem="auth",
            )
        try:
            conn.login(user, server.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailboxFailure(
                f"Authentication rejected ({exc.smtp_code} {_reply_text(exc.smtp_error)}) for "
                f"user {user!r} at {server.address}. Check the username and password (many "
                "providers need an app password).",
                problem="auth",
                smtp_code=exc.smtp_code,
            ) from exc
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPServerDisconnected):
                raise
            raise MailboxFailure(
                f"Authentication with {server.address} failed: {exc}", problem="auth"
            ) from exc

    @contextlib.contextmanager
    def _imap_session(self) -> Iterator[imapclient.IMAPClient]:
        server = self.imap
        if server is None:
            raise MailboxFailure("No IMAP server is configured.", problem="connection")
        try:
            client = imapclient.IMAPClient(
                server.host,
                server.port,
                ssl=server.security == "tls",
                ssl_context=self._context() if server.security == "tls" else None,
                timeout=self.timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise self._network_error(exc, server, "IMAP") from exc
        try:
            user = server.username or self.email
            try:
                if server.security == "starttls":
                    client.starttls(self._context())
                if self.access_token:
                    client.oauth2_login(user, self.access_token)
                elif server.password:
                    client.login(user, server.password)
                else:
                    raise MailboxFailure(
                        f"IMAP login failed at {server.address}: no username and password "
                        "(or OAuth token) is configured for IMAP.",
                        problem="auth",
                    )
            except LoginError as exc:
                raise MailboxFailure(
                    f"IMAP login failed for user {user!r} at {server.address}: "
                    f"{_imap_error_text(exc)}",
                    problem="auth",
                ) from exc
            except (OSError, IMAPClientAbortError) as exc:
                raise self._network_error(exc, server, "IMAP") from exc
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()
            with contextlib.suppress(Exception):
                client.shutdown()

    def _discover_sent_folder(self, client: imapclient.IMAPClient) -> str | None:
        # The \Sent attribute (RFC 6154 §2) is authoritative; then the folder already
        # configured; then the names clients commonly use.
        for flags, _, name in client.list_folders():
            if SENT in flags:
                return str(name)
        if client.folder_exists(self.sent_folder):
            return self.sent_folder
        found = client.find_special_folder(SENT)
        return str(found) if found else None

    def hold_connection(self) -> None:
        """Keep the SMTP session open after each successful send, for the next one, until
        :meth:`close`: one connection, TLS handshake and login for several messages, as
        a mail client sends them. The worker holds it for one mailbox's emails of a tick.

        A held session the server has meanwhile closed (its idle timeout, or a "421" to
        the next MAIL) is replaced once by a new one; nothing was sent on it, since MAIL
        is the first command of a transaction. After any failed send the session is
        dropped, never reused.
        """
        self._hold = True

    def close(self) -> None:
        """End the held session (QUIT) and stop holding."""
        self._hold = False
        conn, self._held = self._held, None
        if conn is not None:
            _quit(conn)

    # -- MailProvider ----------------------------------------------------------------

    def send(self, message: EmailMessage, *, thread: ThreadRef | None = None) -> SendResult:
        # SMTP threads by the message's own In-Reply-To/References: ``thread`` is unused.
        recipients = [
            addr
            for _, addr in getaddresses(
                [str(v) for key in ("To", "Cc", "Bcc") for v in message.get_all(key, [])]
            )
            if addr
        ]
        if not recipients:
            raise MessageRejected("The message has no recipient (To, Cc or Bcc).")
        data = message_bytes(message)
        reply = self._submit(recipients, data)
        self._append_sent_copy(data, message)
        return SendResult(server_reply=reply)

    def _submit(self, recipients: list[str], data: bytes) -> str:
        """One SMTP transaction, on the held session if there is one, else on a new one."""
        reply: str | None = None
        conn, self._held = self._held, None
        if conn is not None:
            try:
                reply = self._transaction(conn, recipients, data, reused=True)
            except _StaleSession:
                conn.close()  # closed by the server while idle: nothing was sent on it
                conn = None
            except ProviderError:
                conn.close()
                raise
        if conn is None:
            conn = self._open_smtp()
            try:
                reply = self._transaction(conn, recipients, data)
            except ProviderError:
                # No QUIT: after a failure the server may be gone or hanging.
                conn.close()
                raise
        assert reply is not None
        if self._hold:
            self._held = conn
        else:
            _quit(conn)
        return reply

    def _transaction(
        self, conn: smtplib.SMTP, recipients: list[str], data: bytes, *, reused: bool = False
    ) -> str:
        server = self.smtp
        try:
            if conn.sock is not None:
                # A held session's socket still has the longer wait of the last final reply.
                conn.sock.settimeout(self.timeout)
            try:
                code, reply = conn.mail(self.email)
            except OSError:
                if reused:
                    raise _StaleSession() from None
                raise
            if code == 421 and reused:
                raise _StaleSession()
            if code != 250:
                raise classify_smtp_reply(code, _reply_text(reply), stage="mail")
            for recipient in recipients:
                code, reply = conn.rcpt(recipient)
                if code not in (250, 251):
                    raise classify_smtp_reply(
                        code, _reply_text(reply), stage="rcpt", recipient=recipient
                    )
            code, reply = conn.docmd("DATA")
            if code != 354:
                raise classify_smtp_reply(code, _reply_text(reply), stage="data")
            # If this raises, the final "." did not leave: nothing can have been accepted.
            conn.send(_dot_stuffed(data))
        except OSError as exc:
            raise self._network_error(exc, server, "SMTP") from exc
        try:
            if conn.sock is not None:
                conn.sock.settimeout(self.final_reply_timeout)
            code, reply = conn.getreply()
        except OSError as exc:
            timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
            what = (
                f"timed out after {self.final_reply_timeout:g} s"
                if timed_out
                else "the connection was lost"
            )
            raise OutcomeUnknown(
                f"The whole message was sent to {server.address}, but {what} before the "
                "server confirmed it: it may or may not have been accepted."
            ) from exc
        if code != 250:
            raise classify_smtp_reply(code, _reply_text(reply), stage="end_of_data")
        return f"{code} {_reply_text(reply)}"

    def _append_sent_copy(self, data: bytes, message: EmailMessage) -> None:
        if self.imap is None or not self.append_to_sent:
            return
        try:
            when = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
        except (TypeError, ValueError):
            when = None
        try:
            with self._imap_session() as client:
                try:
                    client.append(self.sent_folder, data, flags=[imapclient.SEEN], msg_time=when)
                except IMAPClientError as exc:
                    # RFC 9051 §6.3.12: [TRYCREATE] means the folder does not exist yet;
                    # a mail client creates it and appends again.
                    if "TRYCREATE" not in str(exc).upper():
                        raise
                    client.create_folder(self.sent_folder)
                    client.append(self.sent_folder, data, flags=[imapclient.SEEN], msg_time=when)
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
        False proves). Raises :class:`TransientFailure` or :class:`MailboxFailure` when
        IMAP cannot be reached or refuses the login."""
        if self.imap is None:
            return None
        wanted = message_id.strip()
        if not wanted.startswith("<"):
            wanted = f"<{wanted}>"
        try:
            with self._imap_session() as client:
                folder = self.sent_folder
                if not client.folder_exists(folder):
                    found = self._discover_sent_folder(client)
                    if found is None:
                        return False
                    folder = found
                client.select_folder(folder, readonly=True)
                # SEARCH HEADER matches a substring of the field (RFC 9051 §6.4.4); the
                # angle brackets keep one id from matching inside another.
                return bool(client.search(["HEADER", "Message-ID", wanted]))
        except ProviderError:
            raise
        except (OSError, IMAPClientError) as exc:
            assert self.imap is not None
            raise self._network_error(exc, self.imap, "IMAP") from exc

    def test_connection(self) -> ConnectionReport:
        smtp = self._check_smtp()
        imap, folder = self._check_imap()
        return ConnectionReport(smtp=smtp, imap=imap, sent_folder=folder)

    def _check_smtp(self) -> Check:
        server = self.smtp
        try:
            conn = self._open_smtp()
        except ProviderError as exc:
            return Check(False, exc.message)
        try:
            # Ask whether this sender would be accepted, then cancel (RFC 5321 §4.1.1.5):
            # a server that needs AUTH says so here ("530 5.7.0 Authentication required").
            code, reply = conn.mail(self.email)
            if code != 250:
                conn.close()
                return Check(
                    False,
                    f"Connected to {server.address}, but the server refused the sender "
                    f"{self.email}: {code} {_reply_text(reply)}",
                )
            conn.rset()
        except OSError as exc:
            conn.close()
            return Check(False, self._network_error(exc, server, "SMTP").message)
        _quit(conn)
        if self.access_token:
            how = f"signed in with OAuth2 as {server.username or self.email}"
        elif server.password:
            how = f"signed in as {server.username or self.email}"
        else:
            how = "the server accepts mail without authentication"
        return Check(
            True,
            f"Connected to {server.address} {_SECURITY_WORDS.get(server.security, '')}; {how}.",
        )

    def _check_imap(self) -> tuple[Check, str | None]:
        server = self.imap
        if server is None:
            return (
                Check(
                    None,
                    "No IMAP server is configured: replies, bounces and auto-replies cannot be "
                    "detected, and a send whose outcome is unknown cannot be checked.",
                ),
                None,
            )
        try:
            with self._imap_session() as client:
                folder = self._discover_sent_folder(client)
        except ProviderError as exc:
            return Check(False, exc.message), None
        except (OSError, IMAPClientError) as exc:
            return Check(False, self._network_error(exc, server, "IMAP").message), None
        user = server.username or self.email
        if folder is None:
            return (
                Check(
                    False,
                    f"Signed in to IMAP at {server.address} as {user}, but no Sent folder found: "
                    "no folder has the \\Sent attribute (RFC 6154) or a usual name such as "
                    "'Sent'. Create a folder named 'Sent' in your mail client.",
                ),
                None,
            )
        return (
            Check(
                True,
                f"Signed in to IMAP at {server.address} as {user}; sent mail is filed in "
                f"{folder!r}.",
            ),
            folder,
        )


class _StaleSession(Exception):
    """A held SMTP session turned out closed at MAIL, before anything was sent on it."""


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except OSError:  # smtplib.SMTPException is an OSError
        conn.close()
