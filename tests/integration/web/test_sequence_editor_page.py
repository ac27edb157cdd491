"""The sequence editor: saving through the authoring service, publishing, access."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence, SequenceStatus

from .conftest import LEVELS

pytestmark = pytest.mark.django_db


def _form(sequence: Sequence, **changes: object) -> dict[str, object]:
    """The editor's form as the browser posts it, filled from the stored draft."""
    snapshot = authoring.draft_snapshot(sequence)
    settings = snapshot["settings"]
    data: dict[str, object] = {
        "name": sequence.name,
        "description": sequence.description,
        "window_start": settings["window"]["start"],
        "window_end": settings["window"]["end"],
        "time_zone": settings["time_zone"],
        "holiday_country": settings["holiday_country"] or "",
        "unsubscribe_phrase": settings["unsubscribe_phrase"],
        "steps-count": len(snapshot["steps"]),
    }
    for name in ("business_days_only", "thread_emails", "include_signature"):
        if settings[name]:
            data[name] = "on"
    for step in sequence.steps.order_by("position"):
        data[f"steps-{step.position}-delay_days"] = step.delay_days
        data[f"steps-{step.position}-subject"] = step.subject
        data[f"steps-{step.position}-body_html"] = step.body_html
    for i, step in enumerate(snapshot["steps"]):
        data[f"steps-{i}-attachment_ids"] = step["attachment_ids"]
    data.update(changes)
    return data


def test_autosave_stores_settings_and_steps_through_the_authoring_service(
    admin, browser_of, make_sequence
):
    sequence = make_sequence(steps=2)
    form = _form(
        sequence,
        name="Renewals",
        window_start="08:30",
        window_end="18:00",
        time_zone="Europe/Berlin",
        holiday_country="DE",
        exit_on_meeting_booked="on",
        **{"steps-1-delay_days": "4", "steps-0-body_html": "<p>Hi<script>x()</script></p>"},
    )
    del form["business_days_only"]

    response = browser_of(admin).post(f"/sequences/{sequence.pk}/save/", form)

    assert response.status_code == 200
    assert "Draft · all changes saved" in response.content.decode()
    sequence.refresh_from_db()
    assert sequence.name == "Renewals"
    assert sequence.settings["window"] == {"start": "08:30", "end": "18:00"}
    assert sequence.settings["time_zone"] == "Europe/Berlin"
    assert sequence.settings["holiday_country"] == "DE"
    assert sequence.settings["business_days_only"] is False
    assert sequence.settings["exit_on_meeting_booked"] is True
    steps = list(sequence.steps.order_by("position"))
    assert steps[1].delay_days == 4
    assert steps[0].body_html == "<p>Hi</p>"  # sanitised like the API's


def test_a_refused_save_names_the_field_and_keeps_the_draft(admin, browser_of, make_sequence):
    sequence = make_sequence(steps=2)

    response = browser_of(admin).post(
        f"/sequences/{sequence.pk}/save/", _form(sequence, **{"steps-1-delay_days": "0"})
    )

    page = response.content.decode()
    assert "Not saved: Step 2 · Wait:" in page
    assert "at least 1 day" in page
    assert sequence.steps.get(position=1).delay_days == 1


def test_saving_a_live_sequence_shows_unpublished_changes(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.publish(admin, sequence.pk, clock=system_clock)

    page = (
        browser_of(admin)
        .post(
            f"/sequences/{sequence.pk}/save/",
            _form(sequence, **{"steps-0-body_html": "<p>New words</p>"}),
        )
        .content.decode()
    )

    assert "Saved · unpublished changes" in page
    assert "Discard changes" in page


def test_adding_and_deleting_steps_redraws_the_canvas(admin, browser_of, make_sequence):
    sequence = make_sequence(steps=1)
    client = browser_of(admin)

    added = client.post(f"/sequences/{sequence.pk}/steps/", _form(sequence, action="add"))
    assert sequence.steps.count() == 2
    assert 'id="steps-1-delay_days"' in added.content.decode()
    assert sequence.steps.get(position=1).delay_days == 1

    client.post(f"/sequences/{sequence.pk}/steps/", _form(sequence, action="delete-0"))
    remaining = list(sequence.steps.all())
    assert len(remaining) == 1
    assert remaining[0].delay_days == 0  # the new first email still starts immediately


def test_threaded_replies_show_re_and_the_first_subject_read_only(admin, browser_of, make_sequence):
    sequence = make_sequence(steps=3)

    page = browser_of(admin).get(f"/sequences/{sequence.pk}/").content.decode()

    assert page.count('value="RE: Hello 0" readonly') == 2
    assert 'name="steps-2-subject" value="Hello 2"' in page  # kept as written, hidden


def test_an_empty_name_shows_untitled_sequence(admin, browser_of, make_sequence):
    sequence = make_sequence(name="")
    page = browser_of(admin).get(f"/sequences/{sequence.pk}/").content.decode()
    assert '<h1 id="sequence-title">Untitled Sequence</h1>' in page


def test_a_refused_publish_shows_each_problem_at_its_step_and_field(
    admin, browser_of, make_sequence
):
    sequence = make_sequence(steps=3)
    form = _form(sequence, **{"steps-0-body_html": "", "steps-2-body_html": "<p> </p>"})

    response = browser_of(admin).post(f"/sequences/{sequence.pk}/publish/", form)

    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page and "Not published" in page
    assert 'id="steps-0-body_html-error">This email has no body' in page
    assert 'id="steps-2-body_html-error">This email has no body' in page
    assert "steps-1-body_html-error" not in page
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.DRAFT


def test_publish_saves_the_last_edits_then_publishes(admin, browser_of, make_sequence):
    sequence = make_sequence()
    response = browser_of(admin).post(
        f"/sequences/{sequence.pk}/publish/",
        _form(sequence, **{"steps-0-subject": "Last-second subject"}),
    )

    assert response.status_code == 302
    version = authoring.latest_version(sequence)
    assert version is not None and version.steps[0]["subject"] == "Last-second subject"


def test_publishing_an_untitled_sequence_names_it_from_its_emails_and_says_so(
    admin, browser_of, make_sequence
):
    sequence = make_sequence(name="")
    answer = browser_of(admin).post(
        f"/sequences/{sequence.pk}/publish/",
        _form(sequence, **{"steps-0-subject": "Welcome to Acme"}),
        follow=True,
    )

    page = answer.content.decode()
    assert "Published version 1. It is named “Welcome to Acme” from its emails" in page
    assert '<h1 id="sequence-title">Welcome to Acme</h1>' in page
    sequence.refresh_from_db()
    assert sequence.name == "Welcome to Acme"


def test_publishing_a_named_sequence_says_nothing_of_names(admin, browser_of, make_sequence):
    sequence = make_sequence(name="Onboarding")
    answer = browser_of(admin).post(
        f"/sequences/{sequence.pk}/publish/", _form(sequence), follow=True
    )
    page = answer.content.decode()
    assert "Published version 1." in page and "from its emails" not in page


def test_discard_puts_the_draft_back_to_the_published_version(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.publish(admin, sequence.pk, clock=system_clock)
    authoring.update_draft(
        admin,
        sequence.pk,
        steps=[StepInput(subject="Changed", body_html="<p>x</p>")],
        clock=system_clock,
    )

    browser_of(admin).post(f"/sequences/{sequence.pk}/discard/")

    sequence.refresh_from_db()
    assert sequence.has_unpublished_changes is False
    assert sequence.steps.get().subject == "Hello 0"


@pytest.mark.parametrize("level", LEVELS)
def test_the_editor_follows_each_access_level(admin, browser_of, make_sequence, member_with, level):
    sequence = make_sequence(name="Guarded")
    viewer = member_with(sequence, level)
    client = browser_of(viewer)

    page = client.get(f"/sequences/{sequence.pk}/")
    tab = client.get(f"/sequences/{sequence.pk}/recipients/")
    save = client.post(f"/sequences/{sequence.pk}/save/", _form(sequence, name="Changed"))
    publish = client.post(f"/sequences/{sequence.pk}/publish/", _form(sequence, name="Changed"))
    steps = client.post(
        f"/sequences/{sequence.pk}/steps/", _form(sequence, name="Changed", action="add")
    )

    html = page.content.decode()
    if level == "no_access":
        assert {page.status_code, tab.status_code, save.status_code} == {404}
        assert {publish.status_code, steps.status_code} == {404}
    elif level == "read_only":
        assert page.status_code == 200 and tab.status_code == 200
        assert 'class="editor-grid" disabled' in html
        assert "Publish sequence" not in html and "Add step to sequence" not in html
        assert "read-only access" in html
        assert {save.status_code, publish.status_code, steps.status_code} == {403}
    else:
        assert page.status_code == 200
        assert "Publish sequence" in html and "disabled>" not in html.split("editor-grid")[1][:20]
        assert save.status_code == 200 and publish.status_code == 302
    sequence.refresh_from_db()
    assert sequence.name == ("Guarded" if level in ("no_access", "read_only") else "Changed")


def test_an_archived_sequence_opens_read_only(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.archive(admin, sequence.pk, clock=system_clock)
    html = browser_of(admin).get(f"/sequences/{sequence.pk}/").content.decode()
    assert 'class="editor-grid" disabled' in html and "is archived" in html


def test_the_editor_costs_the_same_queries_for_2_and_40_steps(admin, browser_of, make_sequence):
    client = browser_of(admin)
    small, large = make_sequence(steps=2), make_sequence(steps=40)
    client.get(f"/sequences/{small.pk}/")

    with CaptureQueriesContext(connection) as few:
        client.get(f"/sequences/{small.pk}/")
    with CaptureQueriesContext(connection) as many:
        client.get(f"/sequences/{large.pk}/")

    assert len(many) == len(few)
