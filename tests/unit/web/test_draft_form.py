"""The editor form's mapping between service field paths and form inputs."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from sequencer.domain.errors import InvalidInput
from sequencer.web.sequences.draft_form import errors_by_input, input_name, label_of, read_draft


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("steps.1.body_html", "steps-1-body_html"),
        ("steps[1].body_html", "steps-1-body_html"),
        ("steps.0.delay_days", "steps-0-delay_days"),
        ("settings.window.start", "window_start"),
        ("settings.window.end", "window_end"),
        ("settings.window", "window_start"),
        ("settings.time_zone", "time_zone"),
        ("name", "name"),
        ("steps", None),
        (None, None),
    ],
)
def test_a_service_field_path_names_the_form_input_to_fix(path, name):
    assert input_name(path) == name


def test_problems_are_labelled_as_a_person_reads_them():
    assert label_of("steps-2-body_html") == "Step 3 · Body"
    assert label_of("time_zone") == "Time zone"
    by_input, general = errors_by_input(
        [
            InvalidInput("No body.", field="steps.0.body_html"),
            InvalidInput("Add an email.", field="steps"),
        ]
    )
    assert by_input == {"steps-0-body_html": "No body."}
    assert general == ["Add an email."]


def test_the_posted_form_becomes_the_services_input():
    post = QueryDict(mutable=True)
    post.update(
        {
            "name": "Renewals",
            "window_start": "09:00",
            "window_end": "17:00",
            "time_zone": " Europe/Paris ",
            "holiday_country": "",
            "unsubscribe_phrase": "opt_out",
            "thread_emails": "on",
            "steps-count": "2",
            "steps-0-delay_days": "0",
            "steps-0-subject": "Hi",
            "steps-1-delay_days": "two",
        }
    )
    post.setlist("steps-0-attachment_ids", ["7", "x"])

    draft = read_draft(post)

    assert draft.settings["time_zone"] == "Europe/Paris"
    assert draft.settings["holiday_country"] is None
    assert draft.settings["thread_emails"] is True
    assert draft.settings["business_days_only"] is False  # unticked boxes are not posted
    assert [s.delay_days for s in draft.steps] == [0, "two"]  # the service refuses "two"
    assert draft.steps[0].attachment_ids == [7]
