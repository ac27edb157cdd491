"""Sequences in the API: the shapes of a sequence, its settings, steps and versions, and
how the services' lookup failures are answered (shared by the sequence routers).

Steps are numbered from 0 everywhere: ``position`` in responses, ``{position}`` in
paths and ``steps.N`` in error fields name the same step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field, StrictBool, StrictInt

from sequencer.api.errors import Forbidden, NotFound
from sequencer.api.pagination import Page
from sequencer.domain.sequence_rules import Level
from sequencer.inputs import Input
from sequencer.sequences import authoring, library
from sequencer.sequences.models import (
    Sequence,
    SequenceStatus,
    SequenceVersion,
)
from sequencer.workspace.models import User


@contextmanager
def answers() -> Iterator[None]:
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
    signature: str | None = Field(
        None, description="\"default\" (the sender's default signature) or a signature's name."
    )
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
    signature: str = "default"
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


class PhraseOut(Schema):
    id: str
    text: str
    link_text: str


class SequenceFilter(Page):
    status: SequenceStatus | None = None


def steps_out(snapshot_steps: list[dict[str, Any]], thread_emails: bool) -> list[StepOut]:
    return [
        StepOut(
            **authoring.public_step(step),
            subject_editable=index == 0 or not thread_emails,
        )
        for index, step in enumerate(snapshot_steps)
    ]


def latest_number(sequence: Sequence) -> int | None:
    latest = authoring.latest_version(sequence)
    return latest.number if latest else None


def sequence_out(sequence: Sequence, level: Level) -> SequenceOut:
    snapshot = authoring.draft_snapshot(sequence)
    settings = snapshot["settings"]
    return SequenceOut(
        id=sequence.pk,
        name=sequence.name,
        display_name=sequence.display_name,
        description=sequence.description,
        status=sequence.status,
        settings=SettingsOut(**settings),
        steps=steps_out(snapshot["steps"], settings["thread_emails"]),
        has_unpublished_changes=sequence.has_unpublished_changes,
        latest_version=latest_number(sequence),
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


def read_sequence(user: User, sequence_id: int) -> SequenceOut:
    sequence, level = authoring.get_sequence(user, sequence_id)
    return sequence_out(sequence, level)
