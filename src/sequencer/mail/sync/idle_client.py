"""A small asyncio IMAP client that only watches an inbox: log in, EXAMINE, IDLE, NOOP.

Thousands of these share one event loop (:mod:`sequencer.mail.sync.idle_loop`); reading
the messages is left to the synchronous :class:`~sequencer.mail.sync.imap.FolderReader`
in a thread, so this client needs no FETCH, no literals in answers, no parsing beyond
the first words of a line. It says one thing: whether the server announced new mail
(``* n EXISTS`` or ``* n RECENT``).

Why not ``aioimaplib``: it has no STARTTLS upgrade (a mailbox setting the product offers),
and it would add a dependency that mirrors what ``imapclient`` already does for the
reads, for a job that is five commands. ``asyncio.StreamWriter.start_tls`` gives the
upgrade; each connection costs a socket, two small buffers and one task.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
from dataclasses import dataclass

DEFAULT_TIMEOUT = 30.0
# A line longer than this is not something a watcher needs (nor a sane server sends
# while idling); the stream limit keeps a hostile server from growing our memory.
LINE_LIMIT = 64 * 1024

# An IDLE connection sends nothing for up to 25 minutes (RFC 2177 asks for a new IDLE
# before 29). A server that vanished without closing it (a crash, a NAT or firewall that
# forgot the flow) would leave its mailbox unwatched until then, and a reply unread, so
# the kernel probes a silent peer after KEEPALIVE_IDLE_SECONDS, then every
# KEEPALIVE_INTERVAL_SECONDS, and gives up after KEEPALIVE_PROBES unanswered probes: a
# vanished server is noticed within two minutes (the kernel's own default waits two
# hours before its first probe). Its mailbox is then connected again and read.
KEEPALIVE_IDLE_SECONDS = 60
KEEPALIVE_INTERVAL_SECONDS = 15
KEEPALIVE_PROBES = 4


def keep_alive(sock: socket.socket) -> None:
    """Have the kernel probe ``sock``'s peer while the connection is silent (above); a
    platform without one of the options keeps its default for it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # TCP_KEEPIDLE on Linux and the BSDs, TCP_KEEPALIVE on macOS.
    idle = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    for option, value in (
        (idle, KEEPALIVE_IDLE_SECONDS),
        (getattr(socket, "TCP_KEEPINTVL", None), KEEPALIVE_INTERVAL_SECONDS),
        (getattr(socket, "TCP_KEEPCNT", None), KEEPALIVE_PROBES),
    ):
        if option is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


class IdleError(Exception):
    """The server refused a command, closed the connection, or said something unusable."""


@dataclass(frozen=True)
class Account:
    """Where and how to log in: what the loop reads from a :class:`Mailbox` row once."""

    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (sequencer.mail.models.Security)
    username: str
    password: str
    oauth_token: str | None = None


def _quoted(value: str) -> bytes | None:
    """An IMAP quoted string, or None when the value needs a literal (RFC 9051 §4.3)."""
    raw = value.encode()
    if any(b > 126 or b < 32 for b in raw):
        return None
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def announces_news(line: bytes) -> bool:
    """Whether an untagged line says that mail arrived (``* 3 EXISTS``)."""
    words = line.split()
    return (
        len(words) >= 3
        and words[0] == b"*"
        and words[1].isdigit()
        and words[2].upper() in (b"EXISTS", b"RECENT")
    )


class IdleClient:
    """One connection, used by one task at a time."""

    def __init__(self, account: Account, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.account = account
        self.timeout = timeout
        self.capabilities: set[bytes] = set()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tag = 0
        self._idle_tag: bytes | None = None
        # Set when a line announcing new mail was read outside IDLE (in a command's
        # answer): the next wait returns at once.
        self.pending_news = False

    # -- connecting ---------------------------------------------------------------------

    async def open(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """Connect, log in and EXAMINE the inbox (read-only: nothing is marked seen)."""
        account = self.account
        tls = account.security == "tls"
        context = None
        if account.security in ("tls", "starttls"):
            # Loading the trusted certificates costs milliseconds of CPU: the loop
            # passes one context for all its connections.
            context = ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                account.host,
                account.port or (993 if tls else 143),
                ssl=context if tls else None,
                limit=LINE_LIMIT,
            ),
            self.timeout,
        )
        self._reader, self._writer = reader, writer
        try:
            greeting = await self._line()
            if not greeting.startswith((b"* OK", b"* PREAUTH")):
                raise IdleError(f"unexpected greeting: {greeting[:200]!r}")
            if account.security == "starttls" and context is not None:
                await self.command(b"STARTTLS")
                await asyncio.wait_for(
                    writer.start_tls(context, server_hostname=account.host), self.timeout
                )
            if not greeting.startswith(b"* PREAUTH"):
                await self._login()
            await self.command(b"CAPABILITY")
            await self.command(b'EXAMINE "INBOX"')
            # EXAMINE reports the message count; the pass that follows reads what is there.
            self.pending_news = False
            sock = writer.get_extra_info("socket")
            if sock is not None:
                keep_alive(sock)
        except BaseException:
            # Refused, timed out or cancelled halfway: no socket is left behind.
            writer.close()
            self._writer = self._reader = None
            raise

    async def _login(self) -> None:
        account = self.account
        if account.oauth_token:
            # XOAUTH2 (Gmail, Microsoft 365 and Dovecot's oauth2 passdb), initial response.
            sasl = f"user={account.username}\x01auth=Bearer {account.oauth_token}\x01\x01"
            await self.command(b"AUTHENTICATE XOAUTH2 " + base64.b64encode(sasl.encode()))
            return
        user, password = _quoted(account.username), _quoted(account.password)
        if user is not None and password is not None:
            await self.command(b"LOGIN " + user + b" " + password)
            return
        # Non-ASCII credentials: SASL PLAIN carries any bytes (base64), where LOGIN would
        # need literals.
        blob = b"\0" + account.username.encode() + b"\0" + account.password.encode()
        await self.command(b"AUTHENTICATE PLAIN " + base64.b64encode(blob))

    @property
    def can_idle(self) -> bool:
        return b"IDLE" in self.capabilities

    # -- commands -----------------------------------------------------------------------

    async def command(self, command: bytes) -> list[bytes]:
        """Send one command and read up to its tagged answer; the untagged lines."""
        tag = self._next_tag()
        await self._send(tag + b" " + command)
        return await self._until_done(tag, command)

    async def noop(self) -> bool:
        """NOOP: whether the server reported new mail meanwhile."""
        await self.command(b"NOOP")
        return self._take_news()

    async def idle(self, seconds: float) -> bool:
        """Wait in IDLE up to ``seconds``; True as soon as new mail is announced, False
        when the time ran out. IDLE is ended (DONE) before this returns."""
        if self._take_news():
            return True
        tag = self._next_tag()
        await self._send(tag + b" IDLE")
        while True:
            line = await self._line()
            if line.startswith(b"+"):
                break
            self._note(line)
            if line.startswith(tag + b" "):
                raise IdleError(f"IDLE refused: {line[:200]!r}")
        self._idle_tag = tag
        news = self._take_news()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not news:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                line = await asyncio.wait_for(self._line(timeout=None), left)
            except TimeoutError:
                break
            if line.startswith(tag + b" "):
                raise IdleError(f"the server ended IDLE: {line[:200]!r}")
            news = announces_news(line)
        await self.done()
        return news or self._take_news()

    async def done(self) -> None:
        """Leave IDLE (if in it) and read its tagged answer."""
        tag, self._idle_tag = self._idle_tag, None
        if tag is None:
            return
        await self._send(b"DONE")
        await self._until_done(tag, b"IDLE")

    async def close(self) -> None:
        """Leave IDLE and log out, politely and briefly; then drop the connection."""
        writer = self._writer
        if writer is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._goodbye(), 2.0)
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 2.0)
        self._writer = self._reader = None

    async def _goodbye(self) -> None:
        await self.done()
        await self.command(b"LOGOUT")

    # -- the wire -----------------------------------------------------------------------

    def _next_tag(self) -> bytes:
        self._tag += 1
        return b"W%d" % self._tag

    async def _send(self, line: bytes) -> None:
        if self._writer is None:
            raise IdleError("not connected")
        self._writer.write(line + b"\r\n")
        await asyncio.wait_for(self._writer.drain(), self.timeout)

    async def _line(self, *, timeout: float | None = -1.0) -> bytes:
        if self._reader is None:
            raise IdleError("not connected")
        wait = self.timeout if timeout is not None and timeout < 0 else timeout
        try:
            line = await asyncio.wait_for(self._reader.readuntil(b"\r\n"), wait)
        except asyncio.IncompleteReadError as closed:
            raise IdleError("the server closed the connection") from closed
        except asyncio.LimitOverrunError as long:
            raise IdleError("the server sent an overlong line") from long
        return line[:-2]

    async def _until_done(self, tag: bytes, command: bytes) -> list[bytes]:
        untagged: list[bytes] = []
        while True:
            line = await self._line()
            if line.startswith(tag + b" "):
                status = line[len(tag) + 1 :]
                if not status.upper().startswith(b"OK"):
                    name = command.split(b" ", 1)[0].decode(errors="replace")
                    raise IdleError(f"{name} failed: {status[:200].decode(errors='replace')}")
                self._capabilities_from(status)
                return untagged
            if line.startswith(b"+"):
                # A continuation nobody asked for (a SASL challenge after a refusal):
                # cancel the exchange; the tagged NO follows.
                await self._send(b"*")
                continue
            self._note(line)
            untagged.append(line)

    def _note(self, line: bytes) -> None:
        if announces_news(line):
            self.pending_news = True
        if line.upper().startswith(b"* CAPABILITY "):
            self.capabilities = set(line.upper().split()[2:])
        else:
            self._capabilities_from(line)

    def _capabilities_from(self, status: bytes) -> None:
        # "OK [CAPABILITY IMAP4rev1 IDLE ...] Logged in" carries them too.
        upper = status.upper()
        start = upper.find(b"[CAPABILITY ")
        if start >= 0:
            end = upper.find(b"]", start)
            self.capabilities = set(upper[start + 1 : end].split()[1:])

    def _take_news(self) -> bool:
        news, self.pending_news = self.pending_news, False
        return news
