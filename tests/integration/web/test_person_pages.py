"""A person's page and the form that creates or edits a person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.crm.attributes import create_attribute
from sequencer.crm.emails import mark_undeliverable
from sequencer.crm.lists import add_entry, create_list
from sequencer.crm.models import Company, ListEntry, Person, PersonList
from sequencer.sequences import access, authoring, enrollment
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Enrollment, Sequence

from .records_helpers import company, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(admin, peer_mailbox):
    return peer_mailbox(admin, imap=False)


def _enroll_in_new_sequence(admin, mailbox, who: Person, name: str) -> None:
    sequence = authoring.create_sequence(
        admin,
        name=name,
        steps=[StepInput(delay_days=1, subject="Hello", body_html="<p>Hi</p>")],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    done = enrollment.enroll(
        admin,
        sequence.pk,
        [enrollment.Recipient(who.pk)],
        mailbox_id=mailbox.pk,
        clock=system_clock,
    )
    assert done.outcomes[0].enrolled, done.outcomes[0].message


def test_the_person_page_shows_addresses_company_lists_and_attributes(admin, browser_of):
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    initech = company("Initech")
    ada = person(
        "Ada",
        "Lovelace",
        "ada@initech.test",
        "old@initech.test",
        company=initech,
        job_title="CTO",
        attributes={"segment": "Enterprise"},
    )
    mark_undeliverable("old@initech.test", "550 no such user", datetime(2026, 3, 1, tzinfo=UTC))
    add_entry(create_list("Q3 prospects"), ada.pk)

    page = browser_of(admin).get(f"/people/{ada.pk}/").content.decode()

    assert "<h1>Ada Lovelace</h1>" in page
    assert 'ada@initech.test</span>\n          <span class="badge live">Primary</span>' in page
    assert "Undeliverable" in page and "550 no such user" in page
    assert f'href="/companies/{initech.pk}/">Initech</a>' in page
    assert "Q3 prospects" in page and "Enterprise" in page
    assert f'href="/enroll/?person={ada.pk}"' in page
    assert "Not in any sequence yet" in page


def test_the_person_page_shows_sequences_with_status_and_the_timeline(admin, browser_of, mailbox):
    ada = person("Ada", "Lovelace", "ada@initech.test")
    _enroll_in_new_sequence(admin, mailbox, ada, "Q3 outreach")

    page = browser_of(admin).get(f"/people/{ada.pk}/").content.decode()

    assert "Q3 outreach" in page and '<span class="badge active">Active</span>' in page
    assert "Enrolled in version 1, to ada@initech.test" in page


def test_the_person_page_shows_enrolled_dates_and_the_timeline_in_the_viewers_zone(
    admin, browser_of, mailbox
):
    ada = person("Ada", "Lovelace", "ada@initech.test")
    _enroll_in_new_sequence(admin, mailbox, ada, "Q3 outreach")
    # 02:30 UTC on 4 March is still the evening of 3 March in New York.
    Enrollment.objects.filter(person=ada).update(
        enrolled_at=datetime(2025, 3, 4, 2, 30, tzinfo=UTC)
    )
    client = browser_of(admin)

    utc_page = client.get(f"/people/{ada.pk}/").content.decode()
    client.cookies["viewer_tz"] = "America/New_York"
    page = client.get(f"/people/{ada.pk}/").content.decode()

    assert "enrolled <time" in page and ">3 Mar 2025</time>" in page
    assert ">3 Mar 2025, 21:30</time>" in page
    assert "Times are your time (New York)." in page
    assert ">4 Mar 2025, 02:30</time>" in utc_page and "Times are your time (UTC)." in utc_page


def test_lists_and_companies_show_their_dates_in_the_viewers_zone(admin, browser_of):
    initech = company("Initech")
    team = create_list("Late signups")
    ada = person("Ada", "Lovelace", "ada@initech.test")
    add_entry(team, ada.pk)
    late = datetime(2025, 3, 4, 2, 30, tzinfo=UTC)
    Company.objects.filter(pk=initech.pk).update(created_at=late)
    PersonList.objects.filter(pk=team.pk).update(created_at=late)
    ListEntry.objects.filter(person_list=team).update(added_at=late)
    client = browser_of(admin)
    client.cookies["viewer_tz"] = "America/New_York"

    for url in ("/companies/", "/lists/", f"/lists/{team.pk}/"):
        html = client.get(url).content.decode()
        assert ">3 Mar 2025</time>" in html, url
        assert "4 Mar 2025" not in html, url


def test_sequences_a_member_cannot_see_stay_off_the_person_page(
    admin, make_member, browser_of, mailbox
):
    ada = person("Ada", "Lovelace")
    _enroll_in_new_sequence(admin, mailbox, ada, "Secret plan")
    secret = Sequence.objects.get(name="Secret plan")
    listing = access.access_list(secret)
    access.set_access(
        secret,
        workspace_access="no_access",
        members=[(i, level.slug) for i, level in listing.members],
        teams=[],
    )
    member = make_member(name="Bea")

    page = browser_of(member).get(f"/people/{ada.pk}/").content.decode()

    assert "Secret plan" not in page
    assert "Not in any sequence yet" in page
    assert "Secret plan" in browser_of(admin).get(f"/people/{ada.pk}/").content.decode()


def test_the_person_page_costs_the_same_queries_with_many_addresses_lists_and_sequences(
    admin, browser_of, mailbox
):
    few = person("Few", "Things", "few@x.test")
    many = person("Many", "Things", *[f"many{i}@x.test" for i in range(8)])
    _enroll_in_new_sequence(admin, mailbox, few, "Only one")
    add_entry(create_list("Only list"), few.pk)
    for i in range(6):
        _enroll_in_new_sequence(admin, mailbox, many, f"Sequence {i}")
        add_entry(create_list(f"List {i}"), many.pk)
    client = browser_of(admin)
    client.get(f"/people/{few.pk}/")

    with CaptureQueriesContext(connection) as one:
        client.get(f"/people/{few.pk}/")
    with CaptureQueriesContext(connection) as six:
        response = client.get(f"/people/{many.pk}/")

    assert response.content.decode().count('class="enrollment-name"') == 6
    assert len(six) == len(one)


def test_an_unknown_person_is_not_found(admin, browser_of):
    assert browser_of(admin).get("/people/999999/").status_code == 404
    assert browser_of(admin).get("/people/999999/edit/").status_code == 404


def test_creating_a_person_with_two_addresses_and_a_new_company(admin, browser_of):
    create_attribute("people", "score", "Score", "number")
    response = browser_of(admin).post(
        "/people/new/",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": ["grace@navy.test", "Grace@Home.test", ""],
            "primary": "1",
            "company": "US Navy",
            "job_title": "Rear admiral",
            "time_zone": "america/new_york",
            "attr-score": "42",
        },
    )

    grace = Person.objects.get(first_name="Grace")
    assert response.status_code == 302 and response["Location"] == f"/people/{grace.pk}/"
    assert [(e.email, e.is_primary) for e in grace.ordered_emails] == [
        ("grace@home.test", True),
        ("grace@navy.test", False),
    ]
    assert grace.company == Company.objects.get(name="US Navy")
    assert grace.time_zone == "America/New_York"
    assert grace.attributes == {"score": 42}


def test_a_person_is_given_an_existing_company_whatever_the_case(admin, browser_of):
    initech = company("Initech")
    browser_of(admin).post(
        "/people/new/", {"first_name": "Ada", "email": ["ada@x.test"], "company": "INITECH"}
    )
    assert Person.objects.get().company == initech
    assert Company.objects.count() == 1


def test_errors_show_next_to_each_field_and_keep_what_was_typed(admin, browser_of):
    create_attribute("people", "score", "Score", "number")
    person("Taken", "Person", "taken@x.test")

    response = browser_of(admin).post(
        "/people/new/",
        {
            "first_name": "Ada",
            "email": ["not an address", "taken@x.test"],
            "primary": "0",
            "time_zone": "Mars/Olympus",
            "attr-score": "many",
        },
    )
    page = response.content.decode()

    assert response.status_code == 400
    assert 'id="email-0" name="email" value="not an address"' in page
    assert 'id="email-0-error"' in page and "is not a valid email address" in page
    assert 'id="time_zone-error"' in page and "is not a time zone" in page
    assert 'id="attr-score-error"' in page and "Score is a number" in page
    assert 'value="Ada"' in page
    assert Person.objects.filter(first_name="Ada").count() == 0


def test_an_address_of_someone_else_is_refused_on_its_own_row(admin, browser_of):
    person("Taken", "Person", "taken@x.test")
    page = (
        browser_of(admin)
        .post("/people/new/", {"first_name": "Ada", "email": ["ada@x.test", "taken@x.test"]})
        .content.decode()
    )
    assert 'id="email-1-error"' in page and "already an address of Taken Person" in page


def test_a_person_needs_an_address(admin, browser_of):
    response = browser_of(admin).post("/people/new/", {"first_name": "Ada", "email": [""]})
    assert response.status_code == 400
    assert "needs at least one email address" in response.content.decode()


def test_editing_a_person_changes_the_primary_and_clears_an_attribute(admin, browser_of):
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    ada = person("Ada", "Lovelace", "ada@a.test", "ada@b.test", attributes={"segment": "SMB"})
    client = browser_of(admin)
    form = client.get(f"/people/{ada.pk}/edit/").content.decode()
    assert 'value="ada@a.test"' in form and 'value="ada@b.test"' in form

    response = client.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "last_name": "King",
            "email": ["ada@a.test", "ada@b.test", ""],
            "primary": "1",
            "attr-segment": "",
        },
    )

    ada.refresh_from_db()
    assert response.status_code == 302
    assert ada.last_name == "King" and ada.attributes == {}
    assert ada.primary_email == "ada@b.test"
