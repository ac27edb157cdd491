"""The Enroll dialog: what it shows before enrolling (from the service's dry run), and
what confirming does, for every access level."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, ListEntry, PersonList
from sequencer.sequences import delegation, enrollment
from sequencer.sequences.models import Enrollment
from sequencer.sequences.suppression import suppress

from .conftest import LEVELS
from .enrolling import mailbox_of, many_people, person, published

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _enroll_form(sequence, people, sender: str, **extra: str) -> dict[str, str]:
    return {
        "sequence": str(sequence.pk),
        "people": ",".join(str(p.pk) for p in people),
        "sender": sender,
        **extra,
    }


def test_signed_out_visitors_are_sent_to_sign_in(admin):
    sequence = published(admin)
    page = Client().get(f"/enroll/?sequence={sequence.pk}")
    confirm = Client().post("/enroll/", {"sequence": sequence.pk})
    assert page.status_code == confirm.status_code == 302
    assert page["Location"].startswith("/login/")
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("level", LEVELS)
def test_the_dialog_and_its_confirmation_follow_each_access_level(
    admin, browser_of, member_with, level
):
    sequence = published(admin)
    viewer = member_with(sequence, level)
    box = mailbox_of(viewer, f"viewer{viewer.pk}@acme.test")
    bea = person("Bea", "bea@initech.test")
    client = browser_of(viewer)

    page = client.get(f"/enroll/?sequence={sequence.pk}&person={bea.pk}")
    confirm = client.post("/enroll/", _enroll_form(sequence, [bea], f"mailbox:{box.pk}"))

    enrolled = Enrollment.objects.filter(sequence=sequence, person=bea).exists()
    html = page.content.decode()
    if level == "no_access":
        assert page.status_code == confirm.status_code == 404
        assert not enrolled
    elif level == "read_only":
        assert page.status_code == 200 and confirm.status_code == 403
        assert "You have read-only access to “Q3 outreach”, so you cannot enroll" in html
        assert 'id="enroll-confirm"' not in html and 'name="sender"' not in html
        assert not enrolled
    else:
        assert page.status_code == confirm.status_code == 200
        assert "Enroll 1 person" in html and 'id="enroll-confirm"' in html
        assert "Enrolled 1 person in “Q3 outreach”" in confirm.content.decode()
        assert enrolled


def test_refused_recipients_are_listed_with_the_services_reason_before_confirming(
    admin, browser_of
):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    ok = person("Olga", "olga@initech.test")
    gone = person("Una", "una@initech.test")
    suppress(box.email, "una@initech.test", reason="unsubscribed", clock=system_clock)
    bounced = person("Bob", "bob@initech.test")
    EmailAddress.objects.filter(email="bob@initech.test").update(
        undeliverable_since=datetime(2026, 3, 1, tzinfo=UTC), undeliverable_reason="550 no user"
    )
    active = person("Ava", "ava@initech.test")
    enrollment.enroll(
        admin, sequence.pk, [enrollment.Recipient(active.pk)], mailbox_id=box.pk, clock=system_clock
    )
    nobody = person("Nia")
    people = [ok, gone, bounced, active, nobody]

    page = browser_of(admin).get(
        f"/enroll/?sequence={sequence.pk}&" + "&".join(f"person={p.pk}" for p in people)
    )

    html = page.content.decode()
    assert "1 will be enrolled" in html and "4 will not" in html
    assert "Will not be enrolled (4)" in html
    assert "una@initech.test unsubscribed from emails sent by ada@acme.test." in html
    assert "Mail to bob@initech.test bounced on 2026-03-01 (550 no user)" in html
    assert "This person is already active in this sequence." in html
    assert "This person has no email address; add one to enroll them." in html
    assert "Enroll 1 person" in html
    # Looking is not enrolling.
    assert Enrollment.objects.filter(sequence=sequence).count() == 1


def test_choosing_another_address_changes_what_happens_and_is_the_one_enrolled(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    cleo = person("Cleo", "cleo@old.test", "cleo@new.test")
    EmailAddress.objects.filter(email="cleo@old.test").update(
        undeliverable_since=datetime(2026, 3, 1, tzinfo=UTC)
    )
    client = browser_of(admin)
    other = {f"address-{cleo.pk}": "cleo@new.test"}

    first = client.get(f"/enroll/?sequence={sequence.pk}&person={cleo.pk}").content.decode()
    chosen = client.get(
        "/enroll/", _enroll_form(sequence, [cleo], f"mailbox:{box.pk}", **other), **HTMX
    ).content.decode()
    done = client.post("/enroll/", _enroll_form(sequence, [cleo], f"mailbox:{box.pk}", **other))

    assert 'aria-label="Address for Cleo Tester"' in first
    assert "Mail to cleo@old.test bounced" in first and 'id="enroll-confirm"' not in first
    assert '<option value="cleo@new.test" selected>' in chosen
    assert "1 will be enrolled" in chosen and "bounced on" not in chosen.split("<option")[0]
    assert done.status_code == 200
    assert Enrollment.objects.get(sequence=sequence).email == "cleo@new.test"


def test_the_preview_shows_every_step_with_the_persons_data_in_the_viewers_time_zone(
    admin, browser_of
):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")
    dora = person("Dora", "dora@initech.test")
    client = browser_of(admin)
    client.cookies["viewer_tz"] = "Asia/Tokyo"

    html = client.get(
        f"/enroll/?sequence={sequence.pk}&person={dora.pk}&preview={dora.pk}"
    ).content.decode()

    assert "Preview for Dora Tester" in html
    assert "Times are your time (Tokyo)" in html
    assert "Hello Dora" in html and "RE: Hello Dora" in html
    assert "Hi Dora!" in html and "Following up, Dora." in html
    assert "<strong>Email 1</strong>" in html and "<strong>Email 2</strong>" in html
    # Shown inside the page, email formatting loses its inline styles (the CSP refuses them).
    assert 'style="' not in html.split('id="enroll-preview"')[1]


def test_the_sender_offers_own_mailboxes_and_delegated_senders_and_enrolls_as_chosen(
    admin, browser_of, make_member
):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")
    mia = make_member("mia@acme.test", name="Mia Member")
    mia_box = mailbox_of(mia, "mia@acme.test")
    delegation.set_own_delegation(mia, sequence.pk, enabled=True, clock=system_clock)
    eve = person("Eve", "eve@initech.test")
    client = browser_of(admin)

    html = client.get(f"/enroll/?sequence={sequence.pk}&person={eve.pk}").content.decode()
    client.post("/enroll/", _enroll_form(sequence, [eve], f"member:{mia.pk}"))

    assert "You · ada@acme.test (default)" in html
    assert "Mia Member · mia@acme.test (delegated sender)" in html
    made = Enrollment.objects.get(sequence=sequence)
    assert made.mailbox_id == mia_box.pk and made.sender_id == mia.pk


def test_a_member_without_any_mailbox_is_told_what_to_do_next_to_the_sender(
    admin, browser_of, make_member
):
    sequence = published(admin)
    eve = person("Eve", "eve@initech.test")

    page = browser_of(admin).get(f"/enroll/?sequence={sequence.pk}&person={eve.pk}")

    html = page.content.decode()

    assert 'id="enroll-sender-error"' in html and "You have no mailbox to send from" in html
    assert 'id="enroll-confirm"' not in html


def test_without_a_sequence_only_published_sequences_the_member_may_enroll_into_are_offered(
    admin, browser_of, make_member, member_with
):
    mine = published(admin, name="Mine to enroll")
    watched = published(admin, name="Only watched")
    viewer = member_with(watched, "read_only")
    from sequencer.sequences import access

    listing = access.access_list(mine)
    access.set_access(
        mine,
        workspace_access="no_access",
        members=[(i, lv.slug) for i, lv in listing.members] + [(viewer.pk, "read_write")],
        teams=[],
    )
    from sequencer.sequences import authoring
    from sequencer.sequences.authoring import StepInput

    authoring.create_sequence(
        viewer, name="Draft only", steps=[StepInput(0, "Hi", "<p>x</p>")], clock=system_clock
    )

    html = browser_of(viewer).get("/enroll/").content.decode()

    assert "Choose a sequence…" in html and "Mine to enroll" in html
    assert "Only watched" not in html and "Draft only" not in html
    assert "Nobody is selected yet" in html


def test_a_list_opens_with_its_chosen_entries_or_all_of_them(admin, browser_of):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")
    warm = PersonList.objects.create(name="Warm leads")
    entries = [
        ListEntry.objects.create(person_list=warm, person=person(f"L{i}", f"l{i}@initech.test"))
        for i in range(3)
    ]
    client = browser_of(admin)

    chosen = client.get(
        f"/enroll/?sequence={sequence.pk}&list={warm.pk}&entry={entries[1].pk}"
    ).content.decode()
    whole = client.get(f"/enroll/?sequence={sequence.pk}&list={warm.pk}").content.decode()

    assert "Recipients (1)" in chosen and "L1 Tester" in chosen and "L0 Tester" not in chosen
    assert "Recipients (3)" in whole and "Enroll 3 people" in whole


def test_more_than_a_thousand_people_keeps_the_first_thousand_and_says_so_above(admin, browser_of):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")
    big = PersonList.objects.create(name="Everyone")
    ListEntry.objects.bulk_create(
        [ListEntry(person_list=big, person=p) for p in many_people(1001, "Big")]
    )

    html = browser_of(admin).get(f"/enroll/?sequence={sequence.pk}&list={big.pk}").content.decode()

    limit = html.index('id="enroll-limit"')
    assert limit < html.index("Recipients (1000)")
    assert "You chose 1001 people, but at most 1,000 can be enrolled at once." in html
    assert "enroll the other 1 afterwards" in html
    assert "Enroll 1000 people" in html


def test_opened_from_a_button_through_htmx_it_answers_with_a_modal_dialog(admin, browser_of):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")

    html = (
        browser_of(admin)
        .get(f"/enroll/?sequence={sequence.pk}&in_dialog=1", **HTMX)
        .content.decode()
    )

    assert html.lstrip().startswith('<dialog id="enroll-dialog"')
    assert 'aria-labelledby="enroll-title"' in html and "<html" not in html
    assert 'data-dialog-close aria-label="Close"' in html
    assert '<input type="hidden" name="in_dialog" value="1">' in html


@pytest.mark.parametrize("preview", [False, True])
def test_the_dialog_costs_the_same_queries_for_10_or_200_people(admin, browser_of, preview):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    few, many = many_people(10, "Few"), many_people(200, "Many")
    for group in (few, many):
        suppress(box.email, group[1].email_addresses.get().email, reason="x", clock=system_clock)
    client = browser_of(admin)

    def url(group) -> str:
        shown = f"&preview={group[0].pk}" if preview else ""
        return f"/enroll/?sequence={sequence.pk}&people={','.join(str(p.pk) for p in group)}{shown}"

    client.get(url(few))
    with CaptureQueriesContext(connection) as with_ten:
        ten = client.get(url(few))
    with CaptureQueriesContext(connection) as with_two_hundred:
        two_hundred = client.get(url(many))

    assert "Enroll 9 people" in ten.content.decode()
    assert "Enroll 199 people" in two_hundred.content.decode()
    assert len(with_ten) == len(with_two_hundred)


def test_people_are_found_by_name_or_address_added_and_taken_out_again(admin, browser_of):
    sequence = published(admin)
    mailbox_of(admin, "ada@acme.test")
    kim = person("Kim", "kim@initech.test", last="Park")
    lou = person("Lou", "lou@initech.test", last="Reed")
    warm = PersonList.objects.create(name="Warm leads")
    ListEntry.objects.create(person_list=warm, person=lou)
    client = browser_of(admin)
    base = {"sequence": str(sequence.pk), "people": ""}

    found = client.get("/enroll/", {**base, "q": "initech park"}, **HTMX).content.decode()
    added = client.get("/enroll/", {**base, "q": "park", "add": kim.pk}).content.decode()
    listed = client.get("/enroll/", {**base, "people": str(kim.pk), "add_list": warm.pk})
    dropped = client.get("/enroll/", {**base, "people": f"{kim.pk},{lou.pk}", "drop": kim.pk})

    assert f'name="add" value="{kim.pk}" aria-label="Add Kim Park"' in found
    assert "Lou Reed" not in found
    assert "Recipients (1)" in added and f'name="people" value="{kim.pk}"' in added
    # The search starts afresh once someone was added.
    assert 'name="q" value=""' in added
    assert f'name="people" value="{kim.pk},{lou.pk}"' in listed.content.decode()
    assert f'name="people" value="{lou.pk}"' in dropped.content.decode()
    assert "Nobody matches “zzz”" in client.get("/enroll/", {**base, "q": "zzz"}).content.decode()
