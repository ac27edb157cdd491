"""Connecting, listing, testing and removing a member's calendars.

A calendar is personal: only its owner sees it, admins included (what would an admin do
with someone's CalDAV password?). Input arrives as the parsed JSON of a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet

from sequencer.calendars.models import CalendarConnection, CalendarKind, CalendarStatus
from sequencer.calendars.providers.base import CalendarFailure
from sequencer.calendars.sync import SourceFactory, source_for
from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.mail.models import Mailbox, Provider
from sequencer.workspace.models import User

_MAILBOX_PROVIDER = {
    CalendarKind.GOOGLE: Provider.GMAIL,
    CalendarKind.MICROSOFT: Provider.MICROSOFT,
}
_CALDAV_FIELDS = ("url", "username", "password")


def calendars_of(user: User) -> QuerySet[CalendarConnection]:
    return CalendarConnection.objects.select_related("mailbox").filter(owner=user)


def calendar_for(user: User, connection_id: int) -> CalendarConnection | None:
    """The member's own calendar with that id; None for anyone else's (not disclosed)."""
    return calendars_of(user).filter(pk=connection_id).first()


def _text(data: Mapping[str, Any], name: str, max_length: int) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(
            f"{name} is required for a CalDAV calendar.", field=name, code="required"
        )
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", field=name, code="invalid_type")
    value = value if name == "password" else value.strip()
    if len(value) > max_length:
        raise InvalidInput(
            f"{name} is longer than {max_length} characters.", field=name, code="too_long"
        )
    return value


def _checked_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "url must be the full address of the CalDAV server or calendar, starting with "
            "https:// (for example https://cal.example.com/dav/).",
            field="url",
            code="invalid_url",
        )
    return value


def _refuse_unused(data: Mapping[str, Any], names: tuple[str, ...], kind: str) -> None:
    for name in names:
        if data.get(name) is not None:
            raise InvalidInput(
                f"{name} is not used by a {kind} calendar; remove it.",
                field=name,
                code="unknown_field",
            )


def create_connection(user: User, data: Mapping[str, Any], *, clock: Clock) -> CalendarConnection:
    kind = data.get("kind")
    if kind not in CalendarKind.values:
        raise InvalidInput(
            f"kind must be one of: {', '.join(CalendarKind.values)}.",
            field="kind",
            code="invalid_choice",
        )
    now = clock.now()
    if kind == CalendarKind.CALDAV:
        _refuse_unused(data, ("mailbox_id",), kind)
        url = _checked_url(_text(data, "url", 2000))
        username = _text(data, "username", 255)
        password = _text(data, "password", 1000)
        if calendars_of(user).filter(kind=kind, url=url, username=username).exists():
            raise InvalidInput(
                f"You already connected {username} at {url}.", field="url", code="already_connected"
            )
        return CalendarConnection.objects.create(
            owner=user,
            kind=kind,
            url=url,
            username=username,
            password=password,
            next_sync_at=now,
            created_at=now,
        )
    _refuse_unused(data, _CALDAV_FIELDS, kind)
    mailbox_id = data.get("mailbox_id")
    if mailbox_id is None:
        raise InvalidInput(
            f"mailbox_id is required: the id of your {_MAILBOX_PROVIDER[kind].label} mailbox "
            "whose sign-in also reads its calendar.",
            field="mailbox_id",
            code="required",
        )
    if isinstance(mailbox_id, bool) or not isinstance(mailbox_id, int):
        raise InvalidInput("mailbox_id must be a number.", field="mailbox_id", code="invalid_type")
    mailbox = Mailbox.objects.filter(pk=mailbox_id, owner=user).first()
    if mailbox is None:
        raise InvalidInput(
            f"You have no mailbox with id {mailbox_id}.", field="mailbox_id", code="not_found"
        )
    wanted = _MAILBOX_PROVIDER[kind]
    if mailbox.provider != wanted:
        raise InvalidInput(
            f"{mailbox.email} is a {Provider(mailbox.provider).label} mailbox; a {kind} calendar "
            f"needs a {wanted.label} mailbox.",
            field="mailbox_id",
            code="wrong_provider",
        )
    if not mailbox.oauth_tokens:
        raise InvalidInput(
            f"{mailbox.email} is not signed in with {wanted.label}: connect it from the "
            "Mailboxes page first.",
            field="mailbox_id",
            code="not_signed_in",
        )
    if CalendarConnection.objects.filter(mailbox=mailbox).exists():
        raise InvalidInput(
            f"The calendar of {mailbox.email} is already connected.",
            field="mailbox_id",
            code="already_connected",
        )
    return CalendarConnection.objects.create(
        owner=user, kind=kind, mailbox=mailbox, next_sync_at=now, created_at=now
    )


def delete_connection(connection: CalendarConnection) -> None:
    connection.delete()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    status: str


def check_connection(
    connection: CalendarConnection,
    *,
    clock: Clock,
    sources: SourceFactory = source_for,
) -> CheckResult:
    """Read the calendar once; say exactly what failed. A success reconnects a
    disconnected calendar (it is polled again at once)."""
    try:
        message = sources(connection, clock).check()
    except CalendarFailure as exc:
        status = CalendarStatus.DISCONNECTED if exc.needs_person else CalendarStatus.FAILING
        CalendarConnection.objects.filter(pk=connection.pk).update(
            status=status, status_reason=exc.message, updated_at=clock.now()
        )
        return CheckResult(ok=False, message=exc.message, status=status)
    now = clock.now()
    updates: dict[str, Any] = {"status": CalendarStatus.ACTIVE, "status_reason": ""}
    if connection.status != CalendarStatus.ACTIVE:
        updates.update(failure_count=0, next_sync_at=now)
    CalendarConnection.objects.filter(pk=connection.pk).update(**updates, updated_at=now)
    return CheckResult(ok=True, message=message, status=CalendarStatus.ACTIVE)
