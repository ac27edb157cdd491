"""A sequence's Recipients tab: who is enrolled, how far they are, how it is going.

The table pages through the enrollments with each one's person, address, sender,
status, current step, next send time (in the viewer's zone), exit reason and version;
the numbers per step come from :func:`sequencer.sequences.stats.sequence_stats`. A
recipient's detail, opened from the table, shows their timeline and the controls of
:mod:`sequencer.sequences.enrollment` (pause, resume, remove, send now), which check
access themselves: the page only hides what a read-only member cannot do.

Each page costs the same number of queries whatever the number of recipients: the next
email and the last one sent come from subqueries of the one enrollments query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.lifecycle import EnrollmentStatus
from sequencer.domain.sequence_rules import Level
from sequencer.housekeeping.sweep import RAW_REMOVED
from sequencer.mail.models import InboundMessage
from sequencer.sequences import access, enrollment
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.models import (
    EmailState,
    Enrollment,
    ScheduledEmail,
    Sequence,
    SequenceStatus,
)
from sequencer.sequences.stats import Figures, sequence_stats
from sequencer.web.enroll import timeline_items
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.editor import TABS
from sequencer.web.sequences.guard import access_answers
from sequencer.web.viewer_zone import place, viewer_zone, when
from sequencer.workspace.models import User

PAGE_SIZE = 25
STATUS_CHOICES = [("", "All statuses")] + [(s.value, s.value.title()) for s in EnrollmentStatus]
WAITING = (EmailState.SCHEDULED, EmailState.CLAIMED, EmailState.SENDING, EmailState.UNKNOWN)
OPEN = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED, EnrollmentStatus.FAILED)

ACTIONS: dict[str, tuple[Callable[..., Enrollment], str]] = {
    "pause": (enrollment.pause, "Paused: no email goes out until you resume."),
    "resume": (enrollment.resume, "Resumed: the next email is scheduled again."),
    "remove": (enrollment.remove, "Removed from the sequence: nothing more is sent."),
    "send-now": (enrollment.send_now, "The next email goes out now (mailbox limits apply)."),
}


@dataclass(frozen=True)
class StepRow:
    number: int
    figures: Figures

    def rate(self, count: int) -> str:
        return f"{count / self.figures.sent:.0%}" if self.figures.sent else "—"

    @property
    def reply_rate(self) -> str:
        return self.rate(self.figures.replied)

    @property
    def bounce_rate(self) -> str:
        return self.rate(self.figures.bounced)

    @property
    def unsubscribe_rate(self) -> str:
        return self.rate(self.figures.unsubscribed)


def _rows(sequence: Sequence, status: str) -> QuerySet[Enrollment]:
    emails = ScheduledEmail.objects.filter(enrollment=OuterRef("pk"))
    waiting = emails.filter(state__in=WAITING).order_by("step")
    sent = emails.filter(sent_at__isnull=False).order_by("-step")
    rows = Enrollment.objects.filter(sequence=sequence)
    if status:
        rows = rows.filter(status=status)
    return (
        rows.select_related("person", "version", "sender")
        .annotate(
            mailbox_email=F("mailbox__email"),
            next_step=Subquery(waiting.values("step")[:1], output_field=IntegerField()),
            next_due=Subquery(waiting.values("due_at")[:1]),
            last_sent_step=Subquery(sent.values("step")[:1], output_field=IntegerField()),
        )
        .order_by("-enrolled_at", "-pk")
    )


@dataclass(frozen=True)
class RecipientRow:
    """One enrollment as the table shows it, with its current step and next send in words."""

    enrollment: Enrollment
    name: str
    mailbox_email: str
    step_label: str
    next_send: str

    @property
    def pk(self) -> int:
        return self.enrollment.pk


def _describe(row: Enrollment, zone: ZoneInfo, now: datetime) -> RecipientRow:
    steps = len(row.version.steps)
    next_step: int | None = getattr(row, "next_step", None)
    last: int | None = getattr(row, "last_sent_step", None)
    if next_step is not None:
        step_label = f"Email {next_step + 1} of {steps}"
    elif last is not None:
        step_label = f"Email {last + 1} of {steps} sent"
    else:
        step_label = ""
    next_due = getattr(row, "next_due", None)
    if row.status == EnrollmentStatus.ACTIVE and next_due is not None:
        next_send = when(next_due, zone, now=now)
    elif row.status == EnrollmentStatus.PAUSED and row.resume_at:
        next_send = f"Paused until {when(row.resume_at, zone, now=now)}"
    else:
        next_send = ""
    return RecipientRow(
        enrollment=row,
        name=row.person.full_name or row.email,
        mailbox_email=getattr(row, "mailbox_email", ""),
        step_label=step_label,
        next_send=next_send,
    )


def _detail(
    viewer: User, sequence: Sequence, enrollment_id: str, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    if not enrollment_id.isdigit():
        return {}
    try:
        chosen = enrollment.get_enrollment(viewer, enrollment_id)
    except access.NoAccess:
        raise Http404("No such recipient.") from None
    if chosen.sequence_id != sequence.pk:
        raise Http404("No such recipient.")
    upcoming = chosen.emails.filter(state=EmailState.SCHEDULED).order_by("step").first()
    waiting = upcoming is not None
    row = _rows(sequence, "").get(pk=chosen.pk)
    return {
        "detail": _describe(row, zone, now),
        # Why the next email waits, when the engine held it (AI text not written, a
        # disconnected mailbox, a failure it retries after).
        "waiting_reason": (
            f"Email {upcoming.step + 1}: {upcoming.last_error}"
            if upcoming is not None
            and upcoming.last_error
            and chosen.status == EnrollmentStatus.ACTIVE
            else ""
        ),
        "timeline": timeline_items.items(chosen, zone, now),
        "can_pause": chosen.status == EnrollmentStatus.ACTIVE,
        "can_resume": chosen.status in (EnrollmentStatus.PAUSED, EnrollmentStatus.FAILED),
        "can_remove": chosen.status in OPEN,
        "can_send_now": chosen.status == EnrollmentStatus.ACTIVE and waiting,
    }


def tab_context(request: HttpRequest, sequence_id: int, data: Any) -> dict[str, Any]:
    viewer = signed_in_member(request)
    sequence, level = access.require_level(viewer, sequence_id, Level.READ_ONLY)
    zone = viewer_zone(request)
    status = data.get("status", "")
    if status not in {value for value, _ in STATUS_CHOICES}:
        status = ""
    page = Paginator(_rows(sequence, status), PAGE_SIZE).get_page(data.get("page"))
    now = system_clock.now()
    rows = [_describe(row, zone, now) for row in page.object_list]
    version = latest_version(sequence)
    # The tab shows no "recipients reached": not counting them keeps it fast at 10,000.
    stats = sequence_stats(sequence, len(version.steps) if version else 0, reach=False)
    can_write = level >= Level.READ_WRITE
    context = {
        "section": "sequences",
        "tab": "recipients",
        "tabs": TABS,
        "sequence": sequence,
        "level": level,
        "can_write": can_write,
        "can_enroll": can_write and sequence.status == SequenceStatus.LIVE and version is not None,
        "published": version is not None,
        "status": status,
        "status_choices": STATUS_CHOICES,
        "page": page,
        "rows": rows,
        "stats": stats,
        "step_rows": [StepRow(i + 1, f) for i, f in enumerate(stats.steps)],
        "viewer_place": place(zone),
        "filter_query": urlencode({"status": status}) if status else "",
        "recipient": data.get("recipient", ""),
    }
    context |= _detail(viewer, sequence, context["recipient"], zone, now)
    return context


@require_GET
@login_required
@access_answers
def recipients_tab(request: HttpRequest, sequence_id: int, tab: str = "recipients") -> HttpResponse:
    context = tab_context(request, sequence_id, request.GET)
    return render(request, "web/sequences/recipients.html", context)


@require_POST
@login_required
@access_answers
def recipient_action(
    request: HttpRequest, sequence_id: int, enrollment_id: int, action: str
) -> HttpResponse:
    viewer = signed_in_member(request)
    chosen = enrollment.get_enrollment(viewer, enrollment_id)
    if chosen.sequence_id != int(sequence_id) or action not in ACTIONS:
        raise Http404("No such recipient.")
    operation, said = ACTIONS[action]
    problem = ""
    try:
        operation(viewer, enrollment_id, clock=system_clock)
    except InvalidInput as refused:
        problem = refused.message
    if request.headers.get("HX-Request") != "true":
        if problem:
            messages.error(request, problem)
        else:
            messages.success(request, said)
        query = {"recipient": str(enrollment_id)}
        for key in ("status", "page"):
            if request.POST.get(key):
                query[key] = request.POST[key]
        url = reverse("web:sequence_tab", args=[sequence_id, "recipients"])
        return redirect(f"{url}?{urlencode(query)}")
    context = tab_context(
        request, sequence_id, {**request.POST.dict(), "recipient": str(enrollment_id)}
    )
    context.update(action_status=problem or said, action_problem=bool(problem))
    return render(request, "web/sequences/recipients.html", context)


@require_GET
@login_required
@access_answers
def recipient_message(
    request: HttpRequest, sequence_id: int, enrollment_id: int, message_id: int
) -> HttpResponse:
    """The message behind a timeline entry (a reply, a bounce), as it arrived."""
    chosen = enrollment.get_enrollment(signed_in_member(request), enrollment_id)
    if chosen.sequence_id != int(sequence_id):
        raise Http404("No such recipient.")
    row = InboundMessage.objects.filter(pk=message_id, enrollment_events__enrollment=chosen).first()
    if row is None:
        raise Http404("No such message.")
    raw = bytes(row.raw)
    if not raw:  # dropped by housekeeping; the timeline keeps what it said
        return HttpResponse(RAW_REMOVED, status=410, content_type="text/plain; charset=utf-8")
    response = HttpResponse(raw, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{row.pk}.eml"'
    return response
