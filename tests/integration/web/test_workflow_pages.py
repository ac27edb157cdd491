"""The workflow pages: the list, the builder, a workflow's page with its run log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.automations.models import Workflow, WorkflowRun
from sequencer.clock import system_clock
from sequencer.crm.attributes import create_attribute
from sequencer.crm.lists import create_list
from sequencer.sequences import access, delegation

from .enrolling import mailbox_of, person, published
from .workflow_helpers import list_workflow, logged_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(make_member):
    sam = make_member("sam@acme.test", name="Sam Seller")
    mailbox_of(sam, "sam@acme.test")
    return sam


@pytest.fixture
def intro(seller):
    return published(seller, "Intro")


@pytest.fixture
def leads():
    return create_list("Qualified leads")


def _builder_post(**overrides: object) -> dict[str, object]:
    """What the builder posts for "added to a list → enroll", changed by ``overrides``."""
    data: dict[str, object] = {
        "name": "Leads get the intro",
        "enabled": "on",
        "trigger_kind": "added_to_list",
        "list_id": "",
        "change-people-field": "people:job_title",
        "change-people-operator": "",
        "change-people-value": "",
        "change-companies-field": "companies:name",
        "change-companies-operator": "",
        "change-companies-value": "",
        "time": "09:00",
        "time_zone": "Europe/Paris",
        "actions-0-kind": "enroll",
        "actions-0-sequence_id": "",
        "actions-0-sender": "record_owner",
        "actions-0-address": "primary",
        "save": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Access ---------------------------------------------------------------------------------


def _pages(workflow_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/workflows/"),
        ("get", "/workflows/new/"),
        ("get", f"/workflows/{workflow_id}/"),
        ("get", f"/workflows/{workflow_id}/edit/"),
        ("get", f"/workflows/{workflow_id}/delete/"),
        ("post", f"/workflows/{workflow_id}/switch/"),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_workflow_page(
    client, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    for method, url in [*_pages(workflow.pk), ("post", f"/workflows/{workflow.pk}/delete/")]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url
    assert Workflow.objects.filter(pk=workflow.pk, enabled=True).exists()


def test_another_members_workflow_is_not_found_on_every_page(
    make_member, browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    other = browser_of(make_member(name="Olga Other"))
    for method, url in [*_pages(workflow.pk)[2:], ("post", f"/workflows/{workflow.pk}/delete/")]:
        assert getattr(other, method)(url).status_code == 404, url
    assert "Qualified leads get the intro" not in other.get("/workflows/").content.decode()
    assert Workflow.objects.filter(pk=workflow.pk, enabled=True).exists()


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_the_owner_and_admins_open_every_workflow_page(
    who, admin, browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    viewer = browser_of(seller if who == "owner" else admin)
    for method, url in _pages(workflow.pk)[:5]:
        assert getattr(viewer, method)(url).status_code == 200, url


def test_an_unknown_workflow_is_not_found(admin, browser_of):
    for url in ("/workflows/999999/", "/workflows/999999/edit/", "/workflows/999999/delete/"):
        assert browser_of(admin).get(url).status_code == 404


# --- The list -------------------------------------------------------------------------------


def test_the_sidebar_offers_workflows_beside_sequences(browser_of, seller):
    page = browser_of(seller).get("/workflows/").content.decode()
    automations = page[page.index('id="nav-automations"') : page.index('id="nav-records"')]
    assert 'href="/sequences/"' in automations
    assert 'href="/workflows/" aria-current="page"' in automations


def test_without_workflows_the_list_says_what_one_does_and_offers_to_make_one(browser_of, seller):
    page = browser_of(seller).get("/workflows/").content.decode()
    assert "No workflows yet" in page
    assert "enrolls them in a sequence" in page
    assert 'href="/workflows/new/"' in page and "New workflow" in page


def test_the_list_says_when_and_then_in_words_with_state_and_last_run_in_the_viewers_zone(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    list_workflow(seller, leads, intro.pk, name="Dormant one", enabled=False)
    logged_run(workflow, datetime(2025, 1, 7, 12, 30, tzinfo=UTC), [person("Ada", "ada@x.test")])
    client = browser_of(seller)
    client.cookies["viewer_tz"] = "Europe/Berlin"

    page = client.get("/workflows/").content.decode()

    assert "When a person is added to Qualified leads" in page
    assert "Enroll in Intro" in page
    assert '<span class="badge live">On</span>' in page
    assert '<span class="badge draft">Off</span>' in page
    assert "Tue 7 Jan 2025, 13:30" in page and "Enrolled 1" in page
    assert "Never" in page  # the dormant one never ran
    assert "Times are your time (Berlin)." in page
    assert ">Owner<" not in page  # a member sees only their own: no owner column


def test_members_see_their_own_workflows_and_admins_see_everyones_with_its_owner(
    admin, make_member, browser_of, seller, intro, leads
):
    list_workflow(seller, leads, intro.pk, name="Sam's workflow")
    other = make_member(name="Olga Other")
    mailbox_of(other, "olga@acme.test")
    list_workflow(other, leads, published(other, "Olga's sequence").pk, name="Olga's workflow")

    sam_sees = browser_of(seller).get("/workflows/").content.decode()
    admin_sees = browser_of(admin).get("/workflows/").content.decode()

    assert "Sam&#x27;s workflow" in sam_sees and "Olga&#x27;s workflow" not in sam_sees
    assert "Sam&#x27;s workflow" in admin_sees and "Olga&#x27;s workflow" in admin_sees
    assert ">Owner<" in admin_sees and "Sam Seller" in admin_sees and "Olga Other" in admin_sees


def _many_workflows(owner, person_list, sequences, count: int, start: int = 0) -> None:
    someone = person(f"Runner{start}", f"runner{start}@x.test")
    for i in range(start, start + count):
        workflow = list_workflow(
            owner, person_list, sequences[i % len(sequences)].pk, name=f"Workflow {i:03d}"
        )
        logged_run(workflow, system_clock.now() - timedelta(hours=i), [someone])


@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_list_costs_the_same_queries_for_10_and_50_workflows(
    role, admin, browser_of, seller, intro
):
    other = published(seller, "Other")
    viewer = admin if role == "admin" else seller
    client = browser_of(viewer)
    client.get("/workflows/")
    lists = [create_list(f"List {i}") for i in range(3)]

    _many_workflows(seller, lists[0], [intro, other], 10)
    with CaptureQueriesContext(connection) as ten:
        assert client.get("/workflows/").status_code == 200
    _many_workflows(seller, lists[1], [intro, other], 40, start=10)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get("/workflows/")

    assert response.content.decode().count('class="flow-when"') == 50
    assert len(fifty) == len(ten)


# --- The builder ----------------------------------------------------------------------------


def test_the_builder_offers_every_kind_of_trigger_and_defaults_the_zone_to_the_viewers(
    browser_of, seller, intro, leads
):
    client = browser_of(seller)
    client.cookies["viewer_tz"] = "Asia/Tokyo"

    page = client.get("/workflows/new/").content.decode()

    for words in (
        "A person is created",
        "A person&#x27;s field changes",
        "A company&#x27;s field changes",
        "A person is added to a list",
        "Every day at…",
    ):
        assert words in page
    assert '<option value="Asia/Tokyo" selected>' in page
    assert f'<option value="{leads.pk}" >Qualified leads</option>' in page
    assert f'<option value="{intro.pk}" >Intro</option>' in page
    assert '<option value="record_owner" selected>Record owner</option>' in page
    assert f'<option value="member:{seller.pk}" >Sam Seller (you)</option>' in page
    assert "First address that has not bounced" in page


def test_the_builder_offers_only_sequences_the_owner_may_enroll_into(
    admin, browser_of, seller, intro
):
    hidden = published(admin, "Hidden")
    listing = access.access_list(hidden)
    access.set_access(
        hidden,
        workspace_access="no_access",
        members=[(i, lv.slug) for i, lv in listing.members],
        teams=[],
    )

    page = browser_of(seller).get("/workflows/new/").content.decode()

    assert ">Intro</option>" in page
    assert "Hidden" not in page


def test_saving_the_builder_creates_the_workflow_and_opens_its_page(
    browser_of, seller, intro, leads
):
    response = browser_of(seller).post(
        "/workflows/new/",
        _builder_post(
            **{
                "list_id": str(leads.pk),
                "actions-0-sequence_id": str(intro.pk),
                "actions-0-sender": f"member:{seller.pk}",
                "actions-0-address": "first_deliverable",
                "conditions-0-field": "people:job_title",
                "conditions-0-operator": "contains",
                "conditions-0-value": "Head",
            }
        ),
    )

    created = Workflow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/workflows/{created.pk}/"
    assert created.owner == seller and created.enabled
    assert created.trigger == {"kind": "added_to_list", "list_id": leads.pk}
    assert created.conditions == [
        {"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}
    ]
    assert created.actions == [
        {
            "kind": "enroll",
            "sequence_id": intro.pk,
            "sender": {"kind": "member", "member_id": seller.pk},
            "address": "first_deliverable",
        }
    ]


def test_a_field_change_trigger_and_a_daily_one_are_saved_from_their_own_controls(
    browser_of, seller, intro
):
    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified"])
    client = browser_of(seller)
    common = {"actions-0-sequence_id": str(intro.pk)}

    client.post(
        "/workflows/new/",
        _builder_post(
            name="Qualified",
            trigger_kind="attribute_changed_people",
            **{
                "change-people-field": "people:stage",
                "change-people-operator": "is",
                "change-people-value": "Qualified",
            },
            **common,
        ),
    )
    client.post(
        "/workflows/new/",
        _builder_post(name="Mornings", trigger_kind="daily", time="08:30", **common),
    )

    changed = Workflow.objects.get(name="Qualified")
    daily = Workflow.objects.get(name="Mornings")
    assert changed.trigger == {
        "kind": "attribute_changed",
        "object": "people",
        "attribute": "stage",
        "condition": {"operator": "is", "value": "Qualified"},
    }
    assert daily.trigger == {"kind": "daily", "time": "08:30", "time_zone": "Europe/Paris"}
    assert daily.next_run_at is not None


def test_a_missing_list_is_said_next_to_the_list_with_the_form_kept(
    browser_of, seller, intro, leads
):
    response = browser_of(seller).post(
        "/workflows/new/", _builder_post(**{"actions-0-sequence_id": str(intro.pk)})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="list_id-error">Choose the list.</p>' in page
    assert 'aria-describedby="list_id-error"' in page
    assert 'value="Leads get the intro"' in page
    assert f'<option value="{intro.pk}" selected>Intro</option>' in page
    assert not Workflow.objects.exists()


def test_a_condition_without_a_value_is_said_next_to_its_value(browser_of, seller, intro, leads):
    response = browser_of(seller).post(
        "/workflows/new/",
        _builder_post(
            **{
                "list_id": str(leads.pk),
                "actions-0-sequence_id": str(intro.pk),
                "conditions-0-field": "people:job_title",
                "conditions-0-operator": "contains",
                "conditions-0-value": "",
            }
        ),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="conditions-0-value-error"' in page
    assert 'aria-describedby="conditions-0-value-error"' in page
    assert "autofocus" in page[page.index('id="conditions-0-value"') - 300 :][:900]
    assert not Workflow.objects.exists()


def test_an_action_without_a_sequence_is_said_next_to_its_sequence(browser_of, seller, leads):
    response = browser_of(seller).post("/workflows/new/", _builder_post(list_id=str(leads.pk)))

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="actions-0-sequence_id-error">Choose a sequence.</p>' in page
    assert "actions.0" not in page  # the API's path is not shown


def test_a_sequence_the_owner_may_not_enroll_into_is_refused_next_to_it(
    admin, browser_of, seller, leads
):
    read_only = published(admin, "Admin only")
    listing = access.access_list(read_only)
    access.set_access(
        read_only,
        workspace_access="read_only",
        members=[(i, lv.slug) for i, lv in listing.members],
        teams=[],
    )

    response = browser_of(seller).post(
        "/workflows/new/",
        _builder_post(list_id=str(leads.pk), **{"actions-0-sequence_id": str(read_only.pk)}),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="actions-0-sequence_id-error"' in page
    assert "(not available)" in page  # the choice is kept, and said to be unusable


def test_add_condition_and_remove_redraw_the_form_without_saving(browser_of, seller, intro, leads):
    client = browser_of(seller)
    base = _builder_post(list_id=str(leads.pk), **{"actions-0-sequence_id": str(intro.pk)})

    added = client.post("/workflows/new/", {**base, "add_condition": "1"})
    page = added.content.decode()
    assert added.status_code == 200
    assert 'id="conditions-0-field"' in page and 'id="conditions-1-field"' not in page
    assert 'aria-label="Remove condition 1"' in page

    two = {
        **base,
        "conditions-0-field": "people:job_title",
        "conditions-0-operator": "is",
        "conditions-0-value": "CEO",
        "conditions-1-field": "people:first_name",
        "conditions-1-operator": "contains",
        "conditions-1-value": "Al",
    }
    removed = client.post("/workflows/new/", {**two, "remove_condition": "0"}).content.decode()
    assert 'id="conditions-1-field"' not in removed
    assert 'value="Al"' in removed and 'value="CEO"' not in removed

    more = client.post("/workflows/new/", {**base, "add_action": "1"}).content.decode()
    assert 'id="actions-1-kind"' in more and 'aria-label="Remove action 2"' in more
    assert not Workflow.objects.exists()


def test_operators_and_values_fit_the_chosen_field(browser_of, seller, intro, leads):
    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified"])
    create_attribute("people", "seats", "Seats", "number")
    create_attribute("people", "vip", "VIP", "checkbox")
    base = _builder_post(list_id=str(leads.pk), **{"actions-0-sequence_id": str(intro.pk)})

    page = (
        browser_of(seller)
        .post(
            "/workflows/new/",
            {
                **base,
                "refresh": "1",
                "changed": "conditions-0-field",
                "conditions-0-field": "people:stage",
                "conditions-0-operator": "contains",  # not for a select: reset to "is"
                "conditions-1-field": "people:seats",
                "conditions-1-operator": "greater_than",
                "conditions-1-value": "10",
                "conditions-2-field": "people:vip",
                "conditions-2-operator": "is",
                "conditions-2-value": "true",
            },
        )
        .content.decode()
    )

    first = page[page.index('id="conditions-0-operator"') : page.index('id="conditions-1-field"')]
    assert '<option value="is" selected>is</option>' in first and "contains" not in first
    assert '<option value="Qualified" >Qualified</option>' in first
    second = page[page.index('id="conditions-1-operator"') : page.index('id="conditions-2-field"')]
    assert '<option value="greater_than" selected>is more than</option>' in second
    assert 'type="number"' in second and 'value="10"' in second
    assert '<option value="true" selected>Checked</option>' in page
    assert "autofocus" in page[page.index('id="conditions-0-field"') :][:600]


def test_the_senders_offered_are_the_owner_and_the_sequences_delegated_senders(
    make_member, browser_of, seller, intro, leads
):
    mia = make_member("mia@acme.test", name="Mia Member")
    mailbox_of(mia, "mia@acme.test")
    delegation.set_own_delegation(mia, intro.pk, enabled=True, clock=system_clock)
    base = _builder_post(list_id=str(leads.pk))

    before = browser_of(seller).get("/workflows/new/").content.decode()
    after = (
        browser_of(seller)
        .post(
            "/workflows/new/",
            {**base, "refresh": "1", "actions-0-sequence_id": str(intro.pk)},
        )
        .content.decode()
    )

    assert "Mia Member (delegated sender)" not in before  # no sequence chosen yet
    assert f'<option value="member:{mia.pk}" >Mia Member (delegated sender)</option>' in after


def test_editing_shows_the_saved_workflow_and_saves_the_changes(browser_of, seller, intro, leads):
    workflow = list_workflow(
        seller,
        leads,
        intro.pk,
        conditions=[
            {"object": "people", "attribute": "job_title", "operator": "contains", "value": "VP"}
        ],
    )
    client = browser_of(seller)

    page = client.get(f"/workflows/{workflow.pk}/edit/").content.decode()
    assert 'value="Qualified leads get the intro"' in page
    assert f'<option value="{leads.pk}" selected>Qualified leads</option>' in page
    assert 'value="VP"' in page

    response = client.post(
        f"/workflows/{workflow.pk}/edit/",
        _builder_post(
            name="Renamed",
            enabled=None,  # switched off
            list_id=str(leads.pk),
            **{"actions-0-sequence_id": str(intro.pk), "actions-0-kind": "remove"},
        ),
    )

    workflow.refresh_from_db()
    assert response.status_code == 302
    assert workflow.name == "Renamed" and not workflow.enabled and workflow.conditions == []
    assert workflow.actions == [{"kind": "remove", "sequence_id": intro.pk}]


def test_an_admin_edits_a_members_workflow_which_keeps_its_owner(
    admin, browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)

    page = browser_of(admin).get(f"/workflows/{workflow.pk}/edit/").content.decode()
    response = browser_of(admin).post(
        f"/workflows/{workflow.pk}/edit/",
        _builder_post(
            name="Checked by the admin",
            list_id=str(leads.pk),
            **{"actions-0-sequence_id": str(intro.pk)},
        ),
    )

    workflow.refresh_from_db()
    assert "It acts as Sam Seller" in page
    assert f'<option value="member:{seller.pk}" >Sam Seller</option>' in page
    assert response.status_code == 302
    assert workflow.name == "Checked by the admin" and workflow.owner == seller


# --- The workflow page ------------------------------------------------------------------------


def test_the_workflow_page_says_what_it_does_and_shows_its_runs_newest_first(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(
        seller,
        leads,
        intro.pk,
        conditions=[
            {"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}
        ],
    )
    ada, bob = person("Ada", "ada@x.test", last="Lovelace"), person("Bob", "bob@x.test")
    logged_run(workflow, datetime(2025, 1, 7, 9, 0, tzinfo=UTC), [ada])
    logged_run(workflow, datetime(2025, 1, 8, 9, 0, tzinfo=UTC), [bob], outcome="skipped")
    client = browser_of(seller)
    client.cookies["viewer_tz"] = "Europe/Berlin"

    page = client.get(f"/workflows/{workflow.pk}/").content.decode()

    assert "A person is added to Qualified leads" in page
    assert "Job title contains “Head”" in page
    assert "Enroll in Intro, sent by the person&#x27;s owner, to their primary address" in page
    assert page.index("Wed 8 Jan 2025, 10:00") < page.index("Tue 7 Jan 2025, 10:00")
    assert f'<a href="/people/{ada.pk}/">Ada Lovelace</a>' in page
    assert '<span class="badge outcome-enrolled">Enrolled</span>' in page
    assert '<span class="badge outcome-skipped">Skipped</span>' in page
    assert "Already active in this sequence." in page
    assert "Turn off" in page and "Delete" in page and "Edit" in page


def test_a_workflow_that_never_ran_says_so(browser_of, seller, intro, leads):
    workflow = list_workflow(seller, leads, intro.pk)
    page = browser_of(seller).get(f"/workflows/{workflow.pk}/").content.decode()
    assert "No runs yet." in page


def test_the_workflow_page_costs_the_same_queries_for_few_and_many_runs_and_entries(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    people = [person(f"P{i}", f"p{i}@x.test") for i in range(12)]
    client = browser_of(seller)
    logged_run(workflow, system_clock.now(), people[:1])
    client.get(f"/workflows/{workflow.pk}/")

    with CaptureQueriesContext(connection) as one:
        client.get(f"/workflows/{workflow.pk}/")
    for i in range(30):
        logged_run(workflow, system_clock.now() - timedelta(minutes=i + 1), people)
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/workflows/{workflow.pk}/")

    assert response.content.decode().count('class="run"') == 20  # one page of runs
    assert len(many) == len(one)


def test_a_run_over_many_people_shows_its_first_entries_and_how_many_more(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    logged_run(workflow, system_clock.now(), [person(f"P{i}", f"p{i}@x.test") for i in range(55)])

    page = browser_of(seller).get(f"/workflows/{workflow.pk}/").content.decode()

    assert page.count("outcome-enrolled") == 50
    assert "And 5 more entries in this run" in page


def test_turning_a_workflow_off_and_on_again(browser_of, seller, intro, leads):
    workflow = list_workflow(seller, leads, intro.pk)
    client = browser_of(seller)

    off = client.post(f"/workflows/{workflow.pk}/switch/", follow=True).content.decode()
    workflow.refresh_from_db()
    assert not workflow.enabled and "Turned “Qualified leads get the intro” off." in off
    assert "Turn on" in off

    client.post(f"/workflows/{workflow.pk}/switch/", {"enabled": "on"})
    workflow.refresh_from_db()
    assert workflow.enabled


def test_turning_on_a_workflow_whose_sequence_was_archived_says_why_not(
    browser_of, seller, intro, leads
):
    from sequencer.sequences import authoring

    workflow = list_workflow(seller, leads, intro.pk, enabled=False)
    authoring.archive(seller, intro.pk, clock=system_clock)

    page = (
        browser_of(seller)
        .post(f"/workflows/{workflow.pk}/switch/", {"enabled": "on"}, follow=True)
        .content.decode()
    )

    workflow.refresh_from_db()
    assert not workflow.enabled
    assert "is still off" in page and "archived" in page


def test_deleting_asks_first_then_deletes_the_workflow_and_its_log(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    logged_run(workflow, system_clock.now(), [person("Ada", "ada@x.test")])
    client = browser_of(seller)

    question = client.get(f"/workflows/{workflow.pk}/delete/").content.decode()
    assert "Delete this workflow?" in question and "1 run" in question
    assert Workflow.objects.filter(pk=workflow.pk).exists()

    response = client.post(f"/workflows/{workflow.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/workflows/"
    assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert not WorkflowRun.objects.exists()


def test_an_admin_sees_who_owns_a_members_workflow(admin, browser_of, seller, intro, leads):
    workflow = list_workflow(seller, leads, intro.pk)
    page = browser_of(admin).get(f"/workflows/{workflow.pk}/").content.decode()
    assert "<dt>Owner</dt><dd>Sam Seller</dd>" in page


def test_an_admin_makes_a_workflow_for_a_member_with_that_members_sequences(
    admin, browser_of, seller, intro, leads
):
    client = browser_of(admin)
    redrawn = client.post(
        "/workflows/new/", _builder_post(refresh="1", owner_id=str(seller.pk))
    ).content.decode()

    response = client.post(
        "/workflows/new/",
        _builder_post(
            owner_id=str(seller.pk),
            list_id=str(leads.pk),
            **{"actions-0-sequence_id": str(intro.pk)},
        ),
    )

    assert f'<option value="{seller.pk}" selected>Sam Seller</option>' in redrawn
    assert f'<option value="{intro.pk}" >Intro</option>' in redrawn
    assert "It acts as Sam Seller" in redrawn
    assert response.status_code == 302
    assert Workflow.objects.get().owner == seller


def test_a_member_cannot_make_a_workflow_someone_elses(
    make_member, browser_of, seller, intro, leads
):
    other = make_member(name="Olga Other")

    page = browser_of(seller).get("/workflows/new/").content.decode()
    browser_of(seller).post(
        "/workflows/new/",
        _builder_post(
            owner_id=str(other.pk),
            list_id=str(leads.pk),
            **{"actions-0-sequence_id": str(intro.pk)},
        ),
    )

    assert 'id="owner_id"' not in page
    assert Workflow.objects.get().owner == seller


def test_a_field_change_trigger_reads_as_a_sentence(browser_of, seller, intro):
    from sequencer.automations import workflows

    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified"])
    for name, trigger in (
        (
            "Stage",
            {
                "object": "people",
                "attribute": "stage",
                "condition": {"operator": "is", "value": "Qualified"},
            },
        ),
        ("Title", {"object": "people", "attribute": "job_title", "condition": None}),
        (
            "Renamed",
            {
                "object": "companies",
                "attribute": "name",
                "condition": {"operator": "contains", "value": "Labs"},
            },
        ),
    ):
        workflows.create_workflow(
            seller,
            {
                "name": name,
                "trigger": {"kind": "attribute_changed", **trigger},
                "actions": [{"kind": "remove", "sequence_id": intro.pk}],
            },
            clock=system_clock,
        )

    page = browser_of(seller).get("/workflows/").content.decode()

    assert "When a person&#x27;s stage changes to Qualified" in page
    assert "When a person&#x27;s job title changes<" in page
    assert (
        "When a company&#x27;s name changes and now contains “Labs” (for each of its people)"
        in page
    )
    assert "Remove from Intro" in page


def test_editing_a_workflow_whose_condition_field_was_deleted_says_so_next_to_it(
    browser_of, seller, intro, leads
):
    from sequencer.crm.models import Attribute

    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified"])
    workflow = list_workflow(
        seller,
        leads,
        intro.pk,
        conditions=[{"object": "people", "attribute": "stage", "operator": "is", "value": "New"}],
    )
    Attribute.objects.filter(slug="stage").delete()

    page = browser_of(seller).get(f"/workflows/{workflow.pk}/edit/").content.decode()

    assert 'id="conditions-0-field-error"' in page
    assert "The field this used (stage) was deleted" in page
    assert "uses a field that was deleted, so it does not run" in page


def test_the_run_log_says_which_change_started_a_run_and_why_someone_was_skipped(
    browser_of, seller, intro
):
    from sequencer.automations import workflows
    from sequencer.automations.runner import run_due
    from sequencer.crm import people as people_service

    create_attribute("people", "stage", "Stage", "select", options=["New", "Qualified", "Lost"])
    workflow = workflows.create_workflow(
        seller,
        {
            "name": "Qualified get the intro",
            "trigger": {
                "kind": "attribute_changed",
                "object": "people",
                "attribute": "stage",
                "condition": {"operator": "is", "value": "Qualified"},
            },
            "actions": [
                {"kind": "enroll", "sequence_id": intro.pk, "sender": {"kind": "record_owner"}}
            ],
        },
        clock=system_clock,
    )
    ada = people_service.create_person(
        email_addresses=["ada@x.test"], first_name="Ada", last_name="Lovelace", owner_id=seller.pk
    )
    people_service.update_person(ada, attributes={"stage": "Lost"})
    run_due(system_clock.now(), owner="page-test", clock=system_clock)
    people_service.update_person(ada, attributes={"stage": "Qualified"})
    run_due(system_clock.now(), owner="page-test", clock=system_clock)

    page = browser_of(seller).get(f"/workflows/{workflow.pk}/").content.decode()

    assert "Ada Lovelace: Stage changed from empty to Lost" in page
    assert "Ada Lovelace: Stage changed from Lost to Qualified" in page
    assert '<span class="badge outcome-skipped">Skipped</span>' in page
    assert "Stage changed to Lost, not Qualified" in page
    assert '<span class="badge outcome-enrolled">Enrolled</span>' in page
    newest, oldest = page.index("from Lost to Qualified"), page.index("from empty to Lost")
    assert newest < oldest


def test_a_run_whose_event_was_cleaned_up_still_shows_with_its_entries(
    browser_of, seller, intro, leads
):
    workflow = list_workflow(seller, leads, intro.pk)
    logged_run(workflow, system_clock.now(), [person("Ada", "ada@x.test", last="Lovelace")])

    page = browser_of(seller).get(f"/workflows/{workflow.pk}/").content.decode()

    assert "A change to a record that has since been deleted" in page
    assert "Ada Lovelace" in page
