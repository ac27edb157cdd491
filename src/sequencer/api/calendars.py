"""Calendar connections used to notice meetings booked with recipients.

A CalDAV password goes in, never out. Each member sees and changes only their own
calendars; another member's answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from sequencer.api.auth import caller
from sequencer.api.errors import NotFound
from sequencer.calendars import connections as services
from sequencer.calendars.models import CalendarConnection, CalendarKind
from sequencer.clock import system_clock
from sequencer.inputs import Input

router = Router(tags=["Calendars"])


class CalendarIn(Input):
    kind: str
    url: str | None = None
    username: str | None = None
    password: str | None = None
    mailbox_id: int | None = None


class CalendarOut(Schema):
    id: int
    kind: str
    url: str | None
    username: str | None
    mailbox_id: int | None
    account: str
    status: str
    status_reason: str
    last_synced_at: datetime | None
    next_sync_at: datetime | None
    created_at: datetime


class CalendarTestOut(Schema):
    ok: bool
    message: str
    status: str


def _calendar(connection: CalendarConnection) -> CalendarOut:
    caldav = connection.kind == CalendarKind.CALDAV
    return CalendarOut(
        id=connection.pk,
        kind=connection.kind,
        url=connection.url if caldav else None,
        username=connection.username if caldav else None,
        mailbox_id=connection.mailbox_id,
        account=connection.account,
        status=connection.status,
        status_reason=connection.status_reason,
        last_synced_at=connection.last_synced_at,
        next_sync_at=connection.next_sync_at,
        created_at=connection.created_at,
    )


def _own(request: HttpRequest, calendar_id: int) -> CalendarConnection:
    connection = services.calendar_for(caller(request), calendar_id)
    if connection is None:
        raise NotFound("calendar")
    return connection


@router.post("/calendars", response={201: CalendarOut})
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[CalendarOut]:
    connection = services.create_connection(
        caller(request), payload.model_dump(), clock=system_clock
    )
    return Status(201, _calendar(connection))


@router.get("/calendars", response=list[CalendarOut])
def list_calendars(request: HttpRequest) -> list[CalendarOut]:
    return [_calendar(c) for c in services.calendars_of(caller(request))]


@router.get("/calendars/{calendar_id}", response=CalendarOut)
def get_calendar(request: HttpRequest, calendar_id: int) -> CalendarOut:
    return _calendar(_own(request, calendar_id))


@router.delete("/calendars/{calendar_id}", response={204: None})
def delete_calendar(request: HttpRequest, calendar_id: int) -> Status[None]:
    services.delete_connection(_own(request, calendar_id))
    return Status(204, None)


@router.post("/calendars/{calendar_id}/test", response=CalendarTestOut)
def test_calendar(request: HttpRequest, calendar_id: int) -> CalendarTestOut:
    result = services.check_connection(_own(request, calendar_id), clock=system_clock)
    return CalendarTestOut(ok=result.ok, message=result.message, status=result.status)
