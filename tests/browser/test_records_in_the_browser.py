"""A salesperson finds people, selects some to enroll, adds a person and opens their page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.crm import people as people_service
from sequencer.crm.attributes import create_attribute
from sequencer.crm.companies import create_company
from sequencer.crm.emails import mark_undeliverable
from sequencer.crm.lists import add_entry, create_list
from sequencer.crm.models import Person, PersonList
from sequencer.engine.worker import Worker
from sequencer.sequences import authoring, enrollment
from sequencer.sequences.authoring import StepInput

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "include_signature": False,
}
PEOPLE = [
    ("Ada", "Lovelace", "Initech", "CTO", "Enterprise"),
    ("Grace", "Hopper", "Navy Labs", "Rear admiral", "Enterprise"),
    ("Alan", "Turing", "Bletchley", "Researcher", "SMB"),
    ("Katherine", "Johnson", "Nasa Langley", "Mathematician", "Enterprise"),
    ("Edsger", "Dijkstra", "Eindhoven Tech", "Professor", "SMB"),
    ("Barbara", "Liskov", "Initech", "Head of platform", "Enterprise"),
    ("Donald", "Knuth", "Stanford Press", "Author", "SMB"),
    ("Margaret", "Hamilton", "Apollo Systems", "Director of software", "Enterprise"),
]


def _shot(page: Page, name: str, folder: Path = SCREENSHOTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def _seed() -> None:
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    create_attribute("people", "linkedin", "LinkedIn", "text")
    companies: dict[str, int] = {}
    for first, last, company, title, segment in PEOPLE:
        if company not in companies:
            domain = company.lower().replace(" ", "") + ".test"
            companies[company] = create_company(company, [domain]).pk
        people_service.create_person(
            email_addresses=[f"{first.lower()}@{company.lower().replace(' ', '')}.test"],
            first_name=first,
            last_name=last,
            job_title=title,
            company_id=companies[company],
            attributes={"segment": segment, "linkedin": f"in/{first.lower()}{last.lower()}"},
        )


def _ada_in_two_sequences(admin, mailbox) -> Person:
    ada = Person.objects.get(first_name="Ada")
    people_service.update_person(
        ada,
        email_addresses=["ada@initech.test", "countess@lovelace.test"],
        time_zone="Europe/London",
    )
    mark_undeliverable("countess@lovelace.test", "550 5.1.1 mailbox unknown", system_clock.now())
    add_entry(create_list("Q3 prospects"), ada.pk)
    add_entry(create_list("Conference leads"), ada.pk)
    for name, subject in (("Q3 outreach", "A faster close for Initech"), ("Webinar follow-up", "")):
        sequence = authoring.create_sequence(
            admin,
            name=name,
            settings=ALL_DAY,
            steps=[
                StepInput(
                    delay_days=0, subject=subject or "Thanks for joining", body_html="<p>Hi</p>"
                ),
                StepInput(delay_days=3, subject="", body_html="<p>Following up</p>"),
            ],
            clock=system_clock,
        )
        authoring.publish(admin, sequence.pk, clock=system_clock)
        done = enrollment.enroll(
            admin,
            sequence.pk,
            [enrollment.Recipient(ada.pk)],
            mailbox_id=mailbox.pk,
            clock=system_clock,
        )
        assert done.outcomes[0].enrolled, done.outcomes[0].message
    Worker(clock=system_clock, name="records-test").tick()
    return ada


@pytest.fixture
def mailbox(admin, peer_mailbox):
    box = peer_mailbox(admin, imap=False)
    box.min_spacing_seconds = 0
    box.save()
    return box


def test_a_member_searches_filters_sorts_and_selects_people_to_enroll(
    live_server, page: Page, admin, sign_in, axe, mailbox
):
    _seed()
    _ada_in_two_sequences(admin, mailbox)
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/people/")
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Import CSV")).to_have_attribute(
        "href", "/import/?object=people"
    )
    rows = page.get_by_role("table", name="People").locator("tbody tr")
    expect(rows).to_have_count(len(PEOPLE))
    axe("people table")

    # Search narrows the rows as one types.
    page.get_by_role("searchbox", name="Search").fill("initech")
    expect(rows).to_have_count(2)
    page.get_by_role("searchbox", name="Search").fill("")
    expect(rows).to_have_count(len(PEOPLE))

    # A filter on an attribute, then a sort.
    page.get_by_label("Segment").select_option("Enterprise")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Margaret Hamilton")  # by last name, A to Z
    page.get_by_label("Sort by").select_option("-name")
    expect(rows.first).to_contain_text("Ada Lovelace")
    expect(rows.last).to_contain_text("Margaret Hamilton")
    expect(page).to_have_url(re.compile(r"sort=-name"))

    # The selection bar appears with the first ticked row and counts them.
    bar = page.get_by_role("region", name="Selected people")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Select Barbara Liskov").check()
    page.get_by_role("checkbox", name="Select Ada Lovelace").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("2 selected")
    expect(bar.get_by_role("button", name="Enroll in sequence")).to_be_visible()
    axe("people table with a selection")
    _shot(page, "people-table.png")

    page.set_viewport_size(NARROW)
    expect(bar.get_by_role("button", name="Enroll in sequence")).to_be_visible()
    _shot(page, "people-table-phone.png", Path("/tmp/records-shots"))
    axe("people table on a phone")
    page.set_viewport_size(WIDE)

    # Select all on the page, then clear.
    page.get_by_role("checkbox", name="Select all people on this page").check()
    expect(bar).to_contain_text("5 selected")
    bar.get_by_role("button", name="Clear selection").click()
    expect(bar).to_be_hidden()

    barbara = Person.objects.get(first_name="Barbara").pk
    ada = Person.objects.get(first_name="Ada").pk
    page.get_by_role("checkbox", name="Select Barbara Liskov").check()
    page.get_by_role("checkbox", name="Select Ada Lovelace").check()
    bar.get_by_role("button", name="Enroll in sequence").click()
    page.wait_for_url(re.compile(r"/enroll/"))
    # In the order of the rows (Z to A: Lovelace before Liskov).
    assert page.url == f"{live_server.url}/enroll/?person={ada}&person={barbara}"


def test_a_member_creates_a_person_with_two_addresses_and_opens_their_page(
    live_server, page: Page, admin, sign_in, axe, mailbox
):
    _seed()
    ada = _ada_in_two_sequences(admin, mailbox)
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/people/")
    page.get_by_role("link", name="New person").click()
    expect(page.get_by_role("heading", name="New person")).to_be_visible()
    axe("new person form")

    page.get_by_label("First name").fill("Hedy")
    page.get_by_label("Last name").fill("Lamarr")
    page.get_by_label("Email address 1").fill("hedy@example")  # no domain suffix: refused
    page.get_by_role("button", name="Add address").click()
    page.get_by_label("Email address 2").fill("hedy@lamarr.test")
    page.get_by_role("radio", name="Primary (address 2)").check()
    page.get_by_label("Company").fill("Initech")
    page.get_by_label("Segment").select_option("Enterprise")
    page.get_by_role("button", name="Create person").click()

    # The mistake is shown next to its field; everything typed is still there.
    first = page.get_by_label("Email address 1")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-0-error")).to_contain_text("not a valid email address")
    expect(page.get_by_label("Email address 2")).to_have_value("hedy@lamarr.test")
    axe("new person form with an error")
    first.fill("hedy@mgm.test")
    page.get_by_role("button", name="Create person").click()

    expect(page.get_by_role("heading", name="Hedy Lamarr")).to_be_visible()
    emails = page.get_by_role("region", name="Email addresses")
    expect(emails.locator("li").first).to_contain_text("hedy@lamarr.test")
    expect(emails.locator("li").first).to_contain_text("Primary")
    expect(emails).to_contain_text("hedy@mgm.test")
    expect(emails).not_to_contain_text("Undeliverable")
    hedy = Person.objects.get(first_name="Hedy").pk
    expect(page.get_by_role("link", name="Enroll in sequence")).to_have_attribute(
        "href", f"/enroll/?person={hedy}"
    )
    axe("new person's page")

    # A person with sequences, lists and a timeline.
    page.goto(f"{live_server.url}/people/{ada.pk}/")
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    sequences = page.get_by_role("region", name="Sequences")
    expect(sequences).to_contain_text("Q3 outreach")
    expect(sequences).to_contain_text("Active")
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "Email 1: A faster close for Initech"
    )
    expect(page.get_by_role("region", name="Lists")).to_contain_text("Q3 prospects")
    flagged = page.get_by_role("region", name="Email addresses").locator("li").nth(1)
    expect(flagged).to_contain_text("countess@lovelace.test")
    expect(flagged).to_contain_text("Undeliverable")
    axe("person page")
    _shot(page, "person-page.png")
    page.set_viewport_size(NARROW)
    expect(page.get_by_role("link", name="Enroll in sequence")).to_be_visible()
    _shot(page, "person-page-phone.png", Path("/tmp/records-shots"))
    axe("person page on a phone")


def test_a_member_adds_selected_people_to_a_list_and_enrolls_entries_from_it(
    live_server, page: Page, admin, sign_in, axe
):
    _seed()
    create_list("Q3 prospects", [{"slug": "stage", "title": "Stage", "type": "text"}])
    sign_in(admin)
    page.set_viewport_size(WIDE)

    # A company's People tab: its people, to select and enroll.
    page.goto(live_server.url + "/companies/")
    expect(page.get_by_role("link", name="Import CSV")).to_have_attribute(
        "href", "/import/?object=companies"
    )
    axe("companies table")
    page.get_by_role("link", name="Initech").click()
    expect(page.get_by_role("link", name="People", exact=True).last).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("checkbox", name="Select all people on this page").check()
    bar = page.get_by_role("region", name="Selected people")
    expect(bar).to_contain_text("2 selected")
    axe("company people tab")

    # From the People table: Add to list.
    page.goto(live_server.url + "/people/")
    page.get_by_role("checkbox", name="Select Ada Lovelace").check()
    page.get_by_role("checkbox", name="Select Alan Turing").check()
    bar.get_by_role("button", name="Add to list").click()
    expect(page.get_by_role("heading", name="Add to list")).to_be_visible()
    axe("add to list")
    page.get_by_role("radio", name="Q3 prospects").check()
    page.get_by_role("button", name="Add to list").click()

    expect(page.get_by_role("heading", name="Q3 prospects")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Added 2 people to “Q3 prospects”.")
    expect(page.get_by_role("columnheader", name="Stage")).to_be_visible()
    axe("list page")

    # Add one more from the list's own search.
    page.get_by_role("link", name="Add people").click()
    page.get_by_role("searchbox", name="Find people").fill("hopper")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("checkbox", name=re.compile("Grace Hopper")).check()
    axe("add people to a list")
    page.get_by_role("button", name="Add to Q3 prospects").click()
    rows = page.get_by_role("table", name="People in Q3 prospects").locator("tbody tr")
    expect(rows).to_have_count(3)

    # Entries enroll as list=<id>&entry=<id>...
    page.get_by_role("checkbox", name="Select Alan Turing").check()
    page.get_by_role("checkbox", name="Select Grace Hopper").check()
    page.get_by_role("region", name="Selected entries").get_by_role(
        "button", name="Enroll in sequence"
    ).click()
    page.wait_for_url(re.compile(r"/enroll/"))
    prospects = PersonList.objects.get(name="Q3 prospects")
    entries = [prospects.entries.get(person__first_name=first).pk for first in ("Alan", "Grace")]
    assert page.url == (
        f"{live_server.url}/enroll/?list={prospects.pk}&entry={entries[0]}&entry={entries[1]}"
    )


def test_a_member_takes_people_out_of_a_list_and_deletes_a_person(
    live_server, page: Page, admin, sign_in, axe
):
    _seed()
    prospects = create_list("Q3 prospects")
    for first in ("Ada", "Alan", "Grace"):
        add_entry(prospects, Person.objects.get(first_name=first).pk)
    sign_in(admin)
    page.set_viewport_size(WIDE)

    page.goto(live_server.url + f"/lists/{prospects.pk}/")
    page.get_by_role("checkbox", name="Select Alan Turing").check()
    page.get_by_role("checkbox", name="Select Grace Hopper").check()
    page.get_by_role("region", name="Selected entries").get_by_role(
        "button", name="Remove from list"
    ).click()
    expect(page.get_by_role("heading", name="Remove from Q3 prospects?")).to_be_visible()
    expect(page.get_by_text("2 people leave this list.")).to_be_visible()
    axe("remove from a list")
    _shot(page, "list-remove.png")
    page.get_by_role("button", name="Remove from list").click()
    expect(page.get_by_role("status")).to_contain_text("Removed 2 people from Q3 prospects.")
    rows = page.get_by_role("table", name="People in Q3 prospects").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Ada Lovelace")

    # Delete a person from their page: asked first, "Keep them" goes back unharmed.
    page.get_by_role("link", name="Ada Lovelace").click()
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete this person?")).to_be_visible()
    expect(page.get_by_text("their place in 1 list")).to_be_visible()
    axe("delete a person")
    _shot(page, "person-delete.png")
    page.get_by_role("link", name="Keep them").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete person").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted Ada Lovelace.")
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    assert not Person.objects.filter(first_name="Ada").exists()
    assert Person.objects.filter(first_name="Alan").exists()


def test_a_member_adds_edits_and_deletes_a_company(live_server, page: Page, admin, sign_in, axe):
    create_attribute("companies", "employees", "Employees", "number")
    sign_in(admin)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/companies/")
    expect(page.get_by_text("Add one with New company")).to_be_visible()
    page.get_by_role("link", name="New company").click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("Domains").fill("initech.com\nnot a domain")
    page.get_by_label("Employees").fill("250")
    page.get_by_role("button", name="Create company").click()
    # The mistake is next to its field; what was typed stays.
    domains = page.get_by_label("Domains")
    expect(domains).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#domains-error")).to_contain_text("'not a domain' is not a domain")
    expect(page.get_by_label("Employees")).to_have_value("250")
    axe("new company with a mistake")
    _shot(page, "company-form-error.png")
    domains.fill("initech.com\ninitech.io")
    page.get_by_role("button", name="Create company").click()
    expect(page.get_by_role("status")).to_contain_text("Added Initech.")
    expect(page.get_by_role("heading", name="Initech", exact=True)).to_be_visible()
    expect(page.get_by_text("initech.com, initech.io")).to_be_visible()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Initrode")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved Initrode.")
    expect(page.get_by_role("heading", name="Initrode", exact=True)).to_be_visible()

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete this company?")).to_be_visible()
    axe("delete a company")
    page.get_by_role("button", name="Delete company").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted Initrode.")
    expect(page.get_by_role("heading", name="No companies yet")).to_be_visible()
