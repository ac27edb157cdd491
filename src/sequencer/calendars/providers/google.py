"""The primary Google Calendar of a Gmail or Google Workspace mailbox (Calendar API v3).

The mailbox's OAuth sign-in is reused; it must include a calendar-read scope
(``https://www.googleapis.com/auth/calendar.readonly`` or the narrower
``.../auth/calendar.events.readonly``), or Google answers 403 and the member is asked to
reconnect the mailbox.

``events.list`` is paged (``pageToken``) and its last page carries a ``nextSyncToken``.
The first poll lists the window (``timeMin``/``timeMax``); later polls send only the
``syncToken``, and Google returns what changed since, cancelled events included. A sync
token Google no longer accepts answers 410 Gone: the window is listed again ("full
sync", as Google's synchronisation guide prescribes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from sequencer.mail.providers.gmail import GMAIL_API_URL

CALENDAR_API_URL = "https://www.googleapis.com"
EVENTS = "/calendar/v3/calendars/primary/events"
PAGE_SIZE = "250"
MAX_PAGES = 200
SERVICE = "Google Calendar"

_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
    "needsAction": "NEEDS-ACTION",
}
_STATUS = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}
_SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


def calendar_api_url() -> str:
    """Where the Calendar API is: ``settings.GOOGLE_CALENDAR_API_URL`` when set; else
    ``settings.GOOGLE_API_URL`` when it was changed from the Gmail API's own host (an
    emulator or a proxy that serves every Google API); else Google's general API host."""
    configured = getattr(settings, "GOOGLE_CALENDAR_API_URL", "")
    if configured:
        return str(configured)
    api = str(settings.GOOGLE_API_URL).rstrip("/")
    return CALENDAR_API_URL if api == GMAIL_API_URL else api


class _SyncTokenGone(Exception):
    pass


def event_from_google(item: Mapping[str, Any], owner: str) -> CalendarEvent | None:
    """One ``events`` resource as a :class:`CalendarEvent` (None without an id)."""
    uid = str(item.get("iCalUID") or item.get("id") or "")
    if not uid:
        return None
    attendees = []
    flagged_organizer = None
    for entry in item.get("attendees") or []:
        email = address(entry.get("email"))
        if not email:
            continue
        attendees.append(
            Participant(email, _PARTSTAT.get(str(entry.get("responseStatus")), "NEEDS-ACTION"))
        )
        if entry.get("organizer"):
            flagged_organizer = email
    # An event without any organizer is the calendar owner's own.
    organizer = address((item.get("organizer") or {}).get("email")) or flagged_organizer or owner
    start = item.get("start") or {}
    return CalendarEvent(
        uid=uid,
        organizer=organizer,
        attendees=tuple(attendees),
        status=_STATUS.get(str(item.get("status")), "CONFIRMED"),
        start=as_utc(start.get("dateTime") or start.get("date")),
        created=as_utc(item.get("created")),
        stamp=as_utc(item.get("updated")),
        summary=str(item.get("summary") or ""),
        recurring=bool(item.get("recurrence")),
    )


class GoogleCalendarSource:
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
            api_url or calendar_api_url(), tokens, service=SERVICE, timeout=timeout
        )

    def check(self) -> str:
        self._page({"maxResults": "1"})
        return f"Connected to the Google Calendar of {self.email}."

    def fetch(self, cursor: Mapping[str, Any], window: Window) -> Fetched:
        token = cursor.get("sync_token")
        if token:
            try:
                return self._list({"syncToken": str(token)}, window)
            except _SyncTokenGone:
                pass
        return self._list(
            {"timeMin": http.iso_utc(window.start), "timeMax": http.iso_utc(window.end)}, window
        )

    def _list(self, params: dict[str, str], window: Window) -> Fetched:
        events: list[CalendarEvent] = []
        page_token = None
        for _ in range(MAX_PAGES):
            query = {**params, "maxResults": PAGE_SIZE}
            if page_token:
                query["pageToken"] = page_token
            page = self._page(query)
            for item in page.get("items") or []:
                event = event_from_google(item, self.email)
                if event is not None and window.holds(event):
                    events.append(event)
            page_token = page.get("nextPageToken")
            if not page_token:
                sync_token = page.get("nextSyncToken")
                return Fetched(events, {"sync_token": sync_token} if sync_token else {})
        raise CalendarFailure(
            f"{SERVICE} returned more than {MAX_PAGES} pages of events for {self.email}; "
            "the calendar was not read to its end.",
            problem="server",
        )

    def _page(self, params: dict[str, str]) -> dict[str, Any]:
        response = http.get(self.api, EVENTS, params, email=self.email)
        if response.status_code == 200:
            body = response.json()
            return body if isinstance(body, dict) else {}
        if response.status_code == 410:
            raise _SyncTokenGone()
        raise self._failure(response)

    def _failure(self, response: Any) -> CalendarFailure:
        status = response.status_code
        error = error_body(response)
        reasons = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
        details = error.get("details") or []
        reasons |= {str(d.get("reason")) for d in details if isinstance(d, dict)}
        text = http.error_text(response)
        if status == 401:
            return CalendarFailure(
                f"Google refused the sign-in of {self.email} (HTTP 401: {text}): connect the "
                "mailbox again from the Mailboxes page.",
                problem="auth",
            )
        if status == 403 and reasons & _SCOPE_REASONS:
            return CalendarFailure(
                f"{self.email} was connected without permission to read its calendar: "
                "connect the mailbox again from the Mailboxes page and allow calendar access.",
                problem="permission",
            )
        if status == 403 and "accessNotConfigured" in reasons:
            return CalendarFailure(
                "The Google Calendar API is not enabled for this server's OAuth app: the "
                f"administrator must enable it in the Google Cloud console ({text}).",
                problem="permission",
            )
        if status == 429 or (status == 403 and reasons & _RATE_REASONS) or status >= 500:
            return http.throttled(response, SERVICE, self.clock.now())
        if status == 403:
            return CalendarFailure(
                f"Google refused to show the calendar of {self.email} (HTTP 403: {text}).",
                problem="permission",
            )
        if status == 404:
            return CalendarFailure(
                f"Google found no primary calendar for {self.email} (HTTP 404).",
                problem="not_found",
            )
        return CalendarFailure(
            f"{SERVICE} answered HTTP {status} for {self.email}: {text}", problem="server"
        )
