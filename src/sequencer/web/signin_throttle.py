"""Sign-in throttling with django-axes: what a locked-out person sees, and the log line.

Axes counts failed sign-ins per account and per address (``AXES_LOCKOUT_PARAMETERS``)
in the database, so every web process on every machine shares the count. Once either
count reaches ``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME``, the right password is
refused too until the failures are older than the cool-off. Attempts made while locked
out are not counted (``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False``), so the
time shown to the person does not move while they wait.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.db.models import Max, Q
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

log = logging.getLogger("sequencer.signin")


def throttled_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt was for, as stored: addresses are kept in lower case."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username")
    return str(value).strip().lower() if value is not None else None


def locked_until(username: str | None, address: str | None, now: datetime) -> datetime:
    """When the newest counted failure for this account or address stops counting."""
    cool_off = get_cool_off() or timedelta(0)
    matches = Q(pk__in=[])
    if username:
        matches |= Q(username=username)
    if address:
        matches |= Q(ip_address=address)
    newest = (
        AccessAttempt.objects.filter(matches, attempt_time__gte=now - cool_off)
        .aggregate(newest=Max("attempt_time"))
        .get("newest")
    )
    return (newest or now) + cool_off


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """The sign-in page again, with status 429 and when to try again."""
    from django.contrib.auth.forms import AuthenticationForm

    now = timezone.now()
    until = locked_until(
        throttled_username(request, credentials), get_client_ip_address(request), now
    )
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    message = (
        "Too many failed sign-ins for this account or from this address. "
        f"Try again after {until:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''})."
    )
    form = AuthenticationForm(
        request, data=None, initial={"username": request.POST.get("username")}
    )
    response = render(
        request,
        "web/login.html",
        {"form": form, "lockout_message": message, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(max(1, math.ceil((until - now).total_seconds())))
    return response


@receiver(user_locked_out)
def log_lockout(
    sender: object,
    request: HttpRequest,
    username: str | None,
    ip_address: str | None,
    **kwargs: object,
) -> None:
    log.warning(
        "Sign-in locked out after repeated failures: account %r, address %s", username, ip_address
    )
