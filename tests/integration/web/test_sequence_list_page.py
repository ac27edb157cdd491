"""The sequences list in the browser's terms: what it shows, filters, and its actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.crm.models import Person
from sequencer.mail.models import Mailbox
from sequencer.sequences import authoring
from sequencer.sequences.models import Enrollment, Sequence, SequenceStatus, SequenceVersion

from .conftest import LEVELS

pytestmark = pytest.mark.django_db


def test_the_list_shows_name_status_creator_and_last_publish(admin, browser_of, make_sequence):
    live = make_sequence(name="Q3 outreach")
    authoring.publish(admin, live.pk, clock=system_clock)
    make_sequence(name="")

    page = browser_of(admin).get("/sequences/").content.decode()

    assert "Q3 outreach" in page
    assert "Untitled Sequence" in page
    assert '<span class="badge live">Live</span>' in page
    assert '<span class="badge draft">Draft</span>' in page
    assert "Ada Admin" in page
    assert "Never" in page  # the draft was never published
    assert 'aria-label="Actions for Q3 outreach"' in page


def test_a_workspace_without_sequences_says_how_to_start(admin, browser_of):
    page = browser_of(admin).get("/sequences/").content.decode()
    assert "No sequences yet" in page
    assert "New sequence" in page


def test_archived_sequences_show_only_with_the_toggle(admin, browser_of, make_sequence):
    old = make_sequence(name="Old campaign")
    authoring.archive(admin, old.pk, clock=system_clock)
    make_sequence(name="Current campaign")
    client = browser_of(admin)

    hidden = client.get("/sequences/").content.decode()
    shown = client.get("/sequences/?archived=on").content.decode()

    assert "Old campaign" not in hidden and "Current campaign" in hidden
    assert "Old campaign" in shown and ">Unarchive<" not in hidden
    assert "Unarchive" in shown


def test_the_list_filters_by_creator(admin, make_member, browser_of, make_sequence):
    bea = make_member(name="Bea Seller")
    make_sequence(owner=bea, name="Bea's sequence")
    make_sequence(name="Ada's sequence")

    page = browser_of(admin).get(f"/sequences/?creator={bea.pk}").content.decode()

    assert "Bea&#x27;s sequence" in page
    assert "Ada&#x27;s sequence" not in page


def test_the_list_sorts_by_last_published(admin, browser_of, make_sequence):
    first = make_sequence(name="Published long ago")
    authoring.publish(admin, first.pk, clock=system_clock)
    SequenceVersion.objects.filter(sequence=first).update(
        published_at=system_clock.now() - timedelta(days=30)
    )
    second = make_sequence(name="Published today")
    authoring.publish(admin, second.pk, clock=system_clock)
    make_sequence(name="Never published")  # created last: first when sorted by creation

    by_created = browser_of(admin).get("/sequences/?sort=created").content.decode()
    by_published = browser_of(admin).get("/sequences/?sort=published").content.decode()

    assert by_created.index("Never published") < by_created.index("Published today")
    order = [by_published.index(n) for n in ("Published today", "Published long ago")]
    assert order == sorted(order)
    assert by_published.index("Published long ago") < by_published.index("Never published")


def _many_sequences(admin, make_member, count: int) -> None:
    others = [make_member(name=f"Seller {i}") for i in range(3)]
    now = system_clock.now()
    rows = Sequence.objects.bulk_create(
        [
            Sequence(
                name=f"Sequence {i}",
                created_by=[admin, *others][i % 4],
                status=SequenceStatus.LIVE if i % 2 else SequenceStatus.DRAFT,
                settings={},
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        ]
    )
    SequenceVersion.objects.bulk_create(
        [
            SequenceVersion(sequence=s, number=1, settings={}, steps=[], published_at=now)
            for s in rows
            if s.status == SequenceStatus.LIVE
        ]
    )


@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_list_costs_the_same_queries_for_10_and_200_sequences(
    admin, make_member, browser_of, role
):
    viewer = admin if role == "admin" else make_member(name="Viewer")
    client = browser_of(viewer)
    client.get("/sequences/")  # session and workspace warmed up

    _many_sequences(admin, make_member, 10)
    with CaptureQueriesContext(connection) as ten:
        assert client.get("/sequences/").status_code == 200
    _many_sequences(admin, make_member, 190)
    with CaptureQueriesContext(connection) as two_hundred:
        response = client.get("/sequences/?sort=published")
    assert response.status_code == 200

    assert response.content.decode().count('id="menu-') == 50  # one full page of rows
    assert len(two_hundred) == len(ten)


def test_new_sequence_creates_a_draft_and_opens_its_editor(admin, browser_of):
    response = browser_of(admin).post("/sequences/new/")

    created = Sequence.objects.get()
    assert created.status == SequenceStatus.DRAFT
    assert created.created_by == admin
    assert response.status_code == 302
    assert response["Location"] == f"/sequences/{created.pk}/"


def test_duplicate_from_the_list_makes_a_copy_owned_by_whoever_clicked(
    admin, browser_of, make_sequence, member_with
):
    source = make_sequence(name="Onboarding", steps=2)
    reader = member_with(source, "read_only")

    response = browser_of(reader).post(
        f"/sequences/{source.pk}/duplicate/", {"return_query": "archived=on"}
    )

    copy = Sequence.objects.exclude(pk=source.pk).get()
    assert copy.name == "Copy of Onboarding"
    assert copy.created_by == reader
    assert copy.steps.count() == 2
    assert response["Location"] == "/sequences/?archived=on"


def test_archive_and_unarchive_from_the_list(admin, browser_of, make_sequence):
    sequence = make_sequence()
    client = browser_of(admin)

    client.post(f"/sequences/{sequence.pk}/archive/")
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.ARCHIVED

    client.post(f"/sequences/{sequence.pk}/unarchive/")
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.DRAFT


@pytest.mark.parametrize("level", LEVELS)
def test_the_list_and_its_actions_follow_each_access_level(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence(name="Private plan")
    viewer = member_with(sequence, level)
    client = browser_of(viewer)

    page = client.get("/sequences/").content.decode()
    archive = client.post(f"/sequences/{sequence.pk}/archive/")
    duplicate = client.post(f"/sequences/{sequence.pk}/duplicate/")

    if level == "no_access":
        assert "Private plan" not in page
        assert archive.status_code == 404 and duplicate.status_code == 404
    elif level == "read_only":
        assert "Private plan" in page
        assert "Duplicate sequence" in page and ">Archive<" not in page.replace("\n", "")
        assert archive.status_code == 403
        assert duplicate.status_code == 302
    else:
        assert "Private plan" in page and "Archive" in page
        assert archive.status_code == 302 and duplicate.status_code == 302
    sequence.refresh_from_db()
    expected = SequenceStatus.DRAFT if level in ("no_access", "read_only") else "archived"
    assert sequence.status == expected


def _enroll_many(admin, sequence, count: int, finished_every: int = 3) -> None:
    """``count`` enrollments in ``sequence``; every ``finished_every``-th one finished."""
    version = authoring.latest_version(sequence)
    mailbox = Mailbox.objects.get_or_create(
        owner=admin,
        email="admin@mail.test",
        defaults={"provider": "smtp_imap", "smtp_host": "smtp.mail.test", "smtp_port": 587},
    )[0]
    start = Person.objects.count()
    people = Person.objects.bulk_create([Person(first_name=f"P{start + i}") for i in range(count)])
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                sequence=sequence,
                version=version,
                person=person,
                email=f"p{person.pk}@bench.test",
                mailbox=mailbox,
                sender=admin,
                status="finished" if i % finished_every == 0 else "active",
                time_zone="UTC",
                enrolled_at=system_clock.now(),
            )
            for i, person in enumerate(people)
        ]
    )


def test_each_row_counts_its_active_and_total_recipients(admin, browser_of, make_sequence):
    busy, quiet = make_sequence(name="Busy"), make_sequence(name="Quiet")
    for sequence in (busy, quiet):
        authoring.publish(admin, sequence.pk, clock=system_clock)
    _enroll_many(admin, busy, 6)  # 2 of the 6 finished

    page = browser_of(admin).get("/sequences/").content.decode()

    busy_row = page[page.index(">Busy</a>") :]
    busy_row = busy_row[: busy_row.index("</tr>")]
    quiet_row = page[page.index(">Quiet</a>") :]
    quiet_row = quiet_row[: quiet_row.index("</tr>")]
    assert '<td class="num">4</td>' in busy_row and '<td class="num wide-only">6</td>' in busy_row
    assert '<td class="num">0</td>' in quiet_row and '<td class="num wide-only">0</td>' in quiet_row


def test_the_list_costs_the_same_queries_for_5_and_500_enrollments(
    admin, browser_of, make_sequence
):
    sequences = [make_sequence(name=f"S{i}") for i in range(3)]
    for sequence in sequences:
        authoring.publish(admin, sequence.pk, clock=system_clock)
    client = browser_of(admin)
    client.get("/sequences/")

    _enroll_many(admin, sequences[0], 5)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/sequences/").status_code == 200
    _enroll_many(admin, sequences[1], 495)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/sequences/").content.decode()

    assert len(many) == len(few)
    assert '<td class="num wide-only">495</td>' in page
