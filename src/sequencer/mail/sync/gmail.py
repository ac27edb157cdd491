"""Reading a Gmail mailbox with the Gmail API: changes since a stored historyId.

Gmail numbers every change to a mailbox with a growing ``historyId``. The cursor keeps the
last one read; each pass asks ``users.history.list(startHistoryId, historyTypes=
messageAdded)`` for the messages added since, downloads each new one as raw RFC 5322
(``messages.get(format=raw)``) and hands it to
:func:`sequencer.mail.inbound_store.ingest`. The mailbox's own sent messages and drafts
(labels SENT, DRAFT, CHAT) are skipped without downloading them.

Gmail keeps history for a limited time (about a week, sometimes less): an id that is too
old, or not valid, is answered with 404, and the mailbox is then read again by date, a
*full sync* (Gmail API guide "Synchronizing clients"): the messages of the last
:data:`WINDOW` (from before the last successful pass when that was longer ago), each
downloaded unless already stored. The new starting point is the profile's historyId read
*before* listing (so nothing that arrives during the listing is missed), or, where the
profile cannot be read, the newest historyId among the messages listed.

A message is stored once per mailbox and Message-ID, and a Gmail id already stored is
not downloaded again, so reading overlapping ranges is harmless.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings

from sequencer.clock import Clock
from sequencer.mail import inbound_store
from sequencer.mail.models import Mailbox, SyncCursor
from sequencer.mail.oauth import MailboxTokens
from sequencer.mail.providers.api import DEFAULT_TIMEOUT, ApiClient, error_body
from sequencer.mail.sync import leases
from sequencer.mail.sync.api_pass import ApiPass

log = logging.getLogger(__name__)

_USER = "/gmail/v1/users/me"
WINDOW = timedelta(days=7)
MARGIN = timedelta(days=1)
MAX_WINDOW = timedelta(days=30)
# A full sync reads at most this many messages (newest first).
MAX_FULL_SYNC = 500
# The mailbox's own messages: never replies, not worth downloading.
SKIP_LABELS = frozenset({"SENT", "DRAFT", "CHAT"})


class SyncError(Exception):
    """The API refused a request that reading the mailbox needs."""


def api_client(mailbox: Mailbox, clock: Clock) -> ApiClient:
    return ApiClient(
        settings.GOOGLE_API_URL,
        MailboxTokens(mailbox, clock=clock),
        service="the Gmail API",
        timeout=DEFAULT_TIMEOUT,
    )


def _failure(response: httpx.Response, what: str) -> SyncError:
    error = error_body(response)
    return SyncError(
        f"Gmail answered {response.status_code} to {what}: "
        f"{error.get('message') or response.reason_phrase}"
    )


class GmailSync(ApiPass):
    """One pass over a Gmail mailbox, for a worker holding its lease."""

    make_api = staticmethod(api_client)

    def sync(self) -> int:
        """Read what is new; the number of messages stored and acted on."""
        cursor = SyncCursor.objects.get(pk=self.cursor_id)
        inbound_store.process_unfinished(self.mailbox, clock=self.clock, act=self.act)
        if not cursor.history_id:
            return self.full_sync(cursor)
        return self._changes_since(cursor)

    # -- history ---------------------------------------------------------------------

    def _changes_since(self, cursor: SyncCursor) -> int:
        start = cursor.history_id
        latest = start
        added: list[tuple[str, str]] = []
        page: str | None = None
        while True:
            params = {
                "startHistoryId": start,
                "historyTypes": "messageAdded",
                "maxResults": "500",
            }
            if page:
                params["pageToken"] = page
            response = self.api.request(
                "GET", f"{_USER}/history", params=params, changes_state=False
            )
            if response.status_code == 404:
                log.info(
                    "%s: Gmail history %s is no longer available; reading by date",
                    self.mailbox.email,
                    start,
                )
                return self.full_sync(cursor)
            if response.status_code != 200:
                raise _failure(response, "history.list")
            data = response.json()
            for record in data.get("history") or []:
                for entry in record.get("messagesAdded") or []:
                    message = entry.get("message") or {}
                    if set(message.get("labelIds") or ()) & SKIP_LABELS:
                        continue
                    if message.get("id"):
                        added.append((str(message["id"]), str(message.get("threadId") or "")))
            latest = str(data.get("historyId") or latest)
            page = data.get("nextPageToken")
            if not page:
                break
        done = self._read([gmail_id for gmail_id, _ in added])
        leases.save_cursor(
            self.cursor_id,
            self.owner,
            history_id=latest,
            synced_at=self.clock.now(),
            last_error="",
        )
        return done

    # -- by date ---------------------------------------------------------------------

    def full_sync(self, cursor: SyncCursor) -> int:
        now = self.clock.now()
        since = now - WINDOW
        if cursor.synced_at is not None:
            since = min(since, cursor.synced_at - MARGIN)
        since = max(since, now - MAX_WINDOW)
        start = self._profile_history_id()
        ids: list[str] = []
        page: str | None = None
        while len(ids) < MAX_FULL_SYNC:
            params = {"q": f"after:{int(since.timestamp())}", "maxResults": "100"}
            if page:
                params["pageToken"] = page
            response = self.api.request(
                "GET", f"{_USER}/messages", params=params, changes_state=False
            )
            if response.status_code != 200:
                raise _failure(response, "messages.list")
            data = response.json()
            ids.extend(str(m["id"]) for m in data.get("messages") or [] if m.get("id"))
            page = data.get("nextPageToken")
            if not page:
                break
        newest: list[int] = []
        done = self._read(ids[:MAX_FULL_SYNC], seen_history=newest)
        history = start or (str(max(newest)) if newest else "")
        leases.save_cursor(
            self.cursor_id, self.owner, history_id=history, synced_at=now, last_error=""
        )
        return done

    def _profile_history_id(self) -> str | None:
        """The mailbox's current historyId, when the profile can be read."""
        response = self.api.request("GET", f"{_USER}/profile", changes_state=False)
        if response.status_code != 200:
            return None
        value = response.json().get("historyId")
        return str(value) if value else None

    # -- downloading -----------------------------------------------------------------

    def _read(self, gmail_ids: list[str], *, seen_history: list[int] | None = None) -> int:
        unique = list(dict.fromkeys(gmail_ids))
        stored = inbound_store.known_provider_ids(self.mailbox, unique)
        done = 0
        for gmail_id in unique:
            if gmail_id in stored:
                continue
            self._keep_lease()
            message = self._get_raw(gmail_id)
            if message is None:
                continue  # deleted meanwhile
            if seen_history is not None and str(message.get("historyId") or "").isdigit():
                seen_history.append(int(message["historyId"]))
            if set(message.get("labelIds") or ()) & SKIP_LABELS:
                continue
            raw = str(message.get("raw") or "")
            data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            result = inbound_store.ingest(
                self.mailbox,
                data,
                act=self.act,
                received_at=_internal_date(message.get("internalDate")),
                clock=self.clock,
                folder="gmail",
                provider_id=gmail_id,
                provider_thread_id=str(message.get("threadId") or ""),
            )
            done += result is not None
        return done

    def _get_raw(self, gmail_id: str) -> dict[str, Any] | None:
        response = self.api.request(
            "GET",
            f"{_USER}/messages/{gmail_id}",
            params={"format": "raw"},
            changes_state=False,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _failure(response, "messages.get")
        data = response.json()
        return data if isinstance(data, dict) else None


def _internal_date(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
