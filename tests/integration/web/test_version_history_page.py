"""Version history: who published each version, when, and what changed from the one before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import SequenceVersion

from .conftest import LEVELS

pytestmark = pytest.mark.django_db


def _republish(member, sequence, subject: str, body: str, **settings: object) -> None:
    authoring.update_draft(
        member,
        sequence.pk,
        settings=settings or None,
        steps=[StepInput(subject=subject, body_html=body)],
        clock=system_clock,
    )
    authoring.publish(member, sequence.pk, clock=system_clock)


def test_each_version_shows_its_publisher_and_what_changed_side_by_side(
    admin, browser_of, make_sequence, make_member
):
    editor = make_member(name="Eddie Editor")
    sequence = make_sequence(name="Renewals")
    authoring.publish(admin, sequence.pk, clock=system_clock)
    _republish(
        editor,
        sequence,
        "Hello 0",
        "<p>Body 0, now with a reason to reply.</p>",
        time_zone="Europe/Berlin",
    )

    html = browser_of(admin).get(f"/sequences/{sequence.pk}/versions/").content.decode()

    newest, oldest = html.index('id="version-2"'), html.index('id="version-1"')
    assert newest < oldest  # newest first
    version_2 = html[newest:oldest]
    assert "Published by Eddie Editor" in version_2
    assert '<th scope="row">Time zone</th>' in version_2
    assert '<del><span class="visually-hidden">removed: </span>UTC</del>' in version_2
    assert '<ins><span class="visually-hidden">added: </span>Europe/Berlin</ins>' in version_2
    assert "<h3>Email 1</h3>" in version_2
    # Body 0 -> "Body 0, now with a reason to reply.": the shared words stay unmarked.
    assert (
        'Body 0<ins><span class="visually-hidden">added: </span>, now with a reason to reply.</ins>'
        in version_2
    )
    assert "Subject" not in version_2  # unchanged fields are not listed
    assert "Published by Ada Admin" in html[oldest:]
    assert "The first published version, with 1 email." in html[oldest:]


def test_a_sequence_never_published_says_so(admin, browser_of, make_sequence):
    sequence = make_sequence()
    html = browser_of(admin).get(f"/sequences/{sequence.pk}/versions/").content.decode()
    assert "Not published yet" in html


@pytest.mark.parametrize("level", LEVELS)
def test_anyone_who_sees_the_sequence_sees_its_history(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence()
    authoring.publish(admin, sequence.pk, clock=system_clock)
    response = browser_of(member_with(sequence, level)).get(f"/sequences/{sequence.pk}/versions/")
    assert response.status_code == (404 if level == "no_access" else 200)


def test_the_history_costs_the_same_queries_for_2_and_30_versions(admin, browser_of, make_sequence):
    few_versions, many_versions = make_sequence(), make_sequence()
    for sequence, count in ((few_versions, 2), (many_versions, 30)):
        authoring.publish(admin, sequence.pk, clock=system_clock)
        for n in range(count - 1):
            _republish(admin, sequence, f"Subject {n}", f"<p>Body {n}</p>")
    client = browser_of(admin)
    client.get(f"/sequences/{few_versions.pk}/versions/")

    with CaptureQueriesContext(connection) as few:
        client.get(f"/sequences/{few_versions.pk}/versions/")
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/sequences/{many_versions.pk}/versions/")

    assert page.content.decode().count('class="version card"') == 30
    assert len(many) == len(few)


def _published_at(sequence, moment: datetime) -> None:
    SequenceVersion.objects.filter(sequence=sequence).update(published_at=moment)


def test_publication_times_are_in_the_viewers_zone_with_the_zone_named(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    authoring.publish(admin, sequence.pk, clock=system_clock)
    _published_at(sequence, datetime(2026, 12, 4, 18, 20, tzinfo=UTC))
    client = browser_of(admin)
    url = f"/sequences/{sequence.pk}/versions/"

    before_the_browser_said = client.get(url).content.decode()
    # The cookie shell.js sets once the browser has said where the viewer is.
    client.cookies["viewer_tz"] = "Asia/Tokyo"
    tokyo = client.get(url).content.decode()
    client.cookies["viewer_tz"] = "America/New_York"
    in_new_york = client.get(url).content.decode()

    assert "5 Dec 2026, 03:20 your time (Asia/Tokyo)" in tokyo  # already the next day there
    assert "4 Dec 2026, 13:20 your time (America/New_York)" in in_new_york
    assert "4 Dec 2026, 18:20 UTC" in before_the_browser_said
    assert 'datetime="2026-12-04T18:20:00+00:00"' in before_the_browser_said


def test_an_unknown_viewer_zone_falls_back_to_utc(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.publish(admin, sequence.pk, clock=system_clock)
    _published_at(sequence, datetime(2026, 12, 4, 18, 20, tzinfo=UTC))

    client = browser_of(admin)
    client.cookies["viewer_tz"] = "Mars/Olympus"
    html = client.get(f"/sequences/{sequence.pk}/versions/").content.decode()

    assert "4 Dec 2026, 18:20 UTC" in html
