"""Reading a mailbox's inbox over IMAP: UID cursors, UIDVALIDITY, IDLE, polling.

**Cursor.** A UID means something only together with the folder's UIDVALIDITY (RFC 9051
§2.3.1.1), so the cursor is ``(folder, uidvalidity, last_uid)``. Each pass selects the
folder read-only (EXAMINE: nothing is marked read) and asks for ``UID SEARCH UID
<last_uid+1>:*``. That range always includes the highest UID even when it is not new
(§6.4.4), so the answer is filtered. Messages are fetched with ``BODY.PEEK[]`` and handed
to :func:`sequencer.mail.inbound_store.ingest` one by one, in UID order, and the cursor
moves after each one: a pass that stops halfway resumes where it stopped.

**A new UIDVALIDITY** (the folder was recreated, or the server rebuilt its index) makes
every stored UID meaningless. The folder is then re-read by date: ``SEARCH SINCE`` from a
window before the last successful pass, the Message-IDs of those messages fetched
first, and only the ones this mailbox has not stored already are downloaded. Nothing is
acted on twice, because inbound messages are stored once per mailbox and Message-ID,
and nothing is lost, because the window reaches back past the last pass. The cursor
takes the new UIDVALIDITY only once the re-read is complete.

**The first pass** of a new mailbox is the same date-window read.

**IDLE** (RFC 2177) keeps one connection per mailbox open and lets the server say when
mail arrives (``* n EXISTS``); :mod:`sequencer.mail.sync.idle_loop` holds those
connections for all mailboxes in one event loop and runs a pass (:func:`sync_folder`)
when one announces mail. RFC 2177 allows a server to drop a client idle for 30 minutes,
so IDLE is re-issued every :data:`IDLE_REISSUE_SECONDS` (with a pass, as a safety net).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import imapclient

from sequencer import netguard
from sequencer.clock import Clock
from sequencer.domain.inbound import InboundHandler
from sequencer.mail import inbound_store
from sequencer.mail.inbound import classify
from sequencer.mail.models import Mailbox, Security, SyncCursor
from sequencer.mail.sync import leases

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
# Messages fetched per FETCH command.
FETCH_BATCH = 20
# Larger messages are read up to as many bytes as are stored: the headers, text and
# any delivery report come first; what is cut is the tail of big attachments.
MAX_RAW_BYTES = inbound_store.MAX_STORED_BYTES
# RFC 2177: "clients using IDLE are advised to terminate the IDLE and re-issue it at
# least every 29 minutes".
IDLE_REISSUE_SECONDS = 25 * 60
# How far back a first pass, or a re-read after a UIDVALIDITY change, looks: at least
# WINDOW, and from MARGIN before the last successful pass, but never more than MAX_WINDOW.
WINDOW = timedelta(days=7)
MARGIN = timedelta(days=1)
MAX_WINDOW = timedelta(days=30)

_BODY = f"BODY.PEEK[]<0.{MAX_RAW_BYTES}>"
_MESSAGE_ID = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"


def connect(
    mailbox: Mailbox,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> imapclient.IMAPClient:
    """A logged-in IMAP connection to ``mailbox`` (password, or XOAUTH2 with its token)."""
    netguard.check(mailbox.imap_host, mailbox.imap_port)
    tls = mailbox.imap_security == Security.TLS
    # Only built when used: loading the trusted certificates costs milliseconds of CPU.
    context = None
    if tls or mailbox.imap_security == Security.STARTTLS:
        context = ssl_context or ssl.create_default_context()
    client = imapclient.IMAPClient(
        mailbox.imap_host,
        mailbox.imap_port or (993 if tls else 143),
        ssl=tls,
        ssl_context=context if tls else None,
        timeout=timeout,
    )
    try:
        # Aware datetimes for INTERNALDATE, not the local wall time.
        client.normalise_times = False
        if mailbox.imap_security == Security.STARTTLS:
            client.starttls(context)
        user = mailbox.imap_username or mailbox.email
        token = (mailbox.oauth_tokens or {}).get("access_token")
        if token:
            client.oauth2_login(user, token)
        else:
            client.login(user, mailbox.imap_password or "")
    except BaseException:
        with contextlib.suppress(Exception):
            client.shutdown()
        raise
    return client


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _body(data: dict[bytes, Any]) -> bytes | None:
    for key, value in data.items():
        if key.startswith(b"BODY[") and isinstance(value, bytes | bytearray):
            return bytes(value)
    return None


class FolderReader:
    """One pass over one folder, for a worker holding the lease on its cursor."""

    def __init__(
        self,
        client: imapclient.IMAPClient,
        mailbox: Mailbox,
        *,
        owner: str,
        cursor_id: int,
        folder: str = leases.PRIMARY_FOLDER,
        clock: Clock,
        act: InboundHandler,
        lease_ttl: timedelta = leases.DEFAULT_TTL,
    ) -> None:
        self.act = act
        self.client = client
        self.mailbox = mailbox
        self.owner = owner
        self.cursor_id = cursor_id
        self.folder = folder
        self.clock = clock
        self._keep_lease = leases.Keeper(cursor_id, owner, clock, lease_ttl)

    def sync(self) -> int:
        """Read what is new; the number of messages stored and acted on."""
        info = self.client.select_folder(self.folder, readonly=True)
        uidvalidity = int(info[b"UIDVALIDITY"])
        uidnext = int(info.get(b"UIDNEXT") or 0)
        cursor = SyncCursor.objects.get(pk=self.cursor_id)
        inbound_store.process_unfinished(self.mailbox, clock=self.clock, act=self.act)
        if cursor.uidvalidity != uidvalidity:
            return self._reread(cursor, uidvalidity, uidnext)
        return self._read_new(cursor, uidvalidity, uidnext)

    # -- the usual pass: UIDs above the cursor --------------------------------------------

    def _read_new(self, cursor: SyncCursor, uidvalidity: int, uidnext: int) -> int:
        last = cursor.last_uid
        done = 0
        if not uidnext or uidnext - 1 > last:
            found = self.client.search(["UID", f"{last + 1}:*"])
            uids = sorted(uid for uid in found if uid > last)
            done = self._read(uids, uidvalidity, move_cursor=True)
        leases.save_cursor(self.cursor_id, self.owner, synced_at=self.clock.now(), last_error="")
        return done

    # -- after a new UIDVALIDITY, and the first pass: by date ----------------------------

    def _reread(self, cursor: SyncCursor, uidvalidity: int, uidnext: int) -> int:
        now = self.clock.now()
        since = now - WINDOW
        if cursor.synced_at is not None:
            since = min(since, cursor.synced_at - MARGIN)
        since = max(since, now - MAX_WINDOW)
        top = uidnext - 1 if uidnext else max(self.client.search(["ALL"]) or [0])
        if cursor.uidvalidity is not None:
            log.info(
                "%s %s: UIDVALIDITY changed (%s -> %s); re-reading since %s",
                self.mailbox.email,
                self.folder,
                cursor.uidvalidity,
                uidvalidity,
                since.date(),
            )
        uids = sorted(uid for uid in self.client.search(["SINCE", since.date()]) if uid <= top)
        fresh = self._not_stored(uids)
        done = self._read(fresh, uidvalidity, move_cursor=False)
        leases.save_cursor(
            self.cursor_id,
            self.owner,
            uidvalidity=uidvalidity,
            last_uid=top,
            synced_at=now,
            last_error="",
        )
        return done

    def _not_stored(self, uids: list[int]) -> list[int]:
        """The UIDs whose Message-ID this mailbox has not stored and acted on yet."""
        keys: dict[int, str | None] = {}
        for start in range(0, len(uids), 200):
            batch = uids[start : start + 200]
            for uid, data in self.client.fetch(batch, [_MESSAGE_ID]).items():
                header = _body(data) or b""
                event = classify(
                    header, mailbox_address=self.mailbox.email, received_at=self.clock.now()
                )
                keys[uid] = event.message_id.strip() if event.message_id else None
        known: set[str | None] = set(
            inbound_store.known_message_ids(self.mailbox, [k for k in keys.values() if k])
        )
        # A message without a Message-ID is fetched whole: its key is made from its bytes.
        return [uid for uid in uids if uid in keys and keys[uid] not in known]

    # -- fetching and handing over -----------------------------------------------------

    def _read(self, uids: list[int], uidvalidity: int, *, move_cursor: bool) -> int:
        done = 0
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            fetched = self.client.fetch(batch, [_BODY, "INTERNALDATE"])
            for uid in batch:
                self._keep_lease()
                data = fetched.get(uid)
                raw = _body(data) if data else None
                if raw is not None:
                    received = _aware(data.get(b"INTERNALDATE")) if data else None
                    stored = inbound_store.ingest(
                        self.mailbox,
                        raw,
                        act=self.act,
                        received_at=received,
                        clock=self.clock,
                        folder=self.folder,
                        uid=uid,
                        uidvalidity=uidvalidity,
                    )
                    done += stored is not None
                # else: expunged meanwhile
                if move_cursor:
                    leases.save_cursor(self.cursor_id, self.owner, last_uid=uid)
        return done


def sync_folder(
    mailbox: Mailbox,
    *,
    owner: str,
    cursor_id: int,
    clock: Clock,
    act: InboundHandler,
    folder: str = leases.PRIMARY_FOLDER,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """One pass over ``folder`` on a new connection (the caller holds the lease)."""
    client = connect(mailbox, timeout=timeout)
    try:
        return FolderReader(
            client,
            mailbox,
            owner=owner,
            cursor_id=cursor_id,
            folder=folder,
            clock=clock,
            act=act,
        ).sync()
    finally:
        with contextlib.suppress(Exception):
            client.logout()
        with contextlib.suppress(Exception):
            client.shutdown()


def sync_once(
    mailbox: Mailbox,
    *,
    owner: str,
    clock: Clock,
    act: InboundHandler,
    folder: str = leases.PRIMARY_FOLDER,
    ttl: timedelta = leases.DEFAULT_TTL,
) -> int | None:
    """Take the folder's lease, make one pass, give the lease back; ``None`` when another
    worker holds the lease."""
    cursor = leases.acquire(mailbox.pk, owner, clock.now(), ttl=ttl, folder=folder)
    if cursor is None:
        return None
    try:
        return sync_folder(
            mailbox, owner=owner, cursor_id=cursor.pk, clock=clock, act=act, folder=folder
        )
    finally:
        leases.release(cursor.pk, owner)
