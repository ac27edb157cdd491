"""A recipient's timeline as the Recipients tab shows it: each entry in words.

The entries come from :func:`sequencer.sequences.timeline.timeline`; this module only
says them for a person: the email as sent (its body rendered from the recipient's
version and data), a reply with its text and the original message, a bounce with the
server's reason, an out-of-office with its return date, a meeting, an exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils.safestring import SafeString

from sequencer.ai.variables import as_stored
from sequencer.clock import system_clock
from sequencer.domain.events import EventKind
from sequencer.sequences.models import Enrollment
from sequencer.sequences.preview import preview_enrollment
from sequencer.sequences.timeline import Entry, timeline
from sequencer.web.enroll.email_html import for_page
from sequencer.web.viewer_zone import when

# heroicons (outline) per kind of entry; anything else gets a dot.
ICONS = {
    EventKind.ENROLLED: "user-plus",
    EventKind.EMAIL_SENT: "paper-airplane",
    EventKind.EMAIL_FAILED: "exclamation-triangle",
    EventKind.EMAIL_BOUNCED: "exclamation-triangle",
    EventKind.REPLIED: "chat-bubble-left-right",
    EventKind.ASKED_TO_STOP: "hand-raised",
    EventKind.UNSUBSCRIBED: "no-symbol",
    EventKind.OUT_OF_OFFICE: "sun",
    EventKind.PAUSED_OUT_OF_OFFICE: "pause-circle",
    EventKind.RESUMED: "play-circle",
    EventKind.BOUNCED: "exclamation-triangle",
    EventKind.BOUNCE_DELAYED: "clock",
    EventKind.MEETING: "calendar",
    EventKind.MEETING_BOOKED: "calendar-days",
    EventKind.COMPLETED: "check-circle",
}
BAD = {
    EventKind.EMAIL_FAILED,
    EventKind.EMAIL_BOUNCED,
    EventKind.BOUNCED,
    EventKind.UNSUBSCRIBED,
    EventKind.ASKED_TO_STOP,
}


@dataclass(frozen=True)
class Item:
    kind: str
    icon: str
    title: str
    when: str
    tone: str  # "", "good" or "bad"
    lines: list[str] = field(default_factory=list)
    quote: str = ""  # what the recipient wrote
    body: SafeString | None = None  # an email as sent
    message_url: str = ""  # the original inbound message


def _day(raw: object) -> str:
    try:
        day = date.fromisoformat(str(raw)[:10])
    except ValueError:
        return str(raw)
    return f"{day:%a} {day.day} {day:%b %Y}"


def _moment(raw: object, zone: ZoneInfo, now: datetime) -> str:
    try:
        return when(datetime.fromisoformat(str(raw)), zone, now=now)
    except ValueError:
        return str(raw)


def _lines(entry: Entry, zone: ZoneInfo, now: datetime) -> list[str]:
    d: dict[str, Any] = entry.detail or {}
    kind = entry.kind
    out: list[str] = []
    if d.get("from") and kind not in (EventKind.BOUNCED, EventKind.BOUNCE_DELAYED):
        out.append(f"From {d['from']}" + (f" · “{d['subject']}”" if d.get("subject") else ""))
    if kind in (EventKind.OUT_OF_OFFICE, EventKind.PAUSED_OUT_OF_OFFICE):
        out.append(
            f"Back on {_day(d['return_date'])}" if d.get("return_date") else "No return date given"
        )
        if d.get("resume_at"):
            out.append(f"Emails paused until {_moment(d['resume_at'], zone, now)}")
    if kind in (EventKind.BOUNCED, EventKind.BOUNCE_DELAYED):
        reason = " ".join(str(d.get(k) or "") for k in ("status", "diagnostic")).strip()
        out.append(reason or "No reason given by the mail server")
    if kind in (EventKind.MEETING, EventKind.MEETING_BOOKED):
        if d.get("summary"):
            out.append(str(d["summary"]))
        if d.get("start"):
            out.append(f"Starts {_moment(d['start'], zone, now)}")
    if kind == EventKind.RESUMED and d.get("due_at"):
        out.append(f"Next email {_moment(d['due_at'], zone, now)}")
    return out


def _icon(kind: str) -> str:
    if kind.startswith("exited_"):
        return "arrow-right-start-on-rectangle"
    try:
        return ICONS.get(EventKind(kind), "minus-circle")
    except ValueError:
        return "minus-circle"


def items(enrollment: Enrollment, zone: ZoneInfo, now: datetime) -> list[Item]:
    """Newest first, as an activity feed reads."""
    # Emails as sent: their AI text as stored, never written again here.
    stored = as_stored(
        version_id=enrollment.version_id, person_id=enrollment.person_id, clock=system_clock
    )
    bodies = {p.step: p.html for p in preview_enrollment(enrollment, ai_texts=stored)}
    out: list[Item] = []
    for entry in timeline(enrollment):
        body = None
        if entry.kind == EventKind.EMAIL_SENT and entry.step is not None and entry.step in bodies:
            body = for_page(bodies[entry.step])
        url = (
            reverse(
                "web:recipient_message",
                args=[enrollment.sequence_id, enrollment.pk, entry.inbound_message_id],
            )
            if entry.inbound_message_id
            else ""
        )
        tone = "bad" if entry.kind in BAD or entry.kind.startswith("exited_") else ""
        if entry.kind in (EventKind.REPLIED, EventKind.MEETING_BOOKED, EventKind.COMPLETED):
            tone = "good"
        out.append(
            Item(
                kind=entry.kind,
                icon=_icon(entry.kind),
                title=entry.summary,
                when=when(entry.at, zone, now=now),
                tone=tone,
                lines=_lines(entry, zone, now),
                quote=str((entry.detail or {}).get("text") or ""),
                body=body,
                message_url=url,
            )
        )
    out.reverse()
    return out
