"""A real SMTP server (aiosmtpd) in this process, with scripted replies.

It listens on a free loopback port (one per pytest-xdist worker), keeps every message it
accepts (envelope and exact bytes) in memory and, optionally, in a Maildir, and
authenticates with PLAIN/LOGIN (``users``) and XOAUTH2 (``tokens``, Google's flow:
a bad token gets a ``334`` JSON challenge, then ``535``).

Replies are scripted per recipient (sticky) or through a queue (one-shot, in order)::

    server.reply_to("nouser@example.test", "550 5.1.1 No such user", at="rcpt")
    server.queue("421 4.3.2 Try later", at="data")   # the next end of DATA gets 421
    server.queue(DROP, at="data")                     # close without answering the "."

``at`` is the command being answered: ``"mail"``, ``"rcpt"`` or ``"data"`` (the reply
to the final "." of DATA). A reply starting with 421 closes the connection after it is
sent, as RFC 5321 §3.8 says a server does.

``deliver_locally`` makes it also deliver mail for chosen addresses (to Dovecot over
LMTP, say), as a provider's own server delivers mail for its users.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import mailbox
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["mail", "rcpt", "data"]

# aiosmtpd logs every command at INFO; that drowns the report of a failing test.
logging.getLogger("mail.log").setLevel(logging.WARNING)

# Scripted actions at the end of DATA that are not a reply.
DROP = "<drop the connection without replying>"
HANG = "<never reply>"


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None = None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str | None:
        value = self.message["Message-ID"]
        return str(value).strip() if value else None


@dataclass
class _Script:
    by_recipient: dict[tuple[str, Stage], str] = field(default_factory=dict)
    queued: dict[Stage, deque[str]] = field(default_factory=lambda: defaultdict(deque))


class _Handler:
    def __init__(self, peer: ScriptedSMTPServer) -> None:
        self.peer = peer

    def _scripted(self, stage: Stage, recipients: list[str]) -> str | None:
        with self.peer._lock:
            queue = self.peer._script.queued[stage]
            if queue:
                return queue.popleft()
            for recipient in recipients:
                reply = self.peer._script.by_recipient.get((recipient.lower(), stage))
                if reply:
                    return reply
        return None

    @staticmethod
    def _closing_after(server: SMTP, reply: str) -> str:
        if reply.startswith("421") and server.transport is not None:
            # Queue the close behind the reply: close() flushes what was written first.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self._scripted("mail", [])
        if reply:
            return self._closing_after(server, reply)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self._scripted("rcpt", [address])
        if reply:
            return self._closing_after(server, reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self._scripted("data", list(envelope.rcpt_tos))
        if reply == HANG:
            await asyncio.sleep(3600)  # cancelled when the client gives up and disconnects
        if reply == DROP:
            # Accepted, then the connection broke before the client heard so: the worst
            # case for duplicates, which the engine settles through the Sent folder.
            self.peer._store(envelope, session)
            if server.transport is not None:
                server.transport.abort()
            return "250 OK"
        if reply:
            return self._closing_after(server, reply)
        self.peer._store(envelope, session)
        return "250 2.0.0 OK: queued"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        try:
            if len(args) > 1:
                raw = base64.b64decode(args[1], validate=True)
            else:
                answer = await server.challenge_auth("", encode_to_b64=False)
                if not isinstance(answer, bytes):
                    return AuthResult(success=False, handled=True)
                raw = answer  # challenge_auth has already decoded the base64
            decoded = raw.decode()
            fields = dict(part.split("=", 1) for part in decoded.split("\x01") if "=" in part)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode")
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        if self.peer.tokens.get(token) == user:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
        await server.challenge_auth(json.dumps(error).encode(), encode_to_b64=True)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


class _SMTP(SMTP):
    def _getparams(self, params: Any) -> Any:
        # RFC 4954 §5: a client that authenticated may pass "AUTH=<identity>" with MAIL;
        # Dovecot's submission relay does. aiosmtpd would refuse the unknown parameter.
        result = super()._getparams(params)
        if result is not None:
            result.pop("AUTH", None)
        return result


class _Controller(Controller):
    """aiosmtpd's controller, bound to port 0 so the kernel picks a free port."""

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Any:
        return self._bind()


class ScriptedSMTPServer:
    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        maildir: Path | None = None,
        auth_required: bool = False,
        tls_context: Any = None,
        implicit_tls_context: Any = None,
        hostname: str = "smtp.example.test",
    ) -> None:
        self.users = dict(users or {})
        self.tokens = dict(tokens or {})  # access token -> user
        self.maildir = mailbox.Maildir(maildir, create=True) if maildir else None
        self.messages: list[ReceivedMessage] = []
        # See deliver_locally: where mail for local addresses goes, besides being kept.
        self._local: set[str] = set()
        self._deliver: Callable[[str, bytes], None] | None = None
        self._script = _Script()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=0,
            ssl_context=implicit_tls_context,
            server_hostname=hostname,
            authenticator=self._authenticate,
            auth_required=auth_required,
            # Let tests authenticate without TLS; a real server would refuse that.
            auth_require_tls=tls_context is not None and implicit_tls_context is None,
            tls_context=tls_context,
        )

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> ScriptedSMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> ScriptedSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    # -- scripting -------------------------------------------------------------------

    def reply_to(self, recipient: str, reply: str, *, at: Stage = "rcpt") -> None:
        """Answer ``reply`` whenever ``recipient`` is in the transaction, at ``at``."""
        with self._lock:
            self._script.by_recipient[(recipient.lower(), at)] = reply

    def queue(self, *replies: str, at: Stage = "data") -> None:
        """Answer the next ``len(replies)`` commands ``at`` with these, in order."""
        with self._lock:
            self._script.queued[at].extend(replies)

    def reset(self) -> None:
        """Forget received messages, every script and local delivery (between tests)."""
        with self._lock:
            self.messages.clear()
            self._script = _Script()
            self._local, self._deliver = set(), None

    def deliver_locally(
        self, addresses: set[str], deliver: Callable[[str, bytes], None] | None
    ) -> None:
        """Also hand each accepted message for one of ``addresses`` to ``deliver``
        (recipient, bytes) before answering, as a provider's server delivers mail for its
        own users into their mailboxes."""
        with self._lock:
            self._local = {a.lower() for a in addresses}
            self._deliver = deliver

    # -- received mail ---------------------------------------------------------------

    def _store(self, envelope: Envelope, session: Session) -> None:
        data = bytes(envelope.original_content or b"")
        received = ReceivedMessage(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            authenticated_as=(
                session.auth_data.login.decode()
                if isinstance(session.auth_data, LoginPassword)
                else None
            ),
        )
        with self._arrived:
            local = [r for r in received.rcpt_tos if r.lower() in self._local]
            deliver = self._deliver
        if deliver is not None:
            for recipient in local:
                deliver(recipient, data)
        with self._arrived:
            self.messages.append(received)
            if self.maildir is not None:
                self.maildir.add(data)
            self._arrived.notify_all()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMessage]:
        """The received messages once there are at least ``count`` (for relayed mail)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(self.messages)}"
                )
            return list(self.messages)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if user in self.users and self.users[user] == password:
                return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)
