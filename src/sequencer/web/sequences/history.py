"""Version history: each published version, who published it and when, and what changed.

One query for the versions (with their publishers) whatever their number; the
comparison of each version with the one before is done in memory
(:mod:`sequencer.web.sequences.version_diff`).

Publication times are shown in the viewer's zone (:mod:`sequencer.web.viewer_zone`, the
cookie ``shell.js`` sets on every page); in UTC, saying so, until the browser has said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sequencer.sequences import authoring
from sequencer.sequences.models import SequenceVersion
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.guard import access_answers
from sequencer.web.sequences.version_diff import VersionDiff, compare
from sequencer.web.viewer_zone import UTC, viewer_zone


@dataclass
class VersionEntry:
    number: int
    published_at: datetime
    published_when: str  # in the viewer's zone, e.g. "4 Dec 2026, 19:20"
    published_by: str
    step_count: int
    diff: VersionDiff | None  # None for the first version: nothing to compare with


def when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M}"


def zone_label(zone: ZoneInfo) -> str:
    """How the times name their zone: "UTC", or "your time (Europe/Berlin)"."""
    if zone.key == "UTC":
        return "UTC"
    return f"your time ({zone.key})"


def entries(versions: list[SequenceVersion], zone: ZoneInfo = UTC) -> list[VersionEntry]:
    """Newest first, each compared with the version published before it."""
    out: list[VersionEntry] = []
    previous: SequenceVersion | None = None
    for version in versions:
        diff = (
            compare(previous.settings, previous.steps, version.settings, version.steps)
            if previous is not None
            else None
        )
        out.append(
            VersionEntry(
                number=version.number,
                published_at=version.published_at,
                published_when=when(version.published_at, zone),
                published_by=str(version.published_by)
                if version.published_by
                else "A former member",
                step_count=len(version.steps),
                diff=diff,
            )
        )
        previous = version
    return out[::-1]


@login_required
@access_answers
def history(request: HttpRequest, sequence_id: int) -> HttpResponse:
    member = signed_in_member(request)
    sequence, level = authoring.get_sequence(member, sequence_id)
    versions = authoring.versions(member, sequence_id)
    zone = viewer_zone(request)
    return render(
        request,
        "web/sequences/history.html",
        {
            "section": "sequences",
            "sequence": sequence,
            "level": level,
            "entries": entries(versions, zone),
            "zone_label": zone_label(zone),
            "has_unpublished_changes": sequence.has_unpublished_changes,
        },
    )
