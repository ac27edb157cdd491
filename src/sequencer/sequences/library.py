"""The template library: emails saved for reuse across sequences.

The library is shared by the whole workspace, like a team's snippets: every member can
browse templates and insert them into sequences they may edit. Changing or deleting a
template is for the member who created it and for admins. Inserting a template copies
its subject, body and files into the step; later changes to the template do not reach
sequences that used it.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq

from django.db import transaction
from django.db.models import Q, QuerySet

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import (
    MAX_BODY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STEPS,
    MAX_SUBJECT_LENGTH,
    Level,
    clean_subject,
    default_delay,
)
from sequencer.sequences import access, attachments, authoring
from sequencer.sequences.html import sanitize_html
from sequencer.sequences.models import Attachment, EmailTemplate, Sequence, Step
from sequencer.workspace.models import User


class TemplateNotFound(Exception):
    pass


class NotTemplateOwner(Exception):
    def __init__(self) -> None:
        super().__init__(
            "Only the member who created this template, or an admin, can change or delete it; "
            "save a copy as a new template instead."
        )


class StepNotFound(Exception):
    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(position)


def all_templates() -> QuerySet[EmailTemplate]:
    return EmailTemplate.objects.order_by("name", "pk").prefetch_related("attachments")


def get_template(template_id: int) -> EmailTemplate:
    found = all_templates().filter(pk=template_id).first()
    if found is None:
        raise TemplateNotFound(template_id)
    return found


def find_templates(text: str = "") -> QuerySet[EmailTemplate]:
    """Templates whose name, subject or body holds every word of ``text``, by name.

    Without the files: a list to choose from needs only the words.
    """
    found = EmailTemplate.objects.order_by("name", "pk")
    for word in text.split():
        found = found.filter(
            Q(name__icontains=word) | Q(subject__icontains=word) | Q(body_html__icontains=word)
        )
    return found


@transaction.atomic
def create_template(
    user: User,
    *,
    name: str,
    subject: str = "",
    body_html: str = "",
    attachment_ids: Seq[object] = (),
    clock: Clock,
) -> EmailTemplate:
    now = clock.now()
    template = EmailTemplate(created_by=user, created_at=now, updated_at=now)
    _apply(user, template, name=name, subject=subject, body_html=body_html)
    files = _files(user, body_html=template.body_html, attachment_ids=attachment_ids)
    template.save()
    template.attachments.set(files)
    return template


@transaction.atomic
def update_template(
    user: User,
    template_id: int,
    *,
    name: str | None = None,
    subject: str | None = None,
    body_html: str | None = None,
    attachment_ids: Seq[object] | None = None,
    clock: Clock,
) -> EmailTemplate:
    template = _owned(user, template_id)
    _apply(user, template, name=name, subject=subject, body_html=body_html)
    if attachment_ids is None:
        attachment_ids = [a.pk for a in template.attachments.all() if not a.inline]
    files = _files(user, body_html=template.body_html, attachment_ids=attachment_ids)
    template.updated_at = clock.now()
    template.save()
    template.attachments.set(files)
    return template


@transaction.atomic
def delete_template(user: User, template_id: int) -> None:
    _owned(user, template_id).delete()


def _owned(user: User, template_id: int) -> EmailTemplate:
    template = EmailTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise TemplateNotFound(template_id)
    if not user.is_admin and template.created_by_id != user.pk:
        raise NotTemplateOwner()
    return template


def _apply(
    user: User,
    template: EmailTemplate,
    *,
    name: str | None,
    subject: str | None,
    body_html: str | None,
) -> None:
    if name is not None or template.pk is None:
        clean = (name or "").strip()
        if not clean:
            raise InvalidInput("Give the template a name.", field="name", code="required")
        if len(clean) > MAX_NAME_LENGTH:
            raise InvalidInput(
                f"The name is {len(clean)} characters; use at most {MAX_NAME_LENGTH}.",
                field="name",
                code="too_long",
            )
        # Templates are chosen by name from one workspace-wide list: two with the same
        # name could not be told apart there.
        same = EmailTemplate.objects.filter(name__iexact=clean).exclude(pk=template.pk)
        if same.exists():
            raise InvalidInput(
                f'A template named "{clean}" already exists; choose another name.',
                field="name",
                code="duplicate",
            )
        template.name = clean
    if subject is not None:
        clean_sub = clean_subject(subject)
        if len(clean_sub) > MAX_SUBJECT_LENGTH:
            raise InvalidInput(
                f"The subject is {len(clean_sub)} characters; use at most {MAX_SUBJECT_LENGTH}.",
                field="subject",
                code="too_long",
            )
        template.subject = clean_sub
    if body_html is not None:
        if len(body_html) > MAX_BODY_LENGTH:
            raise InvalidInput(
                f"The body is larger than {MAX_BODY_LENGTH // 1024} KB of HTML.",
                field="body_html",
                code="too_long",
            )
        template.body_html = sanitize_html(body_html, field="body_html")


def _files(user: User, *, body_html: str, attachment_ids: Seq[object]) -> list[Attachment]:
    files = attachments.attachments_for(user, list(attachment_ids), field="attachment_ids")
    inline = attachments.inline_images_for(user, body_html, field="body_html")
    attachments.check_email_size(files + inline, field="attachment_ids")
    return files + inline


# --- Between sequences and the library ----------------------------------------------------


def save_step_as_template(
    user: User,
    sequence_id: int | str,
    position: int,
    *,
    name: str,
    clock: Clock,
) -> EmailTemplate:
    """A new template from a step of the draft, with the subject it would be sent with."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    snapshot = authoring.draft_snapshot(sequence)
    steps = snapshot["steps"]
    if not 0 <= position < len(steps):
        raise StepNotFound(position)
    step = steps[position]
    return create_template(
        user,
        name=name,
        subject=step["subject"],
        body_html=step["body_html"],
        attachment_ids=step["attachment_ids"],
        clock=clock,
    )


@transaction.atomic
def insert_template(
    user: User,
    sequence_id: int | str,
    position: int,
    template_id: int,
    *,
    clock: Clock,
) -> Sequence:
    """Put a template's subject, body and files into step ``position`` of the draft.

    ``position`` may be one past the last step, which adds a step with the default delay.
    """
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    template = get_template(template_id)
    count = sequence.steps.count()
    if not 0 <= position <= count:
        raise StepNotFound(position)
    if position == count and count >= MAX_STEPS:
        raise InvalidInput(
            f"A sequence has at most {MAX_STEPS} steps.", field="steps", code="too_many_steps"
        )
    steps = [
        authoring.StepInput(
            delay_days=s.delay_days,
            subject=s.subject,
            body_html=s.body_html,
            attachment_ids=[a.pk for a in s.attachments.all() if not a.inline],
        )
        for s in Step.objects.filter(sequence=sequence).prefetch_related("attachments")
    ]
    inserted = authoring.StepInput(
        delay_days=steps[position].delay_days if position < count else default_delay(position),
        subject=template.subject,
        body_html=template.body_html,
        attachment_ids=[a.pk for a in template.attachments.all() if not a.inline],
    )
    if position < count:
        steps[position] = inserted
    else:
        steps.append(inserted)
    return authoring.update_draft(user, sequence.pk, steps=steps, clock=clock)
