"""CalDAV calendars (RFC 4791), read with the ``caldav`` library.

The URL a member gives may be the server's root, their calendar home or one calendar:
the account's calendars are found through its principal (RFC 5397
``current-user-principal``, then RFC 4791 ``calendar-home-set``), and when the URL is
one of them only that one is read.

Each poll, per calendar:

* with a sync token from the last poll, a ``sync-collection`` REPORT (RFC 6578) returns
  only what changed; a token the server no longer knows (403 ``DAV:valid-sync-token``)
  falls back to a full listing;
* otherwise a ``calendar-query`` REPORT with a time range lists the window's events,
  and a token is taken first (so nothing changed during the listing is lost) when the
  server offers ``sync-collection`` at all.

Every ``VEVENT`` of a calendar object becomes a
:class:`~sequencer.calendars.providers.base.CalendarEvent` (a recurring event with
changed occurrences holds several, all with the same UID).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import icalendar
import niquests
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.lib import error as dav_error

from sequencer.calendars.providers.base import (
    CalendarEvent,
    CalendarFailure,
    Fetched,
    Participant,
    Window,
    address,
    as_utc,
)

log = logging.getLogger(__name__)

TIMEOUT = 20

_T = TypeVar("_T")


def _done(value: _T | Coroutine[Any, Any, _T]) -> _T:
    """The library's methods are typed for its asynchronous client too; ours is not."""
    if isinstance(value, Coroutine):
        value.close()
        raise TypeError("the CalDAV client must be the synchronous one")
    return value


def _canonical(url: str) -> str:
    return url.rstrip("/") + "/"


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _short(text: Any, limit: int = 200) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _decoded(component: icalendar.cal.Component, name: str) -> Any:
    if name not in component:
        return None
    try:
        return component.decoded(name)
    except (ValueError, KeyError, TypeError):
        return None


def _attendees(component: icalendar.cal.Component) -> tuple[Participant, ...]:
    value = component.get("ATTENDEE")
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        email = address(item)
        if not email:
            continue
        params = getattr(item, "params", {}) or {}
        found.append(Participant(email, str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()))
    return tuple(found)


def events_from_ical(data: str | bytes) -> list[CalendarEvent]:
    """The events of one iCalendar object (a ``VCALENDAR``); nothing if unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:
        log.warning("skipped a calendar object that is not valid iCalendar")
        return []
    events = []
    for component in calendar.walk("VEVENT"):
        uid = str(component.get("UID", "")).strip()
        if not uid:
            continue
        stamps = [
            stamp
            for stamp in (
                as_utc(_decoded(component, "DTSTAMP")),
                as_utc(_decoded(component, "LAST-MODIFIED")),
            )
            if stamp is not None
        ]
        events.append(
            CalendarEvent(
                uid=uid,
                organizer=address(component.get("ORGANIZER")) or None,
                attendees=_attendees(component),
                status=str(component.get("STATUS", "CONFIRMED")).upper(),
                start=as_utc(_decoded(component, "DTSTART")),
                created=as_utc(_decoded(component, "CREATED")),
                stamp=min(stamps) if stamps else None,
                summary=str(component.get("SUMMARY", "")),
                recurring="RRULE" in component or "RDATE" in component,
            )
        )
    return events


class CalDavSource:
    """One CalDAV account; see the module's notes."""

    def __init__(
        self, *, url: str, username: str, password: str | None, timeout: float = TIMEOUT
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout

    # -- the CalendarSource protocol ------------------------------------------------------

    def check(self) -> str:
        with self._failures(), self._client() as client:
            calendars = self._calendars(client)
            names = [self._name(calendar) for calendar in calendars]
        return (
            f"Connected to {self.url} as {self.username}: found {len(names)} "
            f"calendar{'s' if len(names) != 1 else ''} ({', '.join(names)})."
        )

    def fetch(self, cursor: Mapping[str, Any], window: Window) -> Fetched:
        known = cursor.get("calendars") or {}
        if not isinstance(known, Mapping):
            known = {}
        events: list[CalendarEvent] = []
        positions: dict[str, dict[str, Any]] = {}
        with self._failures(), self._client() as client:
            for calendar in self._calendars(client):
                key = str(calendar.url)
                previous = known.get(key) or {}
                token = previous.get("sync_token") if isinstance(previous, Mapping) else None
                changed = self._changes(calendar, token) if token else None
                if changed is None:
                    token = self._new_token(calendar)
                    found: list[Any] = _done(
                        calendar.search(start=window.start, end=window.end, event=True)
                    )
                    data = [obj.data for obj in found]
                else:
                    token, data = changed
                for text in data:
                    if text:
                        events.extend(events_from_ical(text))
                positions[key] = {"sync_token": token} if token else {}
        return Fetched([e for e in events if window.holds(e)], {"calendars": positions})

    # -- helpers ----------------------------------------------------------------------------

    def _client(self) -> DAVClient:
        return DAVClient(
            url=self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=int(self.timeout),
            # A full URL is required: no DNS SRV discovery (RFC 6764), and never sleep in
            # the worker on a 429/503 (the poll is retried later instead).
            enable_rfc6764=False,
            rate_limit_handle=False,
        )

    def _calendars(self, client: DAVClient) -> list[Calendar]:
        calendars = list(_done(client.get_principal().get_calendars()))
        wanted = _canonical(self.url)
        chosen = [c for c in calendars if _canonical(str(c.url)) == wanted]
        if chosen:
            return chosen
        if not calendars:
            raise CalendarFailure(
                f"Signed in to {self.url} as {self.username}, but the account has no "
                "calendars: create one, or give the URL of a calendar it can read.",
                problem="not_found",
            )
        return calendars

    @staticmethod
    def _name(calendar: Calendar) -> str:
        try:
            name = _done(calendar.get_display_name())
        except dav_error.DAVError:
            name = None
        return str(name or urlsplit(str(calendar.url)).path.rstrip("/").rsplit("/", 1)[-1])

    @staticmethod
    def _new_token(calendar: Calendar) -> str | None:
        """The calendar's current sync token, or None when it offers none (RFC 6578)."""
        try:
            collection = _done(
                calendar.get_objects_by_sync_token(load_objects=False, disable_fallback=True)
            )
        except dav_error.AuthorizationError:
            raise
        except dav_error.DAVError:
            return None
        token = collection.sync_token
        # The library makes up "fake-" tokens for servers without sync-collection.
        if not token or str(token).startswith("fake-"):
            return None
        return str(token)

    @staticmethod
    def _changes(calendar: Calendar, token: str) -> tuple[str | None, list[str]] | None:
        """(new token, changed objects' data) since ``token``; None if the server no
        longer knows the token (the caller then lists the whole window)."""
        try:
            collection = _done(
                calendar.get_objects_by_sync_token(
                    sync_token=token, load_objects=True, disable_fallback=True
                )
            )
        except dav_error.AuthorizationError as exc:
            if "{DAV:}valid-sync-token" in exc.preconditions or exc.status == 403:
                return None
            raise
        except dav_error.DAVError:
            return None
        new_token = collection.sync_token
        if new_token is not None and str(new_token).startswith("fake-"):
            return None
        data = [obj.data for obj in collection if getattr(obj, "_data", None) is not None]
        return (str(new_token) if new_token else None), data

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turns what the library and the network raise into :class:`CalendarFailure`."""
        try:
            yield
        except CalendarFailure:
            raise
        except Exception as exc:
            failure = describe_failure(exc, self)
            if failure is None:
                raise
            raise failure from exc


def describe_failure(exc: BaseException, source: CalDavSource) -> CalendarFailure | None:
    url, where = source.url, _host_port(source.url)
    if isinstance(exc, dav_error.AuthorizationError):
        if exc.status == 403:
            return CalendarFailure(
                f"The CalDAV server at {url} signed in {source.username} but refused access "
                f"(HTTP 403) to {exc.url}: check that the URL is this account's.",
                problem="permission",
            )
        return CalendarFailure(
            f"The CalDAV server at {url} refused the username {source.username!r} or its "
            "password (HTTP 401): check both, or create an app password if the account "
            "uses two-factor sign-in.",
            problem="auth",
        )
    if isinstance(exc, dav_error.NotFoundError):
        return CalendarFailure(
            f"Nothing was found at {exc.url} (HTTP 404): check the CalDAV URL.",
            problem="not_found",
        )
    if isinstance(exc, dav_error.DAVError):
        status = exc.status
        detail = f"HTTP {status}" if status else "an error"
        if exc.reason and exc.reason != "no reason":
            detail += f": {_short(exc.reason)}"
        if status is not None and (status in (405, 501) or (status < 500 and status != 429)):
            return CalendarFailure(
                f"The server at {url} does not answer as a CalDAV server ({detail}): check "
                "the URL.",
                problem="not_found",
            )
        return CalendarFailure(
            f"The CalDAV server at {url} failed ({detail}); it is tried again later.",
            problem="server",
        )
    if isinstance(exc, niquests.exceptions.Timeout):
        return CalendarFailure(
            f"The CalDAV server at {where} did not answer within {source.timeout:g} seconds.",
            problem="connection",
        )
    if isinstance(exc, niquests.exceptions.SSLError):
        return CalendarFailure(
            f"The secure (TLS) connection to {where} failed: {_short(exc)}",
            problem="connection",
        )
    if isinstance(exc, niquests.exceptions.ConnectionError | OSError):
        text = str(exc)
        if "refused" in text.lower():
            return CalendarFailure(
                f"Could not connect to {where}: the connection was refused. Check the URL's "
                "host and port, and that the CalDAV server is running.",
                problem="connection",
            )
        if any(
            hint in text
            for hint in ("Name or service not known", "NameResolution", "getaddrinfo", "resolve")
        ):
            return CalendarFailure(
                f"The host name {urlsplit(url).hostname} could not be found (DNS): check the URL.",
                problem="connection",
            )
        return CalendarFailure(
            f"Could not connect to {where}: {_short(text)}", problem="connection"
        )
    return None
