"""Sequences: authoring, publishing, versions.

Access is checked on every call: a sequence the caller may not see answers 404 exactly
like one that does not exist; a visible one with too low a level answers 403. The other
parts of a sequence have their own routers: access (:mod:`sequencer.api.sequence_access`),
the template library (:mod:`sequencer.api.templates`) and files
(:mod:`sequencer.api.attachments`).
"""

from __future__ import annotations

from django.db.models import Count, Max
from django.http import HttpRequest
from ninja import Query, Router, Status

from sequencer.api.auth import caller
from sequencer.api.sequence_shapes import (
    PhraseOut,
    PublishOut,
    SequenceFilter,
    SequenceIn,
    SequenceOut,
    SequencePage,
    SequencePatch,
    SequenceSummaryOut,
    SettingsOut,
    VersionOut,
    VersionPage,
    _settings,
    _step_inputs,
    _version_summary,
    answers,
    read_sequence,
    sequence_out,
    steps_out,
)
from sequencer.clock import system_clock
from sequencer.domain.sequence_rules import UNSUBSCRIBE_PHRASES, Level
from sequencer.sequences import access, authoring
from sequencer.sequences.models import (
    Sequence,
    SequenceVersion,
    Step,
)

router = Router(tags=["Sequences"])


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
        clock=system_clock,
    )
    return Status(201, sequence_out(sequence, Level.FULL_ACCESS))


@router.get("/sequences", response=SequencePage)
def list_sequences(request: HttpRequest, filters: Query[SequenceFilter]) -> SequencePage:
    """The sequences the caller can see, most recently changed first."""
    user = caller(request)
    start, stop = filters.bounds
    found = access.visible_sequences(user)
    if filters.status is not None:
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
    with answers():
        return read_sequence(caller(request), sequence_id)


@router.patch("/sequences/{sequence_id}", response=SequenceOut)
def update_sequence(request: HttpRequest, sequence_id: int, payload: SequencePatch) -> SequenceOut:
    """Change the draft: ``settings`` merges, ``steps`` replaces the whole list."""
    user = caller(request)
    with answers():
        authoring.update_draft(
            user,
            sequence_id,
            name=payload.name,
            description=payload.description,
            settings=_settings(payload.settings),
            steps=_step_inputs(payload.steps),
            clock=system_clock,
        )
        return read_sequence(user, sequence_id)


@router.post("/sequences/{sequence_id}/publish", response=PublishOut)
def publish_sequence(request: HttpRequest, sequence_id: int) -> PublishOut:
    """Check everything and freeze the draft as the next version."""
    with answers():
        created = authoring.publish(caller(request), sequence_id, clock=system_clock)
    return PublishOut(version=created.number)


@router.post("/sequences/{sequence_id}/discard", response=SequenceOut)
def discard_changes(request: HttpRequest, sequence_id: int) -> SequenceOut:
    """Put the draft back to the latest published version."""
    user = caller(request)
    with answers():
        authoring.discard(user, sequence_id, clock=system_clock)
        return read_sequence(user, sequence_id)


@router.post("/sequences/{sequence_id}/duplicate", response={201: SequenceOut})
def duplicate_sequence(request: HttpRequest, sequence_id: int) -> Status[SequenceOut]:
    """A new draft with the same settings and steps (never the recipients)."""
    with answers():
        copy = authoring.duplicate(caller(request), sequence_id, clock=system_clock)
    return Status(201, sequence_out(copy, Level.FULL_ACCESS))


@router.post("/sequences/{sequence_id}/archive", response=SequenceOut)
def archive_sequence(request: HttpRequest, sequence_id: int) -> SequenceOut:
    user = caller(request)
    with answers():
        authoring.archive(user, sequence_id, clock=system_clock)
        return read_sequence(user, sequence_id)


@router.post("/sequences/{sequence_id}/unarchive", response=SequenceOut)
def unarchive_sequence(request: HttpRequest, sequence_id: int) -> SequenceOut:
    user = caller(request)
    with answers():
        authoring.unarchive(user, sequence_id, clock=system_clock)
        return read_sequence(user, sequence_id)


@router.get("/sequences/{sequence_id}/versions", response=VersionPage)
def list_versions(request: HttpRequest, sequence_id: int) -> VersionPage:
    with answers():
        found = authoring.versions(caller(request), sequence_id)
    return VersionPage(items=[_version_summary(v) for v in found], count=len(found))


@router.get("/sequences/{sequence_id}/versions/{number}", response=VersionOut)
def get_version(request: HttpRequest, sequence_id: int, number: int) -> VersionOut:
    with answers():
        found = authoring.version(caller(request), sequence_id, number)
    return VersionOut(
        **_version_summary(found).model_dump(),
        settings=SettingsOut(**found.settings),
        steps=steps_out(found.steps, found.settings["thread_emails"]),
    )
