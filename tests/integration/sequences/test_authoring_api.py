"""Writing, publishing and versioning sequences through the API alone."""

from __future__ import annotations

import pytest

from sequencer.sequences.models import Sequence, SequenceVersion, Step
from tests.integration.sequences.helpers import GREETING, sequence_body, step, three_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def attributes(api):
    """A custom person attribute usable as a variable and a list-only one that is not."""
    created = api.post(
        "attributes", {"object": "people", "slug": "plan", "title": "Plan", "type": "text"}
    )
    assert created.status_code == 201, created.data
    deals = api.post(
        "lists",
        {"name": "Deals", "attributes": [{"slug": "stage", "title": "Stage", "type": "text"}]},
    )
    assert deals.status_code == 201, deals.data


def _create(api, **overrides):
    response = api.post("sequences", sequence_body(**overrides))
    assert response.status_code == 201, response.data
    return response.data


def _error(response):
    assert response.status_code == 400, response.data
    return response.data["error"]


# --- The walk-through ----------------------------------------------------------------------


def test_a_sequence_goes_from_draft_through_two_versions_discard_and_duplicate(api, attributes):
    created = _create(api)
    sequence_id = created["id"]
    assert created["status"] == "draft"
    assert created["latest_version"] is None
    assert [s["position"] for s in created["steps"]] == [0, 1, 2]
    assert [s["delay_days"] for s in created["steps"]] == [0, 2, 3]

    assert api.post(f"sequences/{sequence_id}/publish").data == {"version": 1}
    live = api.get(f"sequences/{sequence_id}").data
    assert live["status"] == "live"
    assert live["latest_version"] == 1
    assert live["has_unpublished_changes"] is False

    # An edit to a live sequence is a draft: version 1 stays as it was published.
    steps = live["steps"]
    steps[2]["body_html"] = "<p>Changed last step.</p>"
    edited = api.patch(f"sequences/{sequence_id}", {"steps": steps})
    assert edited.status_code == 200, edited.data
    assert edited.data["status"] == "live"
    assert edited.data["has_unpublished_changes"] is True
    v1 = api.get(f"sequences/{sequence_id}/versions/1").data
    assert v1["steps"][2]["body_html"].startswith("<p>Last note about")

    assert api.post(f"sequences/{sequence_id}/publish").data == {"version": 2}
    versions = api.get(f"sequences/{sequence_id}/versions").data
    assert versions["count"] == 2
    assert [v["number"] for v in versions["items"]] == [1, 2]
    assert all(v["published_by"] == live["created_by"] for v in versions["items"])
    assert all(v["published_at"] for v in versions["items"])
    v2 = api.get(f"sequences/{sequence_id}/versions/2").data
    assert v2["steps"][2]["body_html"] == "<p>Changed last step.</p>"
    assert v2["settings"]["time_zone"] == "Europe/Berlin"

    # Discard: the draft returns to version 2.
    api.patch(f"sequences/{sequence_id}", {"settings": {"time_zone": "Asia/Tokyo"}})
    assert api.get(f"sequences/{sequence_id}").data["has_unpublished_changes"] is True
    discarded = api.post(f"sequences/{sequence_id}/discard")
    assert discarded.status_code == 200, discarded.data
    assert discarded.data["settings"]["time_zone"] == "Europe/Berlin"
    assert discarded.data["has_unpublished_changes"] is False
    assert discarded.data["steps"] == v2["steps"]

    # Duplicate: same settings and steps, a new draft named as a copy.
    copy = api.post(f"sequences/{sequence_id}/duplicate")
    assert copy.status_code == 201, copy.data
    assert copy.data["id"] != sequence_id
    assert copy.data["status"] == "draft"
    assert copy.data["name"] == "Copy of Demo follow-up"
    assert copy.data["settings"] == discarded.data["settings"]
    assert copy.data["steps"] == discarded.data["steps"]
    assert copy.data["latest_version"] is None
    assert api.get(f"sequences/{copy.data['id']}/versions").data["count"] == 0


def test_the_create_response_has_the_documented_shape(api):
    created = _create(api)
    assert set(created) >= {
        "id",
        "name",
        "display_name",
        "description",
        "status",
        "settings",
        "steps",
        "has_unpublished_changes",
        "latest_version",
        "access_level",
        "workspace_access",
        "created_by",
        "created_at",
        "updated_at",
    }
    assert created["settings"] == {
        "window": {"start": "09:00", "end": "17:00"},
        "time_zone": "Europe/Berlin",
        "business_days_only": True,
        "holiday_country": None,
        "use_recipient_time_zone": False,
        "unsubscribe_phrase": "unsubscribe",
        "thread_emails": True,
        "include_signature": False,
        "signature": "default",
        "exit_on_reply": True,
        "exit_on_meeting_booked": False,
        "pause_on_out_of_office": True,
    }
    assert set(created["steps"][0]) == {
        "position",
        "delay_days",
        "subject",
        "subject_editable",
        "body_html",
        "attachment_ids",
        "inline_image_ids",
        "ai_prompts",
    }
    assert created["access_level"] == "full_access"
    assert created["created_at"].endswith(("Z", "+00:00"))


def test_an_empty_body_creates_an_untitled_draft_with_default_settings(api):
    response = api.post("sequences", {})
    assert response.status_code == 201, response.data
    assert response.data["status"] == "draft"
    assert response.data["name"] == ""
    assert response.data["display_name"] == "Untitled Sequence"
    assert response.data["steps"] == []
    assert response.data["settings"]["exit_on_reply"] is True
    assert response.data["workspace_access"] == "read_write"


def test_a_published_version_is_immutable_and_numbered_per_sequence(api, attributes):
    first = _create(api)["id"]
    second = _create(api)["id"]
    api.post(f"sequences/{first}/publish")
    api.post(f"sequences/{second}/publish")
    assert SequenceVersion.objects.get(sequence_id=first).number == 1
    assert SequenceVersion.objects.get(sequence_id=second).number == 1
    version = SequenceVersion.objects.get(sequence_id=first)
    version.steps = []
    with pytest.raises(Exception, match="cannot change"):
        version.save()


def test_settings_merge_partially_and_steps_are_replaced_whole(api):
    sequence_id = _create(api)["id"]
    response = api.patch(
        f"sequences/{sequence_id}",
        {"settings": {"window": {"end": "18:30"}}, "steps": [step(1, "Only", "<p>One</p>")]},
    )
    assert response.status_code == 200, response.data
    assert response.data["settings"]["window"] == {"start": "09:00", "end": "18:30"}
    assert response.data["settings"]["time_zone"] == "Europe/Berlin"
    assert [s["subject"] for s in response.data["steps"]] == ["Only"]
    assert Step.objects.filter(sequence_id=sequence_id).count() == 1


def test_a_step_read_with_get_can_be_sent_back_unchanged(api):
    created = _create(api)
    response = api.patch(f"sequences/{created['id']}", {"steps": created["steps"]})
    assert response.status_code == 200, response.data
    assert response.data["steps"] == created["steps"]


def test_name_and_description_change_without_making_an_unpublished_change(api, attributes):
    sequence_id = _create(api)["id"]
    api.post(f"sequences/{sequence_id}/publish")
    response = api.patch(f"sequences/{sequence_id}", {"name": "Renamed", "description": "New"})
    assert response.data["name"] == "Renamed"
    assert response.data["has_unpublished_changes"] is False


def test_undoing_an_edit_by_hand_leaves_no_unpublished_change(api, attributes):
    created = _create(api)
    api.post(f"sequences/{created['id']}/publish")
    api.patch(f"sequences/{created['id']}", {"settings": {"time_zone": "Asia/Tokyo"}})
    back = api.patch(f"sequences/{created['id']}", {"settings": {"time_zone": "Europe/Berlin"}})
    assert back.data["has_unpublished_changes"] is False


def test_a_list_shows_summaries_most_recent_first(api):
    older = _create(api, name="Older")["id"]
    newer = _create(api, name="Newer")["id"]
    listed = api.get("sequences")
    assert listed.status_code == 200
    assert listed.data["count"] == 2
    assert [item["id"] for item in listed.data["items"]] == [newer, older]
    assert listed.data["items"][0]["step_count"] == 3
    assert listed.data["items"][0]["access_level"] == "full_access"
    assert api.get("sequences?limit=1").data["items"][0]["id"] == newer
    assert api.get("sequences?status=live").data["count"] == 0
    assert api.get("sequences?status=deleted").data["error"]["field"] == "status"


def test_archive_keeps_the_sequence_readable_and_refuses_edits_until_unarchived(api, attributes):
    sequence_id = _create(api)["id"]
    api.post(f"sequences/{sequence_id}/publish")
    archived = api.post(f"sequences/{sequence_id}/archive")
    assert archived.data["status"] == "archived"
    refused = api.patch(f"sequences/{sequence_id}", {"name": "x"})
    assert _error(refused)["code"] == "archived"
    assert _error(api.post(f"sequences/{sequence_id}/publish"))["code"] == "archived"
    assert api.get(f"sequences/{sequence_id}/versions").data["count"] == 1
    assert api.post(f"sequences/{sequence_id}/unarchive").data["status"] == "live"


def test_an_archived_draft_unarchives_to_a_draft(api):
    sequence_id = _create(api)["id"]
    api.post(f"sequences/{sequence_id}/archive")
    assert api.post(f"sequences/{sequence_id}/unarchive").data["status"] == "draft"


def test_discarding_a_never_published_sequence_is_refused(api):
    sequence_id = _create(api)["id"]
    assert _error(api.post(f"sequences/{sequence_id}/discard"))["code"] == "never_published"


def test_an_unknown_sequence_or_version_answers_404(api):
    assert api.get("sequences/999999").status_code == 404
    sequence_id = _create(api)["id"]
    assert api.get(f"sequences/{sequence_id}/versions/1").status_code == 404


def test_the_unsubscribe_phrases_are_a_fixed_english_list(api):
    response = api.get("unsubscribe-phrases")
    assert response.status_code == 200
    phrases = response.data
    assert 4 <= len(phrases) <= 8
    assert phrases[0]["id"] == "unsubscribe"
    for phrase in phrases:
        assert set(phrase) == {"id", "text", "link_text"}
        assert phrase["link_text"] in phrase["text"]


def test_every_listed_phrase_is_accepted_as_a_setting(api):
    sequence_id = _create(api)["id"]
    for phrase in api.get("unsubscribe-phrases").data:
        response = api.patch(
            f"sequences/{sequence_id}", {"settings": {"unsubscribe_phrase": phrase["id"]}}
        )
        assert response.status_code == 200, response.data


# --- Threading ---------------------------------------------------------------------------------


def test_with_threading_later_subjects_read_as_replies_to_the_first(api):
    created = _create(api)
    subjects = [s["subject"] for s in created["steps"]]
    first = 'Hello {{ company.name | default: "there" }}'
    assert subjects == [first, f"RE: {first}", f"RE: {first}"]
    assert [s["subject_editable"] for s in created["steps"]] == [True, False, False]


def test_a_later_subject_sent_with_threading_on_is_ignored(api):
    steps = [step(0, "First", "<p>a</p>"), step(1, "Something else", "<p>b</p>")]
    created = _create(api, steps=steps)
    assert created["steps"][1]["subject"] == "RE: First"


def test_without_threading_each_step_keeps_its_own_subject(api):
    steps = [step(0, "First", "<p>a</p>"), step(1, "Second", "<p>b</p>")]
    created = _create(api, steps=steps)
    changed = api.patch(f"sequences/{created['id']}", {"settings": {"thread_emails": False}})
    assert [s["subject"] for s in changed.data["steps"]] == ["First", "Second"]
    assert [s["subject_editable"] for s in changed.data["steps"]] == [True, True]


def test_without_threading_a_later_step_needs_its_own_subject_to_publish(api):
    steps = [step(0, "First", "<p>a</p>"), step(1, "", "<p>b</p>")]
    settings = {**sequence_body()["settings"], "thread_emails": False}
    sequence_id = _create(api, steps=steps, settings=settings)["id"]
    error = _error(api.post(f"sequences/{sequence_id}/publish"))
    assert (error["field"], error["code"]) == ("steps.1.subject", "required")


def test_a_subject_is_kept_on_one_line(api):
    created = _create(api, steps=[step(0, "Hi\r\nBcc: everyone@example.com", "<p>a</p>")])
    assert created["steps"][0]["subject"] == "Hi Bcc: everyone@example.com"


# --- Bad input names the field ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"steps": [step(0, "a", "b"), step(0, "", "c")]}, "steps.1.delay_days", "invalid_delay"),
        ({"steps": [step(-1, "a", "b")]}, "steps.0.delay_days", "invalid_delay"),
        (
            {"settings": {"time_zone": "Mars/Olympus_Mons"}},
            "settings.time_zone",
            "unknown_time_zone",
        ),
        ({"settings": {"window": {"start": "25:00"}}}, "settings.window.start", "invalid_time"),
        ({"settings": {"window": {"end": "9am"}}}, "settings.window.end", "invalid_time"),
        (
            {"settings": {"unsubscribe_phrase": "go-away"}},
            "settings.unsubscribe_phrase",
            "unknown_unsubscribe_phrase",
        ),
        (
            {"settings": {"holiday_country": "XX"}},
            "settings.holiday_country",
            "unknown_country",
        ),
        ({"settings": {"exit_on_reply": False}}, "settings.exit_on_reply", "always_on"),
        ({"settings": {"colour": "red"}}, "settings.colour", "invalid"),
        ({"settings": {"business_days_only": "yes"}}, "settings.business_days_only", "invalid"),
        (
            {"steps": [step(0, "a", "b", attachment_ids=[987654])]},
            "steps.0.attachment_ids.0",
            "not_found",
        ),
        (
            {"steps": [step(0, "a", '<img src="cid:nothing@here">')]},
            "steps.0.body_html",
            "unknown_inline_image",
        ),
    ],
)
def test_bad_input_on_save_is_refused_naming_the_field(api, change, field, code):
    created = _create(api)
    response = api.patch(f"sequences/{created['id']}", change)
    error = _error(response)
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"]
    # Nothing was saved.
    assert api.get(f"sequences/{created['id']}").data == created


def test_bad_input_on_create_is_refused_and_creates_nothing(api):
    response = api.post("sequences", sequence_body(steps=[step(0, "a", "b"), step(0, "", "c")]))
    assert _error(response)["field"] == "steps.1.delay_days"
    assert not Sequence.objects.exists()


def test_a_later_delay_of_zero_explains_the_rule(api):
    response = api.post("sequences", {"steps": [step(0), step(0)]})
    error = _error(response)
    assert error["field"] == "steps.1.delay_days"
    assert "at least 1 day" in error["message"]


def test_a_window_crossing_midnight_and_an_all_day_window_are_accepted(api):
    sequence_id = _create(api)["id"]
    for window in ({"start": "22:00", "end": "06:00"}, {"start": "00:00", "end": "00:00"}):
        response = api.patch(f"sequences/{sequence_id}", {"settings": {"window": window}})
        assert response.status_code == 200, response.data
        assert response.data["settings"]["window"] == window


def _publish_error(api, steps, **settings_changes):
    settings = {**sequence_body()["settings"], **settings_changes}
    created = _create(api, steps=steps, settings=settings)
    before = api.get(f"sequences/{created['id']}").data
    response = api.post(f"sequences/{created['id']}/publish")
    error = _error(response)
    # A failed publish changes nothing.
    after = api.get(f"sequences/{created['id']}").data
    assert after == before
    assert after["status"] == "draft"
    assert not SequenceVersion.objects.filter(sequence_id=created["id"]).exists()
    return error


def test_an_unknown_variable_is_refused_at_publish_naming_it_and_listing_the_others(
    api, attributes
):
    error = _publish_error(
        api, [step(0, "Hi", "<p>{{ person.favourite_colour }}</p>"), step(1, "", "<p>x</p>")]
    )
    assert (error["field"], error["code"]) == ("steps.0.body_html", "unknown_variable")
    assert "person.favourite_colour" in error["message"]
    assert "person.first_name" in error["message"]
    assert "person.plan" in error["message"]
    assert "company.name" in error["message"]


def test_an_unknown_sender_field_is_refused_at_publish_naming_step_and_field(api, attributes):
    error = _publish_error(
        api, [step(0, "Hi", "<p>a</p>"), step(1, "", "<p>{{ sender.job_title }}</p>")]
    )
    assert (error["field"], error["code"]) == ("steps.1.body_html", "unknown_variable")
    assert "{{ sender.job_title }} is not a sender field" in error["message"]
    assert "sender.first_name" in error["message"]


def test_an_unknown_variable_in_a_later_step_names_that_step(api, attributes):
    error = _publish_error(api, [step(0, "Hi", "<p>a</p>"), step(1, "", "<p>{{ deal.x }}</p>")])
    assert error["field"] == "steps.1.body_html"


def test_an_unknown_variable_in_a_subject_names_the_subject(api, attributes):
    error = _publish_error(api, [step(0, "Hi {{ person.nickname }}", "<p>a</p>")])
    assert (error["field"], error["code"]) == ("steps.0.subject", "unknown_variable")


def test_a_list_attribute_used_as_a_variable_has_its_own_code(api, attributes):
    error = _publish_error(api, [step(0, "Hi", "<p>Stage: {{ person.stage }}</p>")])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "list_attribute_variable")
    assert "stage" in error["message"]


def test_a_template_that_does_not_compile_is_refused_with_the_line(api):
    body = "<p>Hello</p>\n<p>{{ person.first_name | default: 'x' </p>"
    error = _publish_error(api, [step(0, "Hi", body)])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "template_syntax")
    assert "line 2" in error["message"]


def test_an_unclosed_block_is_refused(api):
    error = _publish_error(api, [step(0, "Hi", "<p>{% if person.first_name %}Hi</p>")])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "template_syntax")
    assert "endif" in error["message"]


def test_a_subject_that_does_not_compile_names_the_subject(api):
    error = _publish_error(api, [step(0, "Hi {{ person.first_name", "<p>a</p>")])
    assert (error["field"], error["code"]) == ("steps.0.subject", "template_syntax")


def test_an_empty_body_is_required_at_publish(api):
    error = _publish_error(api, [step(0, "Hi", "<p> &nbsp; </p>")])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "required")


def test_an_empty_first_subject_is_required_at_publish(api):
    error = _publish_error(api, [step(0, "  ", "<p>a</p>")])
    assert (error["field"], error["code"]) == ("steps.0.subject", "required")


def test_a_sequence_without_steps_cannot_be_published(api):
    error = _publish_error(api, [])
    assert (error["field"], error["code"]) == ("steps", "required")


def test_an_unknown_filter_is_refused_at_publish(api):
    error = _publish_error(api, [step(0, "Hi", "<p>{{ person.first_name | shout }}</p>")])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "unknown_filter")


def test_a_failed_publish_of_a_live_sequence_keeps_it_on_its_version(api, attributes):
    sequence_id = _create(api)["id"]
    api.post(f"sequences/{sequence_id}/publish")
    api.patch(f"sequences/{sequence_id}", {"steps": [step(0, "Hi", "<p>{{ nope.x }}</p>")]})
    before = api.get(f"sequences/{sequence_id}").data
    assert api.post(f"sequences/{sequence_id}/publish").status_code == 400
    after = api.get(f"sequences/{sequence_id}").data
    assert after == before
    assert after["latest_version"] == 1
    assert after["has_unpublished_changes"] is True


def test_a_fallback_per_use_is_allowed_for_every_standard_variable(api, attributes):
    body = (
        f"<p>{GREETING}</p><p>{{{{ company.name | default: 'your team' }}}} and "
        "{{ person.plan | default: 'free' }}</p>"
    )
    sequence_id = _create(api, steps=[step(0, "Hi", body)])["id"]
    assert api.post(f"sequences/{sequence_id}/publish").data == {"version": 1}


# --- AI variables --------------------------------------------------------------------------------


def test_ai_variables_are_stored_as_prompts_and_their_variables_checked(api, attributes):
    body = (
        '<p>Hi {{ person.first_name | default: "there" }},</p><p>{% ai fallback: "Hope all is '
        'well." %}One friendly sentence about {{ company.name }}{% endai %}</p>'
    )
    created = _create(api, steps=[step(0, "Hi", body)])
    assert created["steps"][0]["ai_prompts"] == ["One friendly sentence about {{ company.name }}"]
    assert created["steps"][0]["body_html"] == body
    assert api.post(f"sequences/{created['id']}/publish").data == {"version": 1}
    version = api.get(f"sequences/{created['id']}/versions/1").data
    assert version["steps"][0]["ai_prompts"] == created["steps"][0]["ai_prompts"]


def test_an_unknown_variable_inside_an_ai_prompt_is_refused(api, attributes):
    body = "<p>{% ai %}Write about {{ person.hobby }}{% endai %}</p>"
    error = _publish_error(api, [step(0, "Hi", body)])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "unknown_variable")
    assert "person.hobby" in error["message"]


def test_an_empty_ai_prompt_is_refused(api):
    error = _publish_error(api, [step(0, "Hi", "<p>Hi {% ai %} {% endai %}</p>")])
    assert (error["field"], error["code"]) == ("steps.0.body_html", "empty_ai_prompt")


# --- Sanitising -----------------------------------------------------------------------------------


def test_bodies_are_sanitised_on_save_without_breaking_liquid(api):
    body = (
        '<p onclick="steal()">Hi {{ person.first_name | default: "there" }}</p>'
        "<script>alert(1)</script>"
        '<a href="javascript:alert(1)">bad</a>'
        '<a href="https://example.com/?n={{ person.first_name | default: "there" }}">good</a>'
    )
    saved = _create(api, steps=[step(0, "Hi", body)])["steps"][0]["body_html"]
    assert "script" not in saved
    assert "onclick" not in saved
    assert "javascript:" not in saved
    assert '<p>Hi {{ person.first_name | default: "there" }}</p>' in saved
    assert "href='https://example.com/?n={{ person.first_name | default: \"there\" }}'" in saved


def test_three_steps_helper_is_publishable(api, attributes):
    sequence_id = _create(api, steps=three_steps())["id"]
    assert api.post(f"sequences/{sequence_id}/publish").status_code == 200
