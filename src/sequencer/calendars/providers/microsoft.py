"""The Outlook calendar of a Microsoft 365 or Outlook.com mailbox (Microsoft Graph).

The mailbox's OAuth sign-in is reused; it must include ``Calendars.Read`` (or Graph
answers 403 ``ErrorAccessDenied`` and the member is asked to reconnect the mailbox).

Each poll lists ``/me/events`` (single events and series masters: one entry per
booking, never expanded occurrences) changed since the cursor,
``$filter=lastModifiedDateTime ge <cursor>``, following ``@odata.nextLink``. The first
poll starts from the window's beginning (an event created in the last 30 days was
modified since then too). The next cursor is the poll's own start minus
:data:`OVERLAP`, so an event saved while the poll ran is read again rather than missed;
reading one twice changes nothing. Times are asked for in UTC
(``Prefer: outlook.timezone="UTC"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings

from sequencer.calendars.providers import http
from sequencer.calendars.providers.base import (
    CalendarEvent,
    CalendarFailure,
    Fetched,
    Participant,
    Window,
    address,
    as_utc,
)
from sequencer.clock import Clock
from sequencer.mail.providers.api import DEFAULT_TIMEOUT, ApiClient, TokenSource, error_body

EVENTS = "/v1.0/me/events"
CALENDAR = "/v1.0/me/calendar"
SELECT = (
    "id,iCalUId,subject,organizer,attendees,isCancelled,createdDateTime,"
    "lastModifiedDateTime,start,responseStatus,type,recurrence"
)
PAGE_SIZE = "100"
MAX_PAGES = 200
OVERLAP = timedelta(minutes=10)
SERVICE = "Microsoft Graph"

_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentativelyAccepted": "TENTATIVE",
    "organizer": "ACCEPTED",
    "none": "NEEDS-ACTION",
    "notResponded": "NEEDS-ACTION",
}
_THROTTLED = frozenset({429, 503, 504})


def _email(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    return address((value.get("emailAddress") or {}).get("address"))


def event_from_graph(item: Mapping[str, Any], owner: str) -> CalendarEvent | None:
    """One Graph ``event`` resource as a :class:`CalendarEvent` (None without an id)."""
    uid = str(item.get("iCalUId") or item.get("id") or "")
    if not uid:
        return None
    attendees = []
    for entry in item.get("attendees") or []:
        email = _email(entry)
        if email:
            response = str((entry.get("status") or {}).get("response") or "none")
            attendees.append(Participant(email, _PARTSTAT.get(response, "NEEDS-ACTION")))
    # The calendar owner's own answer is ``responseStatus``, not always among attendees.
    own = str((item.get("responseStatus") or {}).get("response") or "")
    if own == "declined":
        attendees = [a for a in attendees if a.email != owner]
        attendees.append(Participant(owner, "DECLINED"))
    start = item.get("start") or {}
    return CalendarEvent(
        uid=uid,
        # An event without an organizer is the calendar owner's own.
        organizer=_email(item.get("organizer")) or owner,
        attendees=tuple(attendees),
        status="CANCELLED" if item.get("isCancelled") else "CONFIRMED",
        start=as_utc(start.get("dateTime")),
        created=as_utc(item.get("createdDateTime")),
        stamp=as_utc(item.get("lastModifiedDateTime")),
        summary=str(item.get("subject") or ""),
        recurring=item.get("type") == "seriesMaster" or bool(item.get("recurrence")),
    )


class GraphCalendarSource:
    def __init__(
        self,
        *,
        email: str,
        tokens: TokenSource,
        api_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock,
    ) -> None:
        self.email = email
        self.clock = clock
        self.api = ApiClient(
            api_url or settings.GRAPH_API_URL,
            tokens,
            service=SERVICE,
            timeout=timeout,
            headers={"Prefer": 'outlook.timezone="UTC"'},
        )

    def check(self) -> str:
        calendar = self._json(http.get(self.api, CALENDAR, None, email=self.email))
        name = str(calendar.get("name") or "Calendar")
        return f"Connected to the Outlook calendar “{name}” of {self.email}."

    def fetch(self, cursor: Mapping[str, Any], window: Window) -> Fetched:
        started = self.clock.now()
        since = as_utc(cursor.get("modified_since")) or window.start
        events: list[CalendarEvent] = []
        path = EVENTS
        params: dict[str, str] | None = {
            "$filter": f"lastModifiedDateTime ge {http.iso_utc(since)}",
            "$select": SELECT,
            "$top": PAGE_SIZE,
        }
        for _ in range(MAX_PAGES):
            page = self._json(http.get(self.api, path, params, email=self.email))
            for item in page.get("value") or []:
                event = event_from_graph(item, self.email)
                if event is not None and window.holds(event):
                    events.append(event)
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return Fetched(events, {"modified_since": (started - OVERLAP).isoformat()})
            # The link carries the whole query (absolute on Graph; the httpx client takes
            # an absolute URL as it is and a path relative to the API's base).
            path, params = str(next_link), None
        raise CalendarFailure(
            f"{SERVICE} returned more than {MAX_PAGES} pages of events for {self.email}; "
            "the calendar was not read to its end.",
            problem="server",
        )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 200:
            body = response.json()
            return body if isinstance(body, dict) else {}
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> CalendarFailure:
        status = response.status_code
        code = str(error_body(response).get("code") or "")
        text = http.error_text(response)
        if status == 401:
            return CalendarFailure(
                f"Microsoft refused the sign-in of {self.email} (HTTP 401: {text}): connect "
                "the mailbox again from the Mailboxes page.",
                problem="auth",
            )
        if status == 403:
            return CalendarFailure(
                f"{self.email} was connected without permission to read its calendar "
                f"(HTTP 403: {text}): connect the mailbox again from the Mailboxes page and "
                "allow calendar access (Calendars.Read).",
                problem="permission",
            )
        if status in _THROTTLED:
            return http.throttled(response, SERVICE, self.clock.now())
        if status == 404 or code in ("ErrorItemNotFound", "MailboxNotEnabledForRESTAPI"):
            return CalendarFailure(
                f"Microsoft found no calendar for {self.email} (HTTP {status}: {text}).",
                problem="not_found",
            )
        if status >= 500:
            return CalendarFailure(
                f"{SERVICE} failed (HTTP {status}: {text}); the calendar is read again later.",
                problem="server",
            )
        return CalendarFailure(
            f"{SERVICE} answered HTTP {status} for {self.email}: {text}", problem="server"
        )
