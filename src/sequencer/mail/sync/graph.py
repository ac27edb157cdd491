"""Reading a Microsoft 365 inbox with Microsoft Graph: delta query, or polling by date.

**Delta** (Graph "Get incremental changes to messages in a folder"): the first round asks
``GET /me/mailFolders/inbox/messages/delta`` for the messages received since
:data:`WINDOW` ago and follows ``@odata.nextLink`` pages until Graph hands out an
``@odata.deltaLink``, which the cursor keeps; each later pass follows the stored
deltaLink and gets only what changed since. A deltaLink Graph no longer accepts (410
Gone) starts a new first round. Removed items (``@removed``) are ignored.

**Polling**, for a service that does not offer delta (the local Graph emulator used in
the tests answers 404): ``GET /me/mailFolders/inbox/messages?$filter=receivedDateTime ge
<watermark>&$orderby=receivedDateTime asc``, where the watermark is the newest arrival
time read so far. ``ge`` reads the newest messages again on the next pass; they are
recognised by their Graph id and not downloaded again.

Each new message is downloaded as MIME (``GET /me/messages/{id}/$value``) and handed to
:func:`sequencer.mail.inbound_store.ingest`, with its ``conversationId`` for matching by
thread. Where the MIME cannot be had (the emulator again), a message is rebuilt from the
JSON resource: addresses, subject, body, ``internetMessageId`` and the
``internetMessageHeaders`` that classification reads. Drafts and the mailbox's own
messages are skipped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
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

_ME = "/v1.0/me"
_INBOX = f"{_ME}/mailFolders/inbox/messages"
_FIELDS = "id,conversationId,internetMessageId,receivedDateTime,from,subject,isDraft"
WINDOW = timedelta(days=7)
# What the cursor's delta_link holds once the service turned delta down.
POLLING = "poll"
# Delta answered like this means "not offered here".
_NO_DELTA = frozenset({400, 404, 405, 501})
# Headers kept when a message has to be rebuilt from JSON: what classification reads.
_KEPT_HEADERS = frozenset(
    {
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-autoreply",
        "x-autorespond",
        "precedence",
        "x-precedence",
        "list-id",
        "list-unsubscribe",
        "feedback-id",
        "content-language",
        "return-path",
        "x-ms-exchange-generated-message-source",
    }
)
_MIME_POLICY = policy.default.clone(max_line_length=998)


class SyncError(Exception):
    """Graph refused a request that reading the mailbox needs."""


def api_client(mailbox: Mailbox, clock: Clock) -> ApiClient:
    return ApiClient(
        settings.GRAPH_API_URL,
        MailboxTokens(mailbox, clock=clock),
        service="Microsoft Graph",
        timeout=DEFAULT_TIMEOUT,
        headers={"Prefer": 'IdType="ImmutableId", odata.maxpagesize=50'},
    )


def _failure(response: httpx.Response, what: str) -> SyncError:
    error = error_body(response)
    return SyncError(
        f"Microsoft Graph answered {response.status_code} to {what}: "
        f"{error.get('code') or ''} {error.get('message') or response.reason_phrase}".strip()
    )


def _odata_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _address(value: Any) -> tuple[str, str]:
    email = (value or {}).get("emailAddress") or {} if isinstance(value, dict) else {}
    return str(email.get("name") or ""), str(email.get("address") or "")


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def rebuild_mime(item: dict[str, Any]) -> bytes:
    """An RFC 5322 message made from a Graph message resource (when MIME is not offered)."""
    message = EmailMessage(policy=_MIME_POLICY)
    name, address = _address(item.get("from"))
    if address:
        message["From"] = formataddr((_one_line(name), address))
    for field, header in (("toRecipients", "To"), ("ccRecipients", "Cc")):
        people = [_address(r) for r in item.get(field) or []]
        listed = [formataddr((_one_line(n), a)) for n, a in people if a]
        if listed:
            message[header] = ", ".join(listed)
    if item.get("subject"):
        message["Subject"] = _one_line(item["subject"])
    received = _parse_time(item.get("receivedDateTime"))
    if received is not None:
        message["Date"] = format_datetime(received)
    if item.get("internetMessageId"):
        message["Message-ID"] = _one_line(item["internetMessageId"])
    for header in item.get("internetMessageHeaders") or []:
        header_name = str(header.get("name") or "")
        if header_name.lower() in _KEPT_HEADERS and header_name not in message:
            message[header_name] = _one_line(header.get("value"))
    body = item.get("body") or {}
    content = str(body.get("content") or "")
    subtype = "html" if str(body.get("contentType") or "").lower() == "html" else "plain"
    message.set_content(content, subtype=subtype)
    return message.as_bytes(policy=_MIME_POLICY)


class GraphSync(ApiPass):
    """One pass over a Microsoft 365 inbox, for a worker holding its lease."""

    make_api = staticmethod(api_client)

    def sync(self) -> int:
        """Read what is new; the number of messages stored and acted on."""
        cursor = SyncCursor.objects.get(pk=self.cursor_id)
        inbound_store.process_unfinished(self.mailbox, clock=self.clock, act=self.act)
        if cursor.delta_link == POLLING:
            return self._poll(cursor)
        return self._delta(cursor)

    def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self.api.request("GET", url, params=params, changes_state=False)

    # -- delta -----------------------------------------------------------------------

    def _delta(self, cursor: SyncCursor) -> int:
        now = self.clock.now()
        url = cursor.delta_link
        params: dict[str, str] | None = None
        if not url:
            url = f"{_INBOX}/delta"
            params = {
                "$select": _FIELDS,
                "$filter": f"receivedDateTime ge {_odata_time(now - WINDOW)}",
            }
        done = 0
        while True:
            response = self._get(url, params)
            if response.status_code == 410 and cursor.delta_link:
                log.info("%s: the Graph deltaLink expired; starting over", self.mailbox.email)
                leases.save_cursor(self.cursor_id, self.owner, delta_link="")
                cursor.delta_link = ""
                return done + self._delta(cursor)
            if response.status_code in _NO_DELTA and not cursor.delta_link:
                log.info(
                    "%s: Graph offers no messages delta here (%s); polling by date",
                    self.mailbox.email,
                    response.status_code,
                )
                leases.save_cursor(self.cursor_id, self.owner, delta_link=POLLING)
                return self._poll(cursor)
            if response.status_code != 200:
                raise _failure(response, "messages delta")
            data = response.json()
            done += self._read([i for i in data.get("value") or [] if "@removed" not in i])
            params = None
            if data.get("@odata.nextLink"):
                url = str(data["@odata.nextLink"])
                continue
            delta_link = str(data.get("@odata.deltaLink") or "")
            leases.save_cursor(
                self.cursor_id,
                self.owner,
                delta_link=delta_link,
                synced_at=now,
                last_error="",
            )
            return done

    # -- polling by arrival time -----------------------------------------------------

    def _poll(self, cursor: SyncCursor) -> int:
        now = self.clock.now()
        since = cursor.watermark or (now - WINDOW)
        newest = cursor.watermark
        url: str = _INBOX
        params: dict[str, str] | None = {
            "$filter": f"receivedDateTime ge {_odata_time(since)}",
            "$orderby": "receivedDateTime asc",
            "$select": _FIELDS,
            "$top": "50",
        }
        done = 0
        while True:
            response = self._get(url, params)
            if response.status_code != 200:
                raise _failure(response, "inbox messages")
            data = response.json()
            items = list(data.get("value") or [])
            done += self._read(items)
            for item in items:
                received = _parse_time(item.get("receivedDateTime"))
                if received is not None and (newest is None or received > newest):
                    newest = received
            leases.save_cursor(self.cursor_id, self.owner, watermark=newest)
            if not data.get("@odata.nextLink"):
                break
            url, params = str(data["@odata.nextLink"]), None
        leases.save_cursor(self.cursor_id, self.owner, synced_at=now, last_error="")
        return done

    # -- downloading -----------------------------------------------------------------

    def _read(self, items: list[dict[str, Any]]) -> int:
        own = self.mailbox.email.lower()
        wanted = [
            item
            for item in items
            if item.get("id")
            and not item.get("isDraft")
            and _address(item.get("from"))[1].lower() != own
        ]
        stored = inbound_store.known_provider_ids(self.mailbox, [str(i["id"]) for i in wanted])
        done = 0
        for item in wanted:
            graph_id = str(item["id"])
            if graph_id in stored:
                continue
            self._keep_lease()
            raw = self._mime(graph_id)
            if raw is None:
                continue  # deleted meanwhile
            result = inbound_store.ingest(
                self.mailbox,
                raw,
                act=self.act,
                received_at=_parse_time(item.get("receivedDateTime")),
                clock=self.clock,
                folder="inbox",
                provider_id=graph_id,
                provider_thread_id=str(item.get("conversationId") or ""),
            )
            done += result is not None
        return done

    def _mime(self, graph_id: str) -> bytes | None:
        response = self._get(f"{_ME}/messages/{graph_id}/$value")
        if response.status_code == 200 and response.content:
            return response.content
        # No MIME here: rebuild the message from its JSON resource.
        response = self._get(
            f"{_ME}/messages/{graph_id}",
            {
                "$select": _FIELDS
                + ",toRecipients,ccRecipients,body,internetMessageHeaders,sentDateTime"
            },
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _failure(response, "messages.get")
        return rebuild_mime(response.json())
