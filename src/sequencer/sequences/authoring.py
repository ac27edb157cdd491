"""Writing sequences: drafts, publishing, versions, discarding, duplicating, archiving.

Every function takes the acting member and checks their access first
(:mod:`sequencer.sequences.access`), so the API, the web pages and the CLI cannot
forget to.

The draft is checked for *shape* on every save (a delay of 0 on a later step, an
unknown time zone, a window hour of 25): such input is refused straight away and the
draft is left as it was. Whether the emails can actually be sent (they compile, their
variables exist, they have a body) is only checked by :func:`publish`, because a draft
is allowed to be unfinished. A publish that fails changes nothing.

Name and description are labels rather than content: changing them applies at once
and is not an unpublished change. Settings and steps are content: on a live sequence
they stay a draft until published again, and recipients keep the version they were
enrolled with.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from sequencer.ai.generator import TextGenerator
from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_naming import StepText
from sequencer.domain.sequence_rules import (
    MAX_BODY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STEPS,
    MAX_SUBJECT_LENGTH,
    Level,
    check_delay,
    clean_subject,
    copy_name,
    default_delay,
    default_settings,
    effective_subjects,
    merge_settings,
    validate_settings,
)
from sequencer.domain.variables import VariableCatalog
from sequencer.sequences import access, attachments, naming
from sequencer.sequences.html import sanitize_html
from sequencer.sequences.models import (
    Attachment,
    Sequence,
    SequenceStatus,
    SequenceVersion,
    Step,
)
from sequencer.sequences.templating import ai_prompts, check_template
from sequencer.workspace.models import User

log = logging.getLogger(__name__)

# What a step's snapshot holds beyond what is sent: the subject as the author wrote it,
# restored by "discard" even when threading hides it behind "RE: ...".
_AS_WRITTEN = "subject_as_written"


@dataclass
class StepInput:
    """One step as a client sends it; anything left out takes its default."""

    delay_days: object = None
    subject: str = ""
    body_html: str = ""
    attachment_ids: Seq[object] = field(default_factory=list)


@dataclass
class _CleanStep:
    delay_days: int
    subject: str
    body_html: str
    files: list[Attachment]


# --- Reading ------------------------------------------------------------------------


def get_sequence(user: User, sequence_id: int | str) -> tuple[Sequence, Level]:
    return access.require_level(user, sequence_id, Level.READ_ONLY)


def draft_snapshot(sequence: Sequence) -> dict[str, Any]:
    """The draft as a version would freeze it: ``{"settings": {...}, "steps": [...]}``."""
    # Not validated here: a draft must stay readable even if a setting stopped being valid
    # (a time zone dropped from the database); publishing validates.
    settings = _complete_settings(sequence.settings)
    steps = list(sequence.steps.prefetch_related("attachments").order_by("position"))
    subjects = effective_subjects(
        [s.subject for s in steps], thread_emails=settings["thread_emails"]
    )
    out = []
    for index, (step, subject) in enumerate(zip(steps, subjects, strict=True)):
        # A threaded reply reuses the first email's subject as sent, so the AI variables
        # in it belong to the first step only.
        own_subject = index == 0 or not settings["thread_emails"]
        files = {a.pk: a for a in step.attachments.all()}
        inline_by_cid = {a.content_id: a.pk for a in files.values() if a.inline}
        inline_ids = [
            inline_by_cid[cid]
            for cid in attachments.content_ids_in(step.body_html)
            if cid in inline_by_cid
        ]
        out.append(
            {
                "position": step.position,
                "delay_days": step.delay_days,
                "subject": subject,
                "body_html": step.body_html,
                "attachment_ids": sorted(pk for pk, a in files.items() if not a.inline),
                "inline_image_ids": inline_ids,
                "ai_prompts": (ai_prompts(subject) if own_subject else [])
                + ai_prompts(step.body_html),
                _AS_WRITTEN: step.subject,
            }
        )
    return {"settings": settings, "steps": out}


def _complete_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {**default_settings(), **(settings or {})}
    return {key: merged[key] for key in default_settings()}


def public_step(snapshot_step: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot step without the bookkeeping that only "discard" needs."""
    return {k: v for k, v in snapshot_step.items() if k != _AS_WRITTEN}


def latest_version(sequence: Sequence) -> SequenceVersion | None:
    return sequence.versions.order_by("-number").first()


def versions(user: User, sequence_id: int | str) -> list[SequenceVersion]:
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    return list(sequence.versions.select_related("published_by").order_by("number"))


class VersionNotFound(Exception):
    pass


def version(user: User, sequence_id: int | str, number: int) -> SequenceVersion:
    sequence, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    found = sequence.versions.filter(number=number).first()
    if found is None:
        raise VersionNotFound(number)
    return found


# --- Creating and editing the draft ------------------------------------------------------


@transaction.atomic
def create_sequence(
    user: User,
    *,
    name: str = "",
    description: str = "",
    settings: Mapping[str, Any] | None = None,
    steps: Seq[StepInput] | None = None,
    workspace_access: str | None = None,
    clock: Clock,
) -> Sequence:
    """A new draft; every part is optional (an untitled sequence with no steps is fine)."""
    now = clock.now()
    sequence = Sequence(
        name=_clean_name(name),
        description=_clean_description(description),
        settings=merge_settings(None, settings or {}),
        workspace_access=access.Level.parse(
            workspace_access or access.DEFAULT_WORKSPACE_ACCESS.slug, field="workspace_access"
        ).slug,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    clean_steps = _clean_steps(user, steps or [])
    sequence.save()
    access.grant_creator(sequence, user)
    _write_steps(sequence, clean_steps)
    return sequence


@transaction.atomic
def update_draft(
    user: User,
    sequence_id: int | str,
    *,
    name: str | None = None,
    description: str | None = None,
    settings: Mapping[str, Any] | None = None,
    steps: Seq[StepInput] | None = None,
    clock: Clock,
) -> Sequence:
    """Change the draft. ``settings`` merges into the current ones; ``steps`` replaces all."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    _refuse_archived(sequence, "edit")
    fields = ["updated_at"]
    if name is not None:
        sequence.name = _clean_name(name)
        fields.append("name")
    if description is not None:
        sequence.description = _clean_description(description)
        fields.append("description")
    if settings is not None:
        sequence.settings = merge_settings(sequence.settings, settings)
        fields.append("settings")
    clean_steps = _clean_steps(user, steps) if steps is not None else None
    if clean_steps is not None:
        _write_steps(sequence, clean_steps)
    sequence.updated_at = clock.now()
    sequence.save(update_fields=fields)
    _refresh_unpublished_flag(sequence)
    return sequence


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"The name is {len(name)} characters; use at most {MAX_NAME_LENGTH}.",
            field="name",
            code="too_long",
        )
    return name


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"The description is {len(description)} characters; use at most "
            f"{MAX_DESCRIPTION_LENGTH}.",
            field="description",
            code="too_long",
        )
    return description


def _clean_steps(user: User, steps: Seq[StepInput]) -> list[_CleanStep]:
    if len(steps) > MAX_STEPS:
        raise InvalidInput(
            f"A sequence has at most {MAX_STEPS} steps; this one has {len(steps)}.",
            field="steps",
            code="too_many_steps",
        )
    return [_clean_step(user, index, step) for index, step in enumerate(steps)]


def _clean_step(user: User, index: int, step: StepInput, prefix: str = "steps") -> _CleanStep:
    where = f"{prefix}.{index}"
    delay = check_delay(
        index, default_delay(index) if step.delay_days is None else step.delay_days, field=prefix
    )
    subject = clean_subject(step.subject or "")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidInput(
            f"The subject is {len(subject)} characters; use at most {MAX_SUBJECT_LENGTH}.",
            field=f"{where}.subject",
            code="too_long",
        )
    body = step.body_html or ""
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput(
            f"The body is {len(body) // 1024} KB of HTML; use at most "
            f"{MAX_BODY_LENGTH // 1024} KB (attach large content as a file).",
            field=f"{where}.body_html",
            code="too_long",
        )
    body = sanitize_html(body, field=f"{where}.body_html")
    files = attachments.attachments_for(
        user, list(step.attachment_ids or []), field=f"{where}.attachment_ids"
    )
    inline = attachments.inline_images_for(user, body, field=f"{where}.body_html")
    attachments.check_email_size(files + inline, field=f"{where}.attachment_ids")
    return _CleanStep(
        delay_days=delay,
        subject=subject,
        body_html=body,
        files=files + inline,
    )


def _write_steps(sequence: Sequence, steps: Seq[_CleanStep]) -> None:
    sequence.steps.all().delete()
    for position, step in enumerate(steps):
        row = Step.objects.create(
            sequence=sequence,
            position=position,
            delay_days=step.delay_days,
            subject=step.subject,
            body_html=step.body_html,
        )
        if step.files:
            row.attachments.set(step.files)


def _refresh_unpublished_flag(sequence: Sequence) -> None:
    latest = latest_version(sequence)
    changed = latest is not None and not _same_content(draft_snapshot(sequence), latest)
    if changed != sequence.has_unpublished_changes:
        sequence.has_unpublished_changes = changed
        sequence.save(update_fields=["has_unpublished_changes"])


def _same_content(draft: Mapping[str, Any], published: SequenceVersion) -> bool:
    return draft["settings"] == published.settings and [public_step(s) for s in draft["steps"]] == [
        public_step(s) for s in published.steps
    ]


def _refuse_archived(sequence: Sequence, action: str) -> None:
    if sequence.status == SequenceStatus.ARCHIVED:
        raise InvalidInput(
            f"This sequence is archived; unarchive it before you {action} it.",
            code="archived",
        )


# --- Publishing -------------------------------------------------------------------------


# "[^<>]" rather than "[^>]": each scan stops at the next "<", so text full of "<"
# costs linear time, not quadratic.
_TAGS = re.compile(r"<[^<>]*>")
_BLANK = re.compile(r"(&nbsp;|&#160;|\s|\u00a0)+")


def _has_content(body_html: str) -> bool:
    if re.search(r"<img\b", body_html, re.IGNORECASE):
        return True
    return bool(_BLANK.sub("", _TAGS.sub("", body_html)))


def check_publishable(
    snapshot: Mapping[str, Any], catalog: VariableCatalog, *, field: str = "steps"
) -> None:
    """Raise ``InvalidInput`` for the first reason ``snapshot`` cannot be sent, if any."""
    problems = publish_problems(snapshot, catalog, field=field)
    if problems:
        raise problems[0]


def publish_problems(
    snapshot: Mapping[str, Any], catalog: VariableCatalog | None = None, *, field: str = "steps"
) -> list[InvalidInput]:
    """Every reason ``snapshot`` cannot be sent, in order (the first is what publish raises).

    The editor shows each next to the step and field it concerns, so an author fixes
    them all in one pass instead of publishing once per mistake.
    """
    catalog = catalog if catalog is not None else _catalog()
    try:
        settings = validate_settings(snapshot["settings"])
    except InvalidInput as exc:
        return [exc]
    steps = snapshot["steps"]
    if not steps:
        return [
            InvalidInput(
                "A sequence needs at least one step before it can be published; add an email.",
                field=field,
                code="required",
            )
        ]
    problems: list[InvalidInput] = []
    for index, step in enumerate(steps):
        problems += _step_problems(index, step, settings, catalog, field=field)
    return problems


def _step_problems(
    index: int,
    step: Mapping[str, Any],
    settings: Mapping[str, Any],
    catalog: VariableCatalog,
    *,
    field: str,
) -> list[InvalidInput]:
    """The problems of one step: its delay, else its subject and its body, each checked."""
    where = f"{field}.{index}"
    try:
        check_delay(index, step["delay_days"], field=field)
    except InvalidInput as exc:
        return [exc]
    problems = []
    if index == 0 or not settings["thread_emails"]:
        try:
            if not step["subject"].strip():
                raise InvalidInput(
                    "Give this email a subject.", field=f"{where}.subject", code="required"
                )
            check_template(step["subject"], html=False, catalog=catalog, field=f"{where}.subject")
        except InvalidInput as exc:
            problems.append(exc)
    try:
        if not _has_content(step["body_html"]):
            raise InvalidInput(
                "This email has no body; write one or insert a template.",
                field=f"{where}.body_html",
                code="required",
            )
        check_template(step["body_html"], html=True, catalog=catalog, field=f"{where}.body_html")
    except InvalidInput as exc:
        problems.append(exc)
    return problems


def _catalog() -> VariableCatalog:
    from sequencer.crm.catalog import variable_catalog

    return variable_catalog()


def publish(
    user: User,
    sequence_id: int | str,
    *,
    catalog: VariableCatalog | None = None,
    clock: Clock,
    generator: TextGenerator | None = None,
) -> SequenceVersion:
    """Check the whole draft and freeze it as the next version; nothing changes on failure.

    A sequence published without a name is then named from its emails
    (:mod:`sequencer.sequences.naming`, with ``generator`` or the configured one), after
    the version is committed: naming never holds the lock, and never refuses or undoes
    the publish.
    """
    created = _publish_draft(user, sequence_id, catalog=catalog, clock=clock)
    try:
        written = [
            StepText(step.get(_AS_WRITTEN, step["subject"]), step["body_html"])
            for step in created.steps
        ]
        naming.name_if_untitled(created.sequence_id, written, generator=generator)
    except Exception:
        log.exception("Naming sequence %s after publishing failed.", created.sequence_id)
    return created


@transaction.atomic
def _publish_draft(
    user: User, sequence_id: int | str, *, catalog: VariableCatalog | None, clock: Clock
) -> SequenceVersion:
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    _refuse_archived(sequence, "publish")
    snapshot = draft_snapshot(sequence)
    check_publishable(snapshot, catalog if catalog is not None else _catalog())
    latest = latest_version(sequence)
    now = clock.now()
    created = SequenceVersion.objects.create(
        sequence=sequence,
        number=(latest.number + 1) if latest else 1,
        settings=snapshot["settings"],
        steps=snapshot["steps"],
        published_at=now,
        published_by=user,
        has_ai_slots=any(
            ai_prompts(step["subject"]) or ai_prompts(step["body_html"])
            for step in snapshot["steps"]
        ),
    )
    created.attachments.set(
        Attachment.objects.filter(steps__sequence=sequence).distinct().values_list("pk", flat=True)
    )
    sequence.status = SequenceStatus.LIVE
    sequence.has_unpublished_changes = False
    sequence.settings = snapshot["settings"]
    sequence.updated_at = now
    sequence.save(update_fields=["status", "has_unpublished_changes", "settings", "updated_at"])
    return created


# --- Discarding, duplicating, archiving -------------------------------------------------


@transaction.atomic
def discard(user: User, sequence_id: int | str, *, clock: Clock) -> Sequence:
    """Put the draft back to the latest version."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    _refuse_archived(sequence, "discard changes to")
    latest = latest_version(sequence)
    if latest is None:
        raise InvalidInput(
            "This sequence has never been published, so there is no version to go back to.",
            code="never_published",
        )
    sequence.settings = dict(latest.settings)
    files = {a.pk: a for a in latest.attachments.all()}
    sequence.steps.all().delete()
    for step in latest.steps:
        row = Step.objects.create(
            sequence=sequence,
            position=step["position"],
            delay_days=step["delay_days"],
            subject=step.get(_AS_WRITTEN, step["subject"]),
            body_html=step["body_html"],
        )
        ids = list(step.get("attachment_ids", [])) + list(step.get("inline_image_ids", []))
        row.attachments.set([files[i] for i in ids if i in files])
    sequence.has_unpublished_changes = False
    sequence.updated_at = clock.now()
    sequence.save(update_fields=["settings", "has_unpublished_changes", "updated_at"])
    return sequence


@transaction.atomic
def duplicate(user: User, sequence_id: int | str, *, clock: Clock) -> Sequence:
    """A new draft with the source's draft settings and steps; never its recipients.

    Seeing the source is enough: the copy belongs to the member who made it.
    """
    source, _ = access.require_level(user, sequence_id, Level.READ_ONLY)
    now = clock.now()
    copy = Sequence.objects.create(
        name=copy_name(source.name),
        description=source.description,
        settings=_complete_settings(source.settings),
        workspace_access=access.DEFAULT_WORKSPACE_ACCESS.slug,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    access.grant_creator(copy, user)
    for step in source.steps.prefetch_related("attachments").order_by("position"):
        row = Step.objects.create(
            sequence=copy,
            position=step.position,
            delay_days=step.delay_days,
            subject=step.subject,
            body_html=step.body_html,
        )
        row.attachments.set([a.pk for a in step.attachments.all()])
    return copy


@transaction.atomic
def archive(user: User, sequence_id: int | str, *, clock: Clock) -> Sequence:
    """Retire a sequence: it stays readable (with its versions) but takes no new work."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    if sequence.status != SequenceStatus.ARCHIVED:
        sequence.status = SequenceStatus.ARCHIVED
        sequence.updated_at = clock.now()
        sequence.save(update_fields=["status", "updated_at"])
    return sequence


@transaction.atomic
def unarchive(user: User, sequence_id: int | str, *, clock: Clock) -> Sequence:
    """Back to live when it was ever published, else back to a draft."""
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE, for_update=True)
    if sequence.status == SequenceStatus.ARCHIVED:
        published = sequence.versions.exists()
        sequence.status = SequenceStatus.LIVE if published else SequenceStatus.DRAFT
        sequence.updated_at = clock.now()
        sequence.save(update_fields=["status", "updated_at"])
    return sequence
