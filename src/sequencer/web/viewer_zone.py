"""The viewer's own time zone, for showing times "your time".

``shell.js`` stores the browser's zone in the ``viewer_tz`` cookie on every signed-in
page, so server-rendered pages can show send times where the member is. Until the
browser has said (the very first page), or if it says something unknown, times are
shown in UTC and say so. Record pages (people, companies, lists) render through
:func:`render_in_viewer_zone`, so every date they show is the viewer's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import parse_zone

COOKIE = "viewer_tz"
UTC = ZoneInfo("UTC")


def viewer_zone(request: HttpRequest) -> ZoneInfo:
    return said_zone(request) or UTC


def said_zone(request: HttpRequest) -> ZoneInfo | None:
    """The zone the browser said it is in; None before it has, or for an unknown name
    (for the pages that show the viewer's time only next to another zone's)."""
    name = unquote(request.COOKIES.get(COOKIE, ""))
    if not name:
        return None
    try:
        return parse_zone(name[:64], COOKIE)
    except InvalidInput:
        return None


def place(zone: ZoneInfo) -> str:
    """ "America/New_York" → "New York": the city a person recognises."""
    return str(zone.key).rsplit("/", 1)[-1].replace("_", " ")


def when(moment: datetime | None, zone: ZoneInfo, *, now: datetime) -> str:
    """ "Tue 3 Mar, 14:05" in ``zone``; with the year when it is not ``now``'s."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    this_year = now.astimezone(zone).year
    year = "" if local.year == this_year else f" {local.year}"
    return f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M}"


def render_in_viewer_zone(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """``render`` with the templates' ``date`` and ``time`` filters in the viewer's zone
    (Django converts aware datetimes to the active zone), and ``viewer_place`` to say so."""
    zone = viewer_zone(request)
    with timezone.override(zone):
        return render(request, template, {**context, "viewer_place": place(zone)}, status=status)
