"""What the Google and Microsoft calendar sources share: GET requests with a mailbox's
OAuth token, through the same :class:`~sequencer.mail.providers.api.ApiClient` the mail
providers use (one token renewal on a 401, network failures classified)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from sequencer.calendars.providers.base import CalendarFailure
from sequencer.mail.providers.api import ApiClient, error_body, retry_after_seconds
from sequencer.mail.providers.errors import MailboxFailure, TransientFailure


def get(api: ApiClient, path: str, params: dict[str, str] | None, *, email: str) -> httpx.Response:
    """The answer to one GET, whatever its status; a :class:`CalendarFailure` when there
    was none or the mailbox's sign-in cannot be renewed."""
    try:
        return api.request("GET", path, params=params, changes_state=False)
    except TransientFailure as exc:
        raise CalendarFailure(
            exc.message, problem="connection", retry_after=exc.retry_after
        ) from exc
    except MailboxFailure as exc:
        raise CalendarFailure(
            f"The calendar of {email} cannot be read: {exc.message}", problem="auth"
        ) from exc


def throttled(response: httpx.Response, service: str, now: datetime) -> CalendarFailure:
    return CalendarFailure(
        f"{service} asked to slow down or is unavailable (HTTP {response.status_code}); "
        "the calendar is read again later.",
        problem="connection",
        retry_after=retry_after_seconds(response.headers.get("Retry-After"), now),
    )


def error_text(response: httpx.Response) -> str:
    error = error_body(response)
    message = str(error.get("message") or response.reason_phrase or "").strip()
    code = error.get("code")
    if isinstance(code, str) and code:
        return f"{code}: {message}" if message else code
    return message


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
