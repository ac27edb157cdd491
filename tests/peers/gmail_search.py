"""Gmail's ``rfc822msgid:`` search, answered from the emulator's own messages.

The emulator compares the term with its colon left on, so its search by Message-ID never
matches (``test_emulator_peer.py`` pins that gap). Behind a :class:`FaultProxy`, this
stand-in answers ``GET /gmail/v1/users/me/messages?q=rfc822msgid:...`` as Gmail does: it
reads every message the emulator holds for the caller and returns those whose
``Message-ID`` header is the one asked for (angle brackets optional, compared without
regard to case, as Gmail's search is). Any other query is refused with a 400, so a
provider that sends a different query fails its test instead of finding nothing::

    proxy.script(Compute(message_id_search), method="GET", path=GMAIL_SEARCH, times=10)
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.peers.fault_proxy import Recorded, Reply

GMAIL_SEARCH = "/gmail/v1/users/me/messages"
_TERM = re.compile(r"rfc822msgid:(?P<id><?[^\s<>]+>?)")
_PAGE = "500"


def _refused(message: str) -> Reply:
    return Reply(
        400,
        json={"error": {"code": 400, "message": message, "errors": [{"reason": "invalid"}]}},
    )


def message_id_search(request: Recorded, upstream: httpx.Client) -> Reply:
    """The answer to one Gmail messages.list request with a ``rfc822msgid:`` query."""
    params = parse_qs(request.query)
    query = params.get("q", [""])[0].strip()
    term = _TERM.fullmatch(query)
    if term is None:
        return _refused(f"this stand-in answers only a single rfc822msgid: term, not {query!r}")
    wanted = term["id"].strip("<>").lower()
    headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
    limit = int(params.get("maxResults", ["100"])[0])
    hits = [
        hit
        for hit in _every_message(upstream, headers, params.get("includeSpamTrash", ["false"])[0])
        if _message_id(upstream, headers, hit["id"]) == wanted
    ][:limit]
    answer: dict[str, Any] = {"resultSizeEstimate": len(hits)}
    if hits:  # Gmail leaves "messages" out when nothing matched
        answer["messages"] = hits
    return Reply(200, json=answer)


def _every_message(
    upstream: httpx.Client, headers: dict[str, str], include_spam_trash: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        params = {"maxResults": _PAGE, "includeSpamTrash": include_spam_trash}
        if page:
            params["pageToken"] = page
        listing = upstream.get(GMAIL_SEARCH, params=params, headers=headers)
        listing.raise_for_status()
        data = listing.json()
        found += [{"id": m["id"], "threadId": m["threadId"]} for m in data.get("messages") or []]
        page = data.get("nextPageToken")
        if not page:
            return found


def _message_id(upstream: httpx.Client, headers: dict[str, str], gmail_id: str) -> str | None:
    answer = upstream.get(
        f"{GMAIL_SEARCH}/{gmail_id}",
        params={"format": "metadata", "metadataHeaders": "Message-ID"},
        headers=headers,
    )
    answer.raise_for_status()
    for header in (answer.json().get("payload") or {}).get("headers") or []:
        if str(header.get("name", "")).lower() == "message-id":
            return str(header.get("value", "")).strip().strip("<>").lower()
    return None
