"""The template library: reusable subjects and bodies, saved from and inserted into steps."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictInt

from sequencer.api.auth import caller
from sequencer.api.pagination import Page
from sequencer.api.sequence_shapes import SequenceOut, answers, read_sequence
from sequencer.clock import system_clock
from sequencer.inputs import Input
from sequencer.sequences import attachments, library
from sequencer.sequences.models import EmailTemplate

router = Router(tags=["Sequences"])


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


@router.post(
    "/sequences/{sequence_id}/steps/{position}/save-as-template", response={201: TemplateOut}
)
def save_step_as_template(
    request: HttpRequest, sequence_id: int, position: int, payload: SaveAsTemplateIn
) -> Status[TemplateOut]:
    with answers():
        created = library.save_step_as_template(
            caller(request), sequence_id, position, name=payload.name, clock=system_clock
        )
    return Status(201, _template(created))


@router.post("/sequences/{sequence_id}/steps/{position}/insert-template", response=SequenceOut)
def insert_template(
    request: HttpRequest, sequence_id: int, position: int, payload: InsertTemplateIn
) -> SequenceOut:
    """Copy a template into the step (``position`` one past the last adds a step)."""
    user = caller(request)
    with answers():
        library.insert_template(
            user, sequence_id, position, payload.template_id, clock=system_clock
        )
        return read_sequence(user, sequence_id)


@router.post("/templates", response={201: TemplateOut})
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[TemplateOut]:
    created = library.create_template(
        caller(request),
        name=payload.name,
        subject=payload.subject,
        body_html=payload.body_html,
        attachment_ids=list(payload.attachment_ids),
        clock=system_clock,
    )
    return Status(201, _template(created))


@router.get("/templates", response=TemplatePage)
def list_templates(request: HttpRequest, page: Query[Page]) -> TemplatePage:
    start, stop = page.bounds
    found = library.all_templates()
    return TemplatePage(items=[_template(t) for t in found[start:stop]], count=found.count())


@router.get("/templates/{template_id}", response=TemplateOut)
def get_template(request: HttpRequest, template_id: int) -> TemplateOut:
    with answers():
        return _template(library.get_template(template_id))


@router.patch("/templates/{template_id}", response=TemplateOut)
def update_template(request: HttpRequest, template_id: int, payload: TemplatePatch) -> TemplateOut:
    with answers():
        updated = library.update_template(
            caller(request),
            template_id,
            name=payload.name,
            subject=payload.subject,
            body_html=payload.body_html,
            attachment_ids=None if payload.attachment_ids is None else list(payload.attachment_ids),
            clock=system_clock,
        )
    return _template(updated)


@router.delete("/templates/{template_id}", response={204: None})
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    with answers():
        library.delete_template(caller(request), template_id)
    return Status(204, None)
