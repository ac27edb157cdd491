"""A person's page: attributes, addresses, company, lists, sequences and timeline.

Enrollments are shown only in the sequences the member may see (the same rule as the
enrollments API). Everything is loaded in a fixed number of queries, however many
addresses, lists, enrollments and timeline entries the person has.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse

from sequencer.crm.models import Attribute, ListEntry, Person, RecordObject
from sequencer.sequences.enrollment import visible_enrollments
from sequencer.sequences.models import Enrollment
from sequencer.sequences.timeline import Entry, timeline
from sequencer.web.members import signed_in_member
from sequencer.web.viewer_zone import render_in_viewer_zone
from sequencer.workspace.models import User

# The newest entries shown; the rest stay in each enrollment's timeline in the API.
TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class TimelineRow:
    entry: Entry
    enrollment: Enrollment


def person_with_records(person_id: int) -> Person | None:
    entries = ListEntry.objects.select_related("person_list").order_by("person_list__name")
    return (
        Person.objects.filter(pk=person_id)
        .select_related("company", "owner")
        .prefetch_related("email_addresses", Prefetch("list_entries", queryset=entries))
        .first()
    )


def enrollments_of(user: User, person: Person) -> list[Enrollment]:
    return list(
        visible_enrollments(user)
        .filter(person=person)
        .select_related("sequence", "version")
        .prefetch_related("emails", "events")
        .order_by("-enrolled_at", "-id")
    )


@login_required
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    user = signed_in_member(request)
    found = person_with_records(person_id)
    if found is None:
        raise Http404("No such person.")
    enrollments = enrollments_of(user, found)
    rows = [TimelineRow(entry, e) for e in enrollments for entry in timeline(e)]
    rows.sort(key=lambda r: r.entry.at, reverse=True)
    attributes = [
        (a, (found.attributes or {}).get(a.slug))
        for a in Attribute.objects.filter(object=RecordObject.PEOPLE)
    ]
    return render_in_viewer_zone(
        request,
        "web/records/person.html",
        {
            "section": "people",
            "person": found,
            "emails": found.ordered_emails,
            "attributes": attributes,
            "entries": list(found.list_entries.all()),
            "enrollments": enrollments,
            "timeline": rows[:TIMELINE_LIMIT],
            "timeline_more": max(0, len(rows) - TIMELINE_LIMIT),
        },
    )
