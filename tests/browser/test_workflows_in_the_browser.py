"""A salesperson builds a workflow, adds someone to its list, and reads the run log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.crm import people as people_service
from sequencer.crm.attributes import create_attribute
from sequencer.crm.lists import create_list
from sequencer.engine.worker import Worker
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Enrollment
from sequencer.workspace import services

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Phone-sized screenshots are only looked at while working on the pages.
SCRATCH = Path(os.environ.get("SEQUENCER_SCRATCH_SCREENSHOTS", "/tmp"))
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"
ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "include_signature": False,
}


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, object]) -> dict[str, object]:
    """A salesperson in Berlin: the run log's times are theirs, not the server's."""
    return {**browser_context_args, "timezone_id": "Europe/Berlin"}


def _shot(page: Page, name: str, folder: Path = SCREENSHOTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def _published(owner, name: str) -> None:
    sequence = authoring.create_sequence(
        owner,
        name=name,
        settings=ALL_DAY,
        steps=[
            StepInput(delay_days=0, subject="Hello {{ person.first_name }}", body_html="<p>Hi</p>"),
            StepInput(delay_days=3, subject="", body_html="<p>Following up</p>"),
        ],
        clock=system_clock,
    )
    authoring.publish(owner, sequence.pk, clock=system_clock)


def test_a_member_builds_a_workflow_that_enrolls_whoever_is_added_to_a_list(
    live_server, page: Page, admin, sign_in, axe, violations, peer_mailbox
):
    sam = services.create_user("sam@acme.test", "a-long-passphrase", name="Sam Seller")
    box = peer_mailbox(sam, imap=False)
    box.min_spacing_seconds = 0
    box.save()
    _published(sam, "Intro")
    _published(sam, "Re-engage")
    leads = create_list("Qualified leads")
    create_list("Newsletter")
    people_service.create_person(
        email_addresses=["grace@navy.test"],
        first_name="Grace",
        last_name="Hopper",
        job_title="Head of research",
    )
    sign_in(sam)
    page.set_viewport_size(WIDE)

    # The empty list says what a workflow does.
    page.goto(live_server.url + "/sequences/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("heading", name="No workflows yet")).to_be_visible()
    _shot(page, "workflows-empty.png")
    axe("workflows, empty")
    page.get_by_role("link", name="New workflow").click()

    # The builder: name, When, Only if, Then.
    expect(page.get_by_role("heading", name="New workflow")).to_be_visible()
    page.get_by_label("Name").fill("Qualified leads get the intro")
    page.get_by_label("What starts the workflow").select_option(label="A person is added to a list")
    list_select = page.get_by_label("List", exact=True)
    expect(list_select).to_be_visible()
    expect(page.get_by_label("Time zone")).to_be_hidden()  # the daily controls are not shown
    list_select.select_option(label="Qualified leads")

    page.get_by_role("button", name="Add condition").click()
    field = page.get_by_label("Condition 1: field")
    expect(field).to_be_focused()
    field.select_option(label="Job title")
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_label("Condition 1: comparison").select_option(label="contains")
    page.get_by_label("Condition 1: value").fill("Head")

    sequence = page.get_by_label("Sequence")
    sequence.select_option(label="Intro")
    expect(page.locator(BUSY)).to_have_count(0)
    page.get_by_label("Sent by").select_option(label="Sam Seller (you)")
    expect(page.get_by_label("To", exact=True)).to_have_value("primary")
    # The values typed before the redraws are all still there.
    expect(page.get_by_label("Name")).to_have_value("Qualified leads get the intro")
    expect(page.get_by_label("Condition 1: value")).to_have_value("Head")
    _shot(page, "workflow-builder.png")
    axe("workflow builder")
    page.set_viewport_size(NARROW)
    _shot(page, "workflow-builder-phone.png", SCRATCH)
    page.set_viewport_size(WIDE)

    page.get_by_role("button", name="Create workflow").click()
    expect(page.get_by_role("heading", name="Qualified leads get the intro")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Created the workflow")
    expect(page.get_by_text("A person is added to Qualified leads")).to_be_visible()
    expect(page.get_by_text("Job title contains “Head”")).to_be_visible()
    expect(page.get_by_text("No runs yet.")).to_be_visible()

    # Grace is added to the list from the list's page.
    page.goto(live_server.url + f"/lists/{leads.pk}/")
    page.get_by_role("link", name="Add people").click()
    page.get_by_role("searchbox", name="Find people").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Grace Hopper").check()
    page.get_by_role("button", name="Add to Qualified leads").click()
    expect(page.get_by_role("status")).to_contain_text("Added 1 person to “Qualified leads”")
    _shot(page, "workflow-list-page.png")

    # The worker runs the workflow: Grace is enrolled, sent by Sam.
    Worker(clock=system_clock, name="workflows-test").tick()
    enrolled = Enrollment.objects.get(person__first_name="Grace")
    assert enrolled.sequence.name == "Intro"
    assert enrolled.mailbox_id == box.pk

    page.goto(live_server.url + "/workflows/")
    row = page.get_by_role("row").filter(has_text="Qualified leads get the intro")
    expect(row).to_contain_text("When a person is added to Qualified leads")
    expect(row).to_contain_text("Enroll in Intro")
    expect(row).to_contain_text("On")
    _shot(page, "workflows-list.png")
    axe("workflows list")
    page.set_viewport_size(NARROW)
    _shot(page, "workflows-list-phone.png", SCRATCH)
    page.set_viewport_size(WIDE)
    row.get_by_role("link", name="Qualified leads get the intro").click()

    log = page.get_by_role("region", name="Run log")
    expect(log).to_contain_text("Grace Hopper was added to Qualified leads")
    expect(log.locator(".run-entries li").first).to_contain_text("Enrolled")
    expect(log.locator(".run-entries li").first).to_contain_text("Grace Hopper")
    expect(log).to_contain_text("Times are your time (Berlin).")
    _shot(page, "workflow-run-log.png")
    axe("workflow page")
    page.set_viewport_size(NARROW)
    _shot(page, "workflow-run-log-phone.png", SCRATCH)
    page.set_viewport_size(WIDE)

    # Turned off from its page; the list says so.
    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("status")).to_contain_text("off")
    expect(page.get_by_role("button", name="Turn on")).to_be_visible()

    # Deleting asks first; the people it enrolled stay enrolled.
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this workflow?")).to_be_visible()
    expect(page.get_by_text("its run log of 1 run is deleted with it")).to_be_visible()
    _shot(page, "workflow-delete.png", SCRATCH)
    axe("workflow delete confirmation")
    page.get_by_role("button", name="Delete workflow").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted the workflow")
    expect(page.get_by_role("heading", name="No workflows yet")).to_be_visible()
    assert Enrollment.objects.filter(person__first_name="Grace").exists()
    assert violations == []


def test_the_builder_shows_a_refusal_next_to_the_control_and_keeps_the_form(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sam = services.create_user("sam@acme.test", "a-long-passphrase", name="Sam Seller")
    create_list("Qualified leads")
    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified"])
    sign_in(sam)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/workflows/new/")

    page.get_by_label("Name").fill("Half done")
    when = page.get_by_label("What starts the workflow")
    # A field change: the value offered fits the field chosen (a select's options).
    when.select_option(label="A person's field changes")
    page.get_by_label("Changed field: field").select_option(label="Stage")
    expect(page.locator(BUSY)).to_have_count(0)
    expect(page.get_by_label("Changed field: value")).to_be_hidden()  # "to any value"
    page.get_by_label("Changed field: comparison").select_option(label="to a value that is")
    page.get_by_label("Changed field: value").select_option("Qualified")
    _shot(page, "workflow-builder-field-change.png", SCRATCH)
    # Every day at a time: the other parts hide, what was typed stays.
    when.select_option(label="Every day at…")
    expect(page.get_by_label("List", exact=True)).to_be_hidden()
    page.get_by_label("Time", exact=True).fill("08:30")
    page.get_by_label("Action 1").select_option(label="Remove from sequence")
    expect(page.get_by_label("Sent by")).to_be_hidden()
    page.get_by_role("button", name="Create workflow").click()

    sequence = page.get_by_label("Sequence")
    expect(sequence).to_have_attribute("aria-invalid", "true")
    expect(sequence).to_be_focused()
    expect(page.locator("#actions-0-sequence_id-error")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Half done")
    expect(page.get_by_label("Time", exact=True)).to_have_value("08:30")
    expect(
        page.get_by_text("No published sequence you may enroll people into yet.")
    ).to_be_visible()
    # No dead end: the hint leads to where a sequence is written and published.
    expect(page.get_by_role("link", name="Go to Sequences")).to_have_attribute(
        "href", "/sequences/"
    )
    _shot(page, "workflow-builder-error.png", SCRATCH)
    axe("workflow builder with an error")
    assert violations == []
