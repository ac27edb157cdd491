"""Sequences: authoring, versions, access, attachments and the template library.

Steps are numbered from 0 everywhere: ``position`` in responses, ``{position}`` in
paths and ``steps.N`` in error fields name the same step.

Access is checked on every call: a sequence the caller may not see answers 404 exactly
like one that does not exist; a visible one with too low a level answers 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field, StrictBool, StrictInt

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.api.pagination import Page
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import UNSUBSCRIBE_PHRASES, Level
from sequencer.inputs import Input
from sequencer.sequences import access, attachments, authoring, library
from sequencer.sequences.models import (
    Attachment,
    EmailTemplate,
    Sequence,
    SequenceStatus,
    SequenceVersion,
    Step,
)
from sequencer.workspace.models import User

router = Router(tags=["Sequences"])


@contextmanager
def _answers() -> Iterator[None]:
    """Turn the services' lookup failures into the API's 404 (access is mapped for every
    router in :mod:`sequencer.api.errors`)."""
    try:
        yield
    except authoring.VersionNotFound:
        raise NotFound("version") from None
    except library.TemplateNotFound:
        raise NotFound("template") from None
    except library.StepNotFound as exc:
        raise NotFound(f"step at position {exc.position}") from None
    except library.NotTemplateOwner as exc:
        raise Forbidden(str(exc)) from None


# --- Schemas ------------------------------------------------------------------------------


class WindowIn(Input):
    start: str | None = None
    end: str | None = None


class SettingsIn(Input):
    """Every key optional: only the keys sent change."""

    window: WindowIn | None = None
    time_zone: str | None = None
    business_days_only: StrictBool | None = None
    holiday_country: str | None = None
    use_recipient_time_zone: StrictBool | None = None
    unsubscribe_phrase: str | None = None
    thread_emails: StrictBool | None = None
    include_signature: StrictBool | None = None
    exit_on_reply: StrictBool | None = None
    exit_on_meeting_booked: StrictBool | None = None
    pause_on_out_of_office: StrictBool | None = None


class StepIn(Input):
    delay_days: StrictInt | None = Field(
        None, description="Days after the previous step (the first: after enrollment)."
    )
    subject: str = ""
    body_html: str = ""
    attachment_ids: list[StrictInt] = Field(default_factory=list)
    # Read-only fields of StepOut, accepted and ignored so that a step read with GET can
    # be sent back unchanged.
    position: int | None = None
    subject_editable: bool | None = None
    inline_image_ids: list[int] | None = None
    ai_prompts: list[str] | None = None


class SequenceIn(Input):
    name: str = ""
    description: str = ""
    settings: SettingsIn | None = None
    steps: list[StepIn] | None = None
    workspace_access: str | None = Field(
        None, description="Level for members without a grant; default read_write."
    )


class SequencePatch(Input):
    name: str | None = None
    description: str | None = None
    settings: SettingsIn | None = None
    steps: list[StepIn] | None = Field(None, description="Replaces every step.")


class WindowOut(Schema):
    start: str
    end: str


class SettingsOut(Schema):
    window: WindowOut
    time_zone: str
    business_days_only: bool
    holiday_country: str | None
    use_recipient_time_zone: bool
    unsubscribe_phrase: str
    thread_emails: bool
    include_signature: bool
    exit_on_reply: bool
    exit_on_meeting_booked: bool
    pause_on_out_of_office: bool = True


class StepOut(Schema):
    position: int
    delay_days: int
    subject: str = Field(description="As sent: later threaded steps read 'RE: <first subject>'.")
    subject_editable: bool
    body_html: str
    attachment_ids: list[int]
    inline_image_ids: list[int]
    ai_prompts: list[str]


class SequenceOut(Schema):
    id: int
    name: str
    display_name: str
    description: str
    status: str
    settings: SettingsOut
    steps: list[StepOut]
    has_unpublished_changes: bool
    latest_version: int | None
    access_level: str
    workspace_access: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class SequenceSummaryOut(Schema):
    id: int
    name: str
    display_name: str
    description: str
    status: str
    step_count: int
    has_unpublished_changes: bool
    latest_version: int | None
    access_level: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class SequencePage(Schema):
    items: list[SequenceSummaryOut]
    count: int


class PublishOut(Schema):
    version: int


class VersionSummaryOut(Schema):
    number: int
    published_at: datetime
    published_by: int | None


class VersionPage(Schema):
    items: list[VersionSummaryOut]
    count: int


class VersionOut(VersionSummaryOut):
    settings: SettingsOut
    steps: list[StepOut]


class MemberGrant(Input):
    member_id: int
    level: str


class TeamGrant(Input):
    team_id: int
    level: str


class AccessIO(Input):
    workspace_access: str
    members: list[MemberGrant] = Field(default_factory=list)
    teams: list[TeamGrant] = Field(default_factory=list)


class PhraseOut(Schema):
    id: str
    text: str
    link_text: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None


class TemplateIn(Input):
    name: str
    subject: str = ""
    body_html: str = ""
    attachment_ids: list[StrictInt] = Field(default_factory=list)


class TemplatePatch(Input):
    name: str | None = None
    subject: str | None = None
    body_html: str | None = None
    attachment_ids: list[StrictInt] | None = None


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    body_html: str
    attachment_ids: list[int]
    inline_image_ids: list[int]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class TemplatePage(Schema):
    items: list[TemplateOut]
    count: int


class SaveAsTemplateIn(Input):
    name: str


class InsertTemplateIn(Input):
    template_id: int


class SequenceFilter(Page):
    status: str | None = Field(None, description="draft, live or archived")


# --- Shaping responses --------------------------------------------------------------------


def _steps(snapshot_steps: list[dict[str, Any]], thread_emails: bool) -> list[StepOut]:
    return [
        StepOut(
            **authoring.public_step(step),
            subject_editable=index == 0 or not thread_emails,
        )
        for index, step in enumerate(snapshot_steps)
    ]


def _latest_number(sequence: Sequence) -> int | None:
    latest = authoring.latest_version(sequence)
    return latest.number if latest else None


def _sequence(sequence: Sequence, level: Level) -> SequenceOut:
    snapshot = authoring.draft_snapshot(sequence)
    settings = snapshot["settings"]
    return SequenceOut(
        id=sequence.pk,
        name=sequence.name,
        display_name=sequence.display_name,
        description=sequence.description,
        status=sequence.status,
        settings=SettingsOut(**settings),
        steps=_steps(snapshot["steps"], settings["thread_emails"]),
        has_unpublished_changes=sequence.has_unpublished_changes,
        latest_version=_latest_number(sequence),
        access_level=level.slug,
        workspace_access=sequence.workspace_access,
        created_by=sequence.created_by_id,
        created_at=sequence.created_at,
        updated_at=sequence.updated_at,
    )


def _version_summary(found: SequenceVersion) -> VersionSummaryOut:
    return VersionSummaryOut(
        number=found.number, published_at=found.published_at, published_by=found.published_by_id
    )


def _attachment(found: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=found.pk,
        name=found.name,
        content_type=found.content_type,
        size=found.size,
        sha256=found.sha256,
        inline=found.inline,
        content_id=found.content_id or None,
    )


def _template(found: EmailTemplate) -> TemplateOut:
    files = list(found.attachments.all())
    inline_by_cid = {a.content_id: a.pk for a in files if a.inline}
    return TemplateOut(
        id=found.pk,
        name=found.name,
        subject=found.subject,
        body_html=found.body_html,
        attachment_ids=sorted(a.pk for a in files if not a.inline),
        inline_image_ids=[
            inline_by_cid[cid]
            for cid in attachments.content_ids_in(found.body_html)
            if cid in inline_by_cid
        ],
        created_by=found.created_by_id,
        created_at=found.created_at,
        updated_at=found.updated_at,
    )


def _step_inputs(steps: list[StepIn] | None) -> list[authoring.StepInput] | None:
    if steps is None:
        return None
    return [
        authoring.StepInput(
            delay_days=s.delay_days,
            subject=s.subject,
            body_html=s.body_html,
            attachment_ids=list(s.attachment_ids),
        )
        for s in steps
    ]


def _settings(settings: SettingsIn | None) -> dict[str, Any] | None:
    return None if settings is None else settings.model_dump(exclude_unset=True)


def _read(user: User, sequence_id: int) -> SequenceOut:
    sequence, level = authoring.get_sequence(user, sequence_id)
    return _sequence(sequence, level)


# --- Sequences ------------------------------------------------------------------------------


@router.get("/unsubscribe-phrases", response=list[PhraseOut])
def unsubscribe_phrases(request: HttpRequest) -> list[PhraseOut]:
    """The phrases an email can close with; ``link_text`` is the part that links."""
    return [PhraseOut(id=p.id, text=p.text, link_text=p.link_text) for p in UNSUBSCRIBE_PHRASES]


@router.post("/sequences", response={201: SequenceOut})
def create_sequence(request: HttpRequest, payload: SequenceIn) -> Status[SequenceOut]:
    """Create a draft; every part is optional. The creator gets full access."""
    user = caller(request)
    sequence = authoring.create_sequence(
        user,
        name=payload.name,
        description=payload.description,
        settings=_settings(payload.settings),
        steps=_step_inputs(payload.steps),
        workspace_access=payload.workspace_access,
    )
    return Status(201, _sequence(sequence, Level.FULL_ACCESS))


@router.get("/sequences", response=SequencePage)
def list_sequences(request: HttpRequest, filters: Query[SequenceFilter]) -> SequencePage:
    """The sequences the caller can see, most recently changed first."""
    user = caller(request)
    start, stop = filters.bounds
    found = access.visible_sequences(user)
    if filters.status is not None:
        if filters.status not in SequenceStatus.values:
            raise InvalidInput(
                f"status is one of {', '.join(SequenceStatus.values)}.",
                field="status",
                code="invalid_choice",
            )
        found = found.filter(status=filters.status)
    found = found.order_by("-updated_at", "-pk")
    rows = list(found[start:stop])
    levels = access.levels_for(user, rows)
    counts = _step_counts(rows)
    latest = _latest_numbers(rows)
    items = [
        SequenceSummaryOut(
            id=s.pk,
            name=s.name,
            display_name=s.display_name,
            description=s.description,
            status=s.status,
            step_count=counts.get(s.pk, 0),
            has_unpublished_changes=s.has_unpublished_changes,
            latest_version=latest.get(s.pk),
            access_level=levels[s.pk].slug,
            created_by=s.created_by_id,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in rows
    ]
    return SequencePage(items=items, count=found.count())


def _step_counts(rows: list[Sequence]) -> dict[int, int]:
    return dict(
        Step.objects.filter(sequence__in=[s.pk for s in rows])
        .values("sequence")
        .annotate(n=Count("pk"))
        .values_list("sequence", "n")
    )


def _latest_numbers(rows: list[Sequence]) -> dict[int, int]:
    return dict(
        SequenceVersion.objects.filter(sequence__in=[s.pk for s in rows])
        .values("sequence")
        .annotate(n=Max("number"))
        .values_list("sequence", "n")
    )


@router.get("/sequences/{sequence_id}", response=SequenceOut)
def get_sequence(request: HttpRequest, sequence_id: int) -> SequenceOut:
    """The draft: what the editor shows (for a live sequence, possibly unpublished)."""
    with _answers():
        return _read(caller(request), sequence_id)


@router.patch("/sequences/{sequence_id}", response=SequenceOut)
def update_sequence(request: HttpRequest, sequence_id: int, payload: SequencePatch) -> SequenceOut:
    """Change the draft: ``settings`` merges, ``steps`` replaces the whole list."""
    user = caller(request)
    with _answers():
        authoring.update_draft(
            user,
            sequence_id,
            name=payload.name,
            description=payload.description,
            settings=_settings(payload.settings),
            steps=_step_inputs(payload.steps),
        )
        return _read(user, sequence_id)


@router.post("/sequences/{sequence_id}/publish", response=PublishOut)
def publish_sequence(request: HttpRequest, sequence_id: int) -> PublishOut:
    """Check everything and freeze the draft as the next version."""
    with _answers():
        created = authoring.publish(caller(request), sequence_id)
    return PublishOut(version=created.number)


@router.post("/sequences/{sequence_id}/discard", response=SequenceOut)
def discard_changes(request: HttpRequest, sequence_id: int) -> SequenceOut:
    """Put the draft back to the latest published version."""
    user = caller(request)
    with _answers():
        authoring.discard(user, sequence_id)
        return _read(user, sequence_id)


@router.post("/sequences/{sequence_id}/duplicate", response={201: SequenceOut})
def duplicate_sequence(request: HttpRequest, sequence_id: int) -> Status[SequenceOut]:
    """A new draft with the same settings and steps (never the recipients)."""
    with _answers():
        copy = authoring.duplicate(caller(request), sequence_id)
    return Status(201, _sequence(copy, Level.FULL_ACCESS))


@router.post("/sequences/{sequence_id}/archive", response=SequenceOut)
def archive_sequence(request: HttpRequest, sequence_id: int) -> SequenceOut:
    user = caller(request)
    with _answers():
        authoring.archive(user, sequence_id)
        return _read(user, sequence_id)


@router.post("/sequences/{sequence_id}/unarchive", response=SequenceOut)
def unarchive_sequence(request: HttpRequest, sequence_id: int) -> SequenceOut:
    user = caller(request)
    with _answers():
        authoring.unarchive(user, sequence_id)
        return _read(user, sequence_id)


@router.get("/sequences/{sequence_id}/versions", response=VersionPage)
def list_versions(request: HttpRequest, sequence_id: int) -> VersionPage:
    with _answers():
        found = authoring.versions(caller(request), sequence_id)
    return VersionPage(items=[_version_summary(v) for v in found], count=len(found))


@router.get("/sequences/{sequence_id}/versions/{number}", response=VersionOut)
def get_version(request: HttpRequest, sequence_id: int, number: int) -> VersionOut:
    with _answers():
        found = authoring.version(caller(request), sequence_id, number)
    return VersionOut(
        **_version_summary(found).model_dump(),
        settings=SettingsOut(**found.settings),
        steps=_steps(found.steps, found.settings["thread_emails"]),
    )


# --- Access -----------------------------------------------------------------------------------


def _access(listing: access.AccessList) -> AccessIO:
    return AccessIO(
        workspace_access=listing.workspace_access.slug,
        members=[MemberGrant(member_id=i, level=lv.slug) for i, lv in listing.members],
        teams=[TeamGrant(team_id=i, level=lv.slug) for i, lv in listing.teams],
    )


@router.get("/sequences/{sequence_id}/access", response=AccessIO)
def get_access(request: HttpRequest, sequence_id: int) -> AccessIO:
    """Who has which level; anyone who can see the sequence can see this."""
    with _answers():
        sequence, _ = access.require_level(caller(request), sequence_id, Level.READ_ONLY)
    return _access(access.access_list(sequence))


@router.put("/sequences/{sequence_id}/access", response=AccessIO)
def put_access(request: HttpRequest, sequence_id: int, payload: AccessIO) -> AccessIO:
    """Replace the default and every grant (needs full access)."""
    with _answers():
        sequence, _ = access.require_level(caller(request), sequence_id, Level.FULL_ACCESS)
    return _access(
        access.set_access(
            sequence,
            workspace_access=payload.workspace_access,
            members=[(g.member_id, g.level) for g in payload.members],
            teams=[(g.team_id, g.level) for g in payload.teams],
        )
    )


# --- Steps and the template library -------------------------------------------------------------


@router.post(
    "/sequences/{sequence_id}/steps/{position}/save-as-template", response={201: TemplateOut}
)
def save_step_as_template(
    request: HttpRequest, sequence_id: int, position: int, payload: SaveAsTemplateIn
) -> Status[TemplateOut]:
    with _answers():
        created = library.save_step_as_template(
            caller(request), sequence_id, position, name=payload.name
        )
    return Status(201, _template(created))


@router.post("/sequences/{sequence_id}/steps/{position}/insert-template", response=SequenceOut)
def insert_template(
    request: HttpRequest, sequence_id: int, position: int, payload: InsertTemplateIn
) -> SequenceOut:
    """Copy a template into the step (``position`` one past the last adds a step)."""
    user = caller(request)
    with _answers():
        library.insert_template(user, sequence_id, position, payload.template_id)
        return _read(user, sequence_id)


@router.post("/templates", response={201: TemplateOut})
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[TemplateOut]:
    created = library.create_template(
        caller(request),
        name=payload.name,
        subject=payload.subject,
        body_html=payload.body_html,
        attachment_ids=list(payload.attachment_ids),
    )
    return Status(201, _template(created))


@router.get("/templates", response=TemplatePage)
def list_templates(request: HttpRequest, page: Query[Page]) -> TemplatePage:
    start, stop = page.bounds
    found = library.all_templates()
    return TemplatePage(items=[_template(t) for t in found[start:stop]], count=found.count())


@router.get("/templates/{template_id}", response=TemplateOut)
def get_template(request: HttpRequest, template_id: int) -> TemplateOut:
    with _answers():
        return _template(library.get_template(template_id))


@router.patch("/templates/{template_id}", response=TemplateOut)
def update_template(request: HttpRequest, template_id: int, payload: TemplatePatch) -> TemplateOut:
    with _answers():
        updated = library.update_template(
            caller(request),
            template_id,
            name=payload.name,
            subject=payload.subject,
            body_html=payload.body_html,
            attachment_ids=None if payload.attachment_ids is None else list(payload.attachment_ids),
        )
    return _template(updated)


@router.delete("/templates/{template_id}", response={204: None})
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    with _answers():
        library.delete_template(caller(request), template_id)
    return Status(204, None)


# --- Attachments --------------------------------------------------------------------------------


@router.post("/attachments", response={201: AttachmentOut})
def upload_attachment(
    request: HttpRequest, file: File[UploadedFile], inline: Form[bool] = False
) -> Status[AttachmentOut]:
    """Upload a file (multipart field ``file``); ``inline=true`` for an image shown in a body.

    An inline image's ``content_id`` goes in the body as ``<img src="cid:<content_id>">``;
    other files are attached to a step by listing their id in ``attachment_ids``.
    """
    if file.size is not None and file.size > attachments.MAX_FILE_BYTES:
        data = b"\0" * (attachments.MAX_FILE_BYTES + 1)  # refused below without reading
    else:
        data = file.read(attachments.MAX_FILE_BYTES + 1)
    created = attachments.upload(
        caller(request),
        name=file.name or "",
        content_type=file.content_type or "",
        data=data,
        inline=inline,
    )
    return Status(201, _attachment(created))


def _readable(request: HttpRequest, attachment_id: int) -> Attachment:
    found = attachments.readable_by(caller(request)).filter(pk=attachment_id).first()
    if found is None:
        raise NotFound("attachment")
    return found


@router.get("/attachments/{attachment_id}", response=AttachmentOut)
def get_attachment(request: HttpRequest, attachment_id: int) -> AttachmentOut:
    return _attachment(_readable(request, attachment_id))


@router.get("/attachments/{attachment_id}/content")
def download_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    found = _readable(request, attachment_id)
    data = Attachment.objects.values_list("data", flat=True).get(pk=found.pk)
    response = HttpResponse(bytes(data), content_type=found.content_type)
    # Always a download: an uploaded HTML or SVG file must not run in the app's origin.
    response["Content-Disposition"] = f'attachment; filename="{_header_safe(found.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _header_safe(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isprintable() and ch != '"' else "_" for ch in name)
