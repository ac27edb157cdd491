"""Settings → Status (admins only): is the installation sending? The figures Prometheus
scrapes at ``/metrics`` (:mod:`sequencer.operations.figures`, read in a fixed number of
queries), as a small dashboard with the hourly sends and send lag drawn as charts.
Times are the viewer's (:mod:`sequencer.web.viewer_zone`): the hours are counted as the
database counts them, from the top of each UTC hour, and labelled where the admin is (in
a zone half an hour off UTC, "05:30" starts an hour).
"""

from __future__ import annotations

import os
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from sequencer.ai.models import Outcome
from sequencer.clock import system_clock
from sequencer.domain.lifecycle import EmailState
from sequencer.mail.models import MailboxStatus, Provider
from sequencer.operations.figures import (
    Figures,
    Hour,
    ProviderSync,
    read_figures,
    sent_per_hour,
)
from sequencer.operations.heartbeat import FRESH_FOR
from sequencer.web.settings.admin_only import admin_only
from sequencer.web.settings.status_chart import Chart, bar_chart
from sequencer.web.viewer_zone import place, render_in_viewer_zone, viewer_zone

# The last day of the hourly series is what the "last 24 hours" figures count.
DAY_HOURS = 24

STATE_WORDS: dict[str, str] = {
    EmailState.SCHEDULED: "Scheduled (waiting for their time)",
    EmailState.CLAIMED: "Claimed by a worker",
    EmailState.SENDING: "Being sent",
    EmailState.SENT: "Sent",
    EmailState.FAILED: "Failed",
    EmailState.BOUNCED: "Bounced",
    EmailState.CANCELLED: "Cancelled (recipient left or was paused)",
    EmailState.UNKNOWN: "Outcome unknown (being checked in the sent mail)",
}
KIND_WORDS: dict[str, str] = {
    "reply": "Replies",
    "auto_reply": "Automatic replies (out of office)",
    "bounce": "Bounces",
    "complaint": "Spam complaints",
    "meeting": "Meeting invitations and answers",
    "unsubscribe_request": "Requests to stop",
    "own_message": "The mailbox's own messages",
    "other": "Other (lists, notifications)",
}


def duration(seconds: float) -> str:
    """A lag as people say it: "40 s", "12 min", "3 h 5 min", "2 days"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _count(value: float) -> str:
    return f"{value:g}"


def _zone_words(zone: ZoneInfo) -> str:
    """ "UTC", or "Kolkata time": said after a time in a chart's description."""
    return "UTC" if zone.key == "UTC" else f"{place(zone)} time"


def _sends_summary(chart: Chart, zone: ZoneInfo) -> str:
    said = f"{chart.total:g} emails were sent in the last 48 hours."
    if chart.peak is not None:
        said += (
            f" The busiest hour, {chart.peak.start:%a %H:%M} {_zone_words(zone)}, "
            f"sent {chart.peak.text}."
        )
    elif chart.highest is not None:
        said += f" At most {chart.highest.text} went out in one hour."
    return said


def _lag_summary(chart: Chart, zone: ZoneInfo) -> str:
    if chart.highest is None:
        return "Every email of the last 48 hours went out on time."
    said = f"The longest lag was {chart.highest.text}"
    if chart.peak is not None:
        said += f", in the hour from {chart.peak.start:%a %H:%M} {_zone_words(zone)}"
    return said + "."


def _sync_row(found: Figures, sync: ProviderSync) -> dict[str, Any]:
    behind = found.sync_lag_seconds(sync)
    return {
        "provider": Provider(sync.provider).label
        if sync.provider in Provider.values
        else sync.provider,
        "folders": sync.folders,
        "never": sync.never_synced,
        "lag": duration(behind) if behind is not None else "",
    }


def _context(found: Figures, hours: tuple[Hour, ...], zone: ZoneInfo) -> dict[str, Any]:
    last_day = hours[-DAY_HOURS:]
    by_state = found.emails_by_state
    here = [(h.start.astimezone(zone), h) for h in hours]  # each hour, where the admin is
    sends = bar_chart([(at, float(h.sent)) for at, h in here], _count, floor=2)
    # In minutes, so that the scale's round numbers are round minutes.
    lag = bar_chart(
        [(at, h.worst_lag_seconds / 60) for at, h in here],
        lambda minutes: duration(minutes * 60),
        floor=1,
    )
    return {
        "section": "settings",
        "settings_section": "status",
        "f": found,
        "sent_last_day": sum(hour.sent for hour in last_day),
        "anything_sent": found.sent > 0 or any(hour.sent for hour in hours),
        "any_email": any(by_state.values()),
        "oldest_due": duration(found.oldest_due_seconds),
        "problems": sum(
            by_state.get(state, 0)
            for state in (EmailState.FAILED, EmailState.BOUNCED, EmailState.UNKNOWN)
        ),
        "states": [(STATE_WORDS.get(state, state), n) for state, n in by_state.items()],
        "kinds": [(KIND_WORDS.get(kind, kind), n) for kind, n in found.inbound_by_kind.items()],
        "paused": found.mailboxes_by_status.get(MailboxStatus.PAUSED, 0),
        "disconnected": found.mailboxes_by_status.get(MailboxStatus.DISCONNECTED, 0),
        "sync": [_sync_row(found, sync) for sync in found.sync],
        "ai": [
            (Outcome(outcome).label if outcome in Outcome.values else outcome, n)
            for outcome, n in found.ai_by_outcome.items()
        ],
        "ai_average": (
            found.ai_seconds.total / found.ai_seconds.count if found.ai_seconds.count else None
        ),
        "fresh_seconds": int(FRESH_FOR.total_seconds()),
        "sends_chart": sends,
        "sends_summary": _sends_summary(sends, zone),
        "lag_chart": lag,
        "lag_summary": _lag_summary(lag, zone),
        "metrics_token_set": bool(os.environ.get("SEQUENCER_METRICS_TOKEN")),
        "metrics_address": os.environ.get("SEQUENCER_METRICS_ADDRESS", "").strip(),
    }


@require_GET
@admin_only
def status_page(request: HttpRequest) -> HttpResponse:
    now = system_clock.now()
    context = _context(read_figures(now), sent_per_hour(now), viewer_zone(request))
    return render_in_viewer_zone(request, "web/settings/status.html", context)
