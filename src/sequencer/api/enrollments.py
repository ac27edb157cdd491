"""Enrollments: enroll recipients, follow them, preview and control them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field, model_validator

from sequencer.ai.variables import for_preview
from sequencer.api.auth import caller
from sequencer.api.errors import ApiError, NotFound
from sequencer.api.pagination import Page
from sequencer.api.schedule import utc_iso
from sequencer.clock import system_clock
from sequencer.crm.models import Person
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.housekeeping.sweep import RAW_REMOVED
from sequencer.inputs import Input, Text
from sequencer.mail.models import InboundMessage, Mailbox
from sequencer.sequences import access, delegation, enrollment
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.models import Enrollment
from sequencer.sequences.preview import PreviewEmail, preview_enrollment, preview_person
from sequencer.sequences.stats import Figures, sequence_stats
from sequencer.sequences.timeline import timeline
from sequencer.workspace.models import Notification

router = Router(tags=["Enrollments"])


class SenderIn(Input):
    mailbox_id: int | None = None
    member_id: int | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> SenderIn:
        if (self.mailbox_id is None) == (self.member_id is None):
            raise ValueError("give exactly one of mailbox_id (your own mailbox) or member_id")
        return self


class RecipientIn(Input):
    person_id: int
    email: str | None = None


class EnrollIn(Input):
    sender: SenderIn
    recipients: list[RecipientIn] | None = None
    list_id: int | None = Field(default=None, description="enroll a list's people instead")
    entry_ids: list[int] | None = Field(default=None, description="only these list entries")


class ReasonOut(Schema):
    code: str
    message: str


class ResultOut(Schema):
    person_id: int
    status: str
    enrollment_id: int | None = None
    reason: ReasonOut | None = None


class EnrollOut(Schema):
    results: list[ResultOut]
    warnings: list[str] = Field(
        description=(
            "About the sequence, for everyone enrolled: one per step whose emails will "
            "wait, such as a step with an AI slot whose text has not been written yet."
        ),
    )


class EmailOut(Schema):
    step: int
    state: str
    send_at: str | None
    sent_at: str | None
    subject: str
    message_id: str
    attempts: int
    last_error: str


class EnrollmentOut(Schema):
    id: int
    sequence_id: int
    person_id: int
    email: str
    status: str
    exit_reason: str | None
    failure_reason: str | None
    version: int
    mailbox_id: int
    sender_id: int
    time_zone: str
    enrolled_at: str
    finished_at: str | None
    emails: list[EmailOut]


class EnrollmentPage(Schema):
    items: list[EnrollmentOut]
    count: int


class PreviewOut(Schema):
    step: int
    send_at: str | None
    state: str
    subject: str
    html: str
    text: str
    problem: str | None
    # Set when a fallback stands in for AI text the model could not write (and why).
    note: str | None = None


class FiguresOut(Schema):
    sent: int
    replied: int
    bounced: int
    unsubscribed: int
    meetings: int
    complained: int
    reply_rate: float | None
    bounce_rate: float | None
    unsubscribe_rate: float | None
    meeting_rate: float | None
    complaint_rate: float | None


class StepFiguresOut(FiguresOut):
    step: int


class StatsOut(Schema):
    enrolled: int
    active: int
    completed: int
    emails_sent: int
    overall: FiguresOut
    steps: list[StepFiguresOut]


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "sent": f.sent,
        "replied": f.replied,
        "bounced": f.bounced,
        "unsubscribed": f.unsubscribed,
        "meetings": f.meetings,
        "complained": f.complained,
        **f.rates(),
    }


class TimelineOut(Schema):
    at: str
    kind: str
    summary: str
    step: int | None
    inbound_message_id: int | None
    detail: dict[str, Any]


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None


def _iso(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment else None


def enrollment_out(e: Enrollment) -> EnrollmentOut:
    emails = sorted(e.emails.all(), key=lambda m: (m.step, m.created_at, m.pk))
    return EnrollmentOut(
        id=e.pk,
        sequence_id=e.sequence_id,
        person_id=e.person_id,
        email=e.email,
        status=e.status,
        exit_reason=e.exit_reason or None,
        failure_reason=e.failure_reason or None,
        version=e.version.number,
        mailbox_id=e.mailbox_id,
        sender_id=e.sender_id,
        time_zone=e.time_zone,
        enrolled_at=utc_iso(e.enrolled_at),
        finished_at=_iso(e.finished_at),
        emails=[
            EmailOut(
                step=m.step,
                state=m.state,
                send_at=_iso(m.sent_at or m.due_at),
                sent_at=_iso(m.sent_at),
                subject=m.subject,
                message_id=m.message_id,
                attempts=m.attempts,
                last_error=m.last_error,
            )
            for m in emails
        ],
    )


def _preview_out(items: list[PreviewEmail]) -> list[PreviewOut]:
    return [
        PreviewOut(
            step=p.step,
            send_at=_iso(p.send_at),
            state=p.state,
            subject=p.subject,
            html=p.html,
            text=p.text,
            problem=p.problem,
            note=p.note,
        )
        for p in items
    ]


def _recipients(payload: EnrollIn) -> list[enrollment.Recipient]:
    if payload.list_id is not None:
        return enrollment.recipients_from_list(payload.list_id, payload.entry_ids)
    if payload.recipients is not None:
        return [enrollment.Recipient(r.person_id, r.email) for r in payload.recipients]
    raise InvalidInput(
        "Give recipients (a list of person_id) or list_id.",
        field="recipients",
        code="required",
    )


@router.post("/sequences/{sequence_id}/enrollments", response=EnrollOut)
def enroll(request: HttpRequest, sequence_id: int, payload: EnrollIn) -> EnrollOut:
    """Enroll up to 1,000 people; each gets its own result (enrolled or refused).

    ``warnings`` names each step whose emails will wait (an AI slot without text yet)."""
    recipients = _recipients(payload)
    enrolled = enrollment.enroll(
        caller(request),
        sequence_id,
        recipients,
        mailbox_id=payload.sender.mailbox_id,
        member_id=payload.sender.member_id,
        clock=system_clock,
    )
    return EnrollOut(
        results=[
            ResultOut(person_id=o.person_id, status="enrolled", enrollment_id=o.enrollment_id)
            if o.enrolled
            else ResultOut(
                person_id=o.person_id,
                status="refused",
                reason=ReasonOut(code=o.code or "refused", message=o.message or ""),
            )
            for o in enrolled.outcomes
        ],
        warnings=enrolled.warnings,
    )


class CheckResultOut(Schema):
    person_id: int
    status: Literal["would_enroll", "refused"]
    email: str | None = Field(
        description="The address it would be written to (or that was refused); null when "
        "the person has none."
    )
    reason: ReasonOut | None = None


class CheckOut(Schema):
    results: list[CheckResultOut] = Field(description="One per recipient, in request order.")
    warnings: list[str]


@router.post("/sequences/{sequence_id}/enrollments/check", response=CheckOut)
def check_enrollment(request: HttpRequest, sequence_id: int, payload: EnrollIn) -> CheckOut:
    """A dry run of enrolling: what the same request to `/enrollments` would answer now,
    enrolling nobody (the Enroll dialog's check).

    It writes nothing, so a read-only token may call it. Refuses as enrolling does (no
    access, read only on the sequence, archived, an unusable sender)."""
    checked = enrollment.check(
        caller(request),
        sequence_id,
        _recipients(payload),
        mailbox_id=payload.sender.mailbox_id,
        member_id=payload.sender.member_id,
        clock=system_clock,
    )
    return CheckOut(
        results=[
            CheckResultOut(
                person_id=o.person_id,
                status="refused",
                email=o.email,
                reason=ReasonOut(code=o.code, message=o.message or ""),
            )
            if o.code
            else CheckResultOut(person_id=o.person_id, status="would_enroll", email=o.email)
            for o in checked.outcomes
        ],
        warnings=checked.warnings,
    )


@router.get("/people/{person_id}/enrollments", response=EnrollmentPage)
def list_person_enrollments(
    request: HttpRequest, person_id: int, paging: Query[Page]
) -> EnrollmentPage:
    """The person's enrollments in the sequences you may see, the latest first (the
    person page's Sequences section)."""
    if not Person.objects.filter(pk=person_id).exists():
        raise NotFound("person")
    start, end = paging.bounds
    rows = enrollment.visible_enrollments(caller(request)).filter(person_id=person_id)
    page = (
        rows.select_related("version")
        .prefetch_related("emails")
        .order_by("-enrolled_at", "-id")[start:end]
    )
    return EnrollmentPage(items=[enrollment_out(e) for e in page], count=rows.count())


@router.get("/sequences/{sequence_id}/enrollments", response=EnrollmentPage)
def list_enrollments(
    request: HttpRequest,
    sequence_id: int,
    paging: Query[Page],
    status: Text | None = None,
) -> EnrollmentPage:
    start, end = paging.bounds
    sequence, _ = access.require_level(caller(request), sequence_id, Level.READ_ONLY)
    rows = Enrollment.objects.filter(sequence=sequence)
    if status:
        rows = rows.filter(status=status)
    page = (
        rows.select_related("version")
        .prefetch_related("emails")
        .order_by("-enrolled_at", "-id")[start:end]
    )
    return EnrollmentPage(items=[enrollment_out(e) for e in page], count=rows.count())


@router.get("/sequences/{sequence_id}/preview", response=list[PreviewOut])
def preview_for_person(
    request: HttpRequest,
    sequence_id: int,
    person_id: int,
    email: Text | None = None,
    mailbox_id: int | None = None,
    member_id: int | None = None,
) -> list[PreviewOut]:
    """The emails a person would receive if enrolled now, from the latest version."""
    user = caller(request)
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    version = latest_version(sequence)
    if version is None:
        raise InvalidInput("Publish the sequence to preview it.", code="not_published")
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound("person")
    if mailbox_id is None and member_id is None:
        member_id = user.pk
    mailbox = delegation.sending_mailbox(user, sequence, mailbox_id=mailbox_id, member_id=member_id)
    address = (email or person.primary_email or "").lower()
    if not address:
        raise InvalidInput(
            "This person has no email address.", field="person_id", code="no_address"
        )
    # The sending mailbox is a mail row; the preview still names its model type.
    sender = cast(Mailbox, mailbox)
    ai_texts = for_preview(version_id=version.pk, person_id=person.pk, clock=system_clock)
    return _preview_out(
        preview_person(version, person, address, sender, system_clock.now(), ai_texts=ai_texts)
    )


@router.get("/sequences/{sequence_id}/stats", response=StatsOut)
def stats(request: HttpRequest, sequence_id: int) -> StatsOut:
    """Sent, replied, bounced, unsubscribed, meetings and spam complaints, per step and
    overall, with rates.

    Overall figures are per recipient reached; per-step figures per email sent."""
    sequence, _ = access.require_level(caller(request), sequence_id, Level.READ_ONLY)
    version = latest_version(sequence)
    result = sequence_stats(sequence, len(version.steps) if version else 0)
    return StatsOut(
        enrolled=result.enrolled,
        active=result.active,
        completed=result.completed,
        emails_sent=result.emails_sent,
        overall=FiguresOut(**_figures(result.overall)),
        steps=[StepFiguresOut(step=i, **_figures(f)) for i, f in enumerate(result.steps)],
    )


@router.get("/enrollments/{enrollment_id}", response=EnrollmentOut)
def get_enrollment(request: HttpRequest, enrollment_id: int) -> EnrollmentOut:
    return enrollment_out(enrollment.get_enrollment(caller(request), enrollment_id))


@router.get("/enrollments/{enrollment_id}/timeline", response=list[TimelineOut])
def get_timeline(request: HttpRequest, enrollment_id: int) -> list[TimelineOut]:
    """Everything that happened to this recipient: emails, replies, bounces, exits."""
    e = enrollment.get_enrollment(caller(request), enrollment_id)
    return [
        TimelineOut(
            at=utc_iso(entry.at),
            kind=entry.kind,
            summary=entry.summary,
            step=entry.step,
            inbound_message_id=entry.inbound_message_id,
            detail=entry.detail,
        )
        for entry in timeline(e)
    ]


@router.get("/enrollments/{enrollment_id}/messages/{message_id}/raw")
def raw_message(request: HttpRequest, enrollment_id: int, message_id: int) -> HttpResponse:
    """The raw message behind a timeline entry, as it arrived (message/rfc822)."""
    e = enrollment.get_enrollment(caller(request), enrollment_id)
    row = InboundMessage.objects.filter(pk=message_id, enrollment_events__enrollment=e).first()
    if row is None:
        raise NotFound("message")
    raw = bytes(row.raw)
    if not raw:  # dropped by housekeeping; the timeline keeps what it said
        raise ApiError(404, "not_kept", RAW_REMOVED)
    response = HttpResponse(raw, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{row.pk}.eml"'
    return response


@router.get("/enrollments/{enrollment_id}/preview", response=list[PreviewOut])
def preview(request: HttpRequest, enrollment_id: int) -> list[PreviewOut]:
    e = enrollment.get_enrollment(caller(request), enrollment_id)
    ai_texts = for_preview(version_id=e.version_id, person_id=e.person_id, clock=system_clock)
    return _preview_out(preview_enrollment(e, ai_texts=ai_texts))


def _control(request: HttpRequest, enrollment_id: int, action: str) -> EnrollmentOut:
    operation = {
        "pause": enrollment.pause,
        "resume": enrollment.resume,
        "remove": enrollment.remove,
        "send-now": enrollment.send_now,
    }[action]
    operation(caller(request), enrollment_id, clock=system_clock)
    return enrollment_out(enrollment.get_enrollment(caller(request), enrollment_id))


@router.post("/enrollments/{enrollment_id}/pause", response=EnrollmentOut)
def pause(request: HttpRequest, enrollment_id: int) -> EnrollmentOut:
    return _control(request, enrollment_id, "pause")


@router.post("/enrollments/{enrollment_id}/resume", response=EnrollmentOut)
def resume(request: HttpRequest, enrollment_id: int) -> EnrollmentOut:
    """Resume a paused or failed recipient; times are recomputed from now."""
    return _control(request, enrollment_id, "resume")


@router.post("/enrollments/{enrollment_id}/remove", response=EnrollmentOut)
def remove(request: HttpRequest, enrollment_id: int) -> EnrollmentOut:
    return _control(request, enrollment_id, "remove")


@router.post("/enrollments/{enrollment_id}/send-now", response=EnrollmentOut)
def send_now(request: HttpRequest, enrollment_id: int) -> EnrollmentOut:
    """Send the next email now (limits and unsubscribes still apply)."""
    return _control(request, enrollment_id, "send-now")


@router.get("/notifications", response=list[NotificationOut])
def notifications(request: HttpRequest, unread: bool = False) -> list[NotificationOut]:
    rows = Notification.objects.filter(user=caller(request)).order_by("-created_at")
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return [NotificationOut.from_orm(n) for n in rows[:200]]


@router.post("/notifications/{notification_id}/read", response={204: None})
def mark_read(request: HttpRequest, notification_id: int) -> Status[None]:
    updated = Notification.objects.filter(
        pk=notification_id, user=caller(request), read_at__isnull=True
    ).update(read_at=system_clock.now())
    if (
        not updated
        and not Notification.objects.filter(pk=notification_id, user=caller(request)).exists()
    ):
        raise NotFound("notification")
    return Status(204, None)
