"""Submitting a message over SMTP (RFC 6409), one transaction at a time.

The transaction is driven step by step (MAIL, RCPT, DATA) instead of through
``smtplib.sendmail`` because the engine needs to know *when* a connection broke: before
the final ``.`` of DATA nothing can have been accepted (retry), after it the server may
have accepted the message (look in the Sent folder before any resend).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import smtplib
import socket

from sequencer import netguard
from sequencer.mail import headers
from sequencer.mail.providers.base import Meanwhile
from sequencer.mail.providers.errors import MailboxFailure, OutcomeUnknown, ProviderError
from sequencer.mail.providers.smtp_imap.connection import Account, network_error, timed_out
from sequencer.mail.providers.smtp_imap.replies import classify_smtp_reply, reply_text


def ehlo_name(sender: str) -> str:
    # smtplib would call socket.getfqdn(), a reverse DNS lookup that can hang for
    # seconds in a container. Submission servers do not check the EHLO name of an
    # authenticated client, so the host name or the sender's domain does.
    host = socket.gethostname()
    return host if "." in host else (sender.rpartition("@")[2] or "localhost")


def dot_stuffed(data: bytes) -> bytes:
    """``data`` with CRLF line ends and leading dots doubled, ended by ``CRLF.CRLF``.

    RFC 5321 §4.5.2: a line that starts with "." gets one more, so that no line of the
    message can look like the end-of-data marker.
    """
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def smtp_path(address: str) -> str:
    """The path of a MAIL FROM or RCPT TO command, ``<address>`` (RFC 5321 §4.1.2):
    what ``smtplib.quoteaddr`` gives, without parsing a plain address
    (:func:`~sequencer.mail.headers.is_plain_address`) again on every command (its
    parser costs more than the rest of the command)."""
    if headers.is_plain_address(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def xoauth2(user: str, token: str) -> str:
    # https://developers.google.com/gmail/imap/xoauth2-protocol (also Microsoft 365).
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def quit_session(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except OSError:  # smtplib.SMTPException is an OSError
        conn.close()


def _no_pause() -> None:
    return None


class _StaleSession(Exception):
    """A held SMTP session turned out closed at MAIL, before anything was sent on it."""


class SmtpSubmission:
    """One mailbox's submission server: sessions, sign-in and transactions."""

    def __init__(self, account: Account, *, final_reply_timeout: float) -> None:
        self.account = account
        self.final_reply_timeout = max(final_reply_timeout, account.timeout)
        # See hold: the session a successful send left open for the next one.
        self._hold = False
        self._held: smtplib.SMTP | None = None

    def error(self, exc: BaseException) -> ProviderError:
        return network_error(exc, self.account.server, "SMTP", self.account.timeout)

    # -- sessions ------------------------------------------------------------------------

    def open(self) -> smtplib.SMTP:
        """A connected, encrypted (as configured) and authenticated SMTP session."""
        account, server = self.account, self.account.server
        if reason := netguard.refusal(server.host, server.port):
            raise MailboxFailure(reason, problem="connection")
        try:
            conn: smtplib.SMTP
            if server.security == "tls":
                conn = smtplib.SMTP_SSL(
                    server.host,
                    server.port,
                    local_hostname=ehlo_name(account.email),
                    timeout=account.timeout,
                    context=account.tls(),
                )
            else:
                conn = smtplib.SMTP(
                    server.host,
                    server.port,
                    local_hostname=ehlo_name(account.email),
                    timeout=account.timeout,
                )
        except smtplib.SMTPConnectError as exc:
            # The greeting was not 220 (RFC 5321 §4.2: a 554 greeting refuses service).
            raise classify_smtp_reply(
                exc.smtp_code, reply_text(exc.smtp_error), stage="connect"
            ) from exc
        except OSError as exc:
            raise self.error(exc) from exc
        try:
            conn.ehlo()
            if server.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise MailboxFailure(
                        f"The SMTP server {server.address} does not offer STARTTLS; choose "
                        "security 'tls' or 'none' (only on a trusted network).",
                        problem="connection",
                    )
                conn.starttls(context=account.tls())
                conn.ehlo()
            self._login(conn)
        except ProviderError:
            conn.close()
            raise
        except smtplib.SMTPResponseException as exc:
            conn.close()
            raise classify_smtp_reply(
                exc.smtp_code, reply_text(exc.smtp_error), stage="auth"
            ) from exc
        except OSError as exc:
            conn.close()
            raise self.error(exc) from exc
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        account, server = self.account, self.account.server
        user = account.user
        if account.access_token:
            self._login_oauth2(conn, user, account.access_token)
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
                f"Authentication rejected ({exc.smtp_code} {reply_text(exc.smtp_error)}) for "
                f"user {user!r} at {server.address}. Check the username and password (many "
                "providers need an app password).",
                problem="auth",
                reply_code=exc.smtp_code,
            ) from exc
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPServerDisconnected):
                raise
            raise MailboxFailure(
                f"Authentication with {server.address} failed: {exc}", problem="auth"
            ) from exc

    def _login_oauth2(self, conn: smtplib.SMTP, user: str, token: str) -> None:
        # SASL XOAUTH2 with the initial response. On a bad token the server sends a 334
        # challenge holding a JSON error; the client answers with an empty line and gets
        # the final 535 (Google's documented flow).
        code, reply = conn.docmd("AUTH", "XOAUTH2 " + xoauth2(user, token))
        detail = ""
        if code == 334:
            with contextlib.suppress(ValueError):
                detail = f"; details: {json.dumps(json.loads(base64.b64decode(reply)))}"
            code, reply = conn.docmd("")
        if 400 <= code < 500:
            raise classify_smtp_reply(code, reply_text(reply), stage="auth")
        if code != 235:
            raise MailboxFailure(
                f"Authentication rejected ({code} {reply_text(reply)}) for the OAuth2 "
                f"user {user!r} at {self.account.server.address}{detail}. Reconnect the "
                "mailbox to renew its access.",
                problem="auth",
                reply_code=code,
            )

    def hold(self) -> None:
        """Keep the session open after each successful send, for the next one, until
        :meth:`close` (see ``SmtpImapProvider.hold_connection``)."""
        self._hold = True

    def close(self) -> None:
        """End the held session (QUIT) and stop holding."""
        self._hold = False
        conn, self._held = self._held, None
        if conn is not None:
            quit_session(conn)

    # -- transactions --------------------------------------------------------------------

    def submit(
        self,
        recipients: list[str],
        data: bytes,
        meanwhile: Meanwhile | None = None,
    ) -> str:
        """One SMTP transaction, on the held session if there is one, else on a new one;
        the server's reply to the final dot.

        ``meanwhile``, if given, is called once after each command goes out and before
        its reply is read: work of the caller's own (the next email's rendering) that
        would otherwise wait behind the server. It must not raise, and it only delays
        reading a reply that the socket keeps meanwhile.
        """
        pause = meanwhile or _no_pause
        reply: str | None = None
        conn, self._held = self._held, None
        if conn is not None:
            try:
                reply = self._transaction(conn, recipients, data, pause, reused=True)
            except _StaleSession:
                conn.close()  # closed by the server while idle: nothing was sent on it
                conn = None
            except ProviderError:
                conn.close()
                raise
        if conn is None:
            conn = self.open()
            try:
                reply = self._transaction(conn, recipients, data, pause)
            except ProviderError:
                # No QUIT: after a failure the server may be gone or hanging.
                conn.close()
                raise
        assert reply is not None
        if self._hold:
            self._held = conn
        else:
            quit_session(conn)
        return reply

    def _transaction(
        self,
        conn: smtplib.SMTP,
        recipients: list[str],
        data: bytes,
        pause: Meanwhile,
        *,
        reused: bool = False,
    ) -> str:
        try:
            self._envelope(conn, recipients, pause, reused=reused)
            code, reply = _command(conn, "DATA", "", pause)
            if code != 354:
                raise classify_smtp_reply(code, reply_text(reply), stage="data")
            # If this raises, the final "." did not leave: nothing can have been accepted.
            conn.send(dot_stuffed(data))
        except OSError as exc:
            raise self.error(exc) from exc
        pause()
        return self._final_reply(conn)

    def _envelope(
        self,
        conn: smtplib.SMTP,
        recipients: list[str],
        pause: Meanwhile,
        *,
        reused: bool,
    ) -> None:
        if conn.sock is not None:
            # A held session's socket still has the longer wait of the last final reply.
            conn.sock.settimeout(self.account.timeout)
        try:
            code, reply = _command(conn, "mail", f"FROM:{smtp_path(self.account.email)}", pause)
        except OSError:
            if reused:
                raise _StaleSession() from None
            raise
        if code == 421 and reused:
            raise _StaleSession()
        if code != 250:
            raise classify_smtp_reply(code, reply_text(reply), stage="mail")
        for recipient in recipients:
            code, reply = _command(conn, "rcpt", f"TO:{smtp_path(recipient)}", pause)
            if code not in (250, 251):
                raise classify_smtp_reply(
                    code, reply_text(reply), stage="rcpt", recipient=recipient
                )

    def _final_reply(self, conn: smtplib.SMTP) -> str:
        try:
            if conn.sock is not None:
                conn.sock.settimeout(self.final_reply_timeout)
            code, reply = conn.getreply()
        except OSError as exc:
            what = (
                f"timed out after {self.final_reply_timeout:g} s"
                if timed_out(exc)
                else "the connection was lost"
            )
            raise OutcomeUnknown(
                f"The whole message was sent to {self.account.server.address}, but {what} "
                "before the server confirmed it: it may or may not have been accepted."
            ) from exc
        if code != 250:
            raise classify_smtp_reply(code, reply_text(reply), stage="end_of_data")
        return f"{code} {reply_text(reply)}"


def _command(conn: smtplib.SMTP, name: str, args: str, pause: Meanwhile) -> tuple[int, bytes]:
    """What ``smtplib``'s ``mail``/``rcpt``/``docmd`` do (the command, then its reply),
    with ``pause`` run while the server is answering."""
    conn.putcmd(name, args)
    pause()
    return conn.getreply()
