"""Comparing two versions: what a person reads as changed, word by word."""

from __future__ import annotations

from sequencer.domain.sequence_rules import default_settings
from sequencer.web.sequences.version_diff import (
    MAX_TOKENS,
    Segment,
    compare,
    diff_text,
    setting_text,
)


def _step(subject: str, body: str, delay: int = 0) -> dict[str, object]:
    return {"delay_days": delay, "subject": subject, "body_html": body, "attachment_ids": []}


def test_a_changed_word_is_marked_removed_on_the_left_and_added_on_the_right():
    before, after = diff_text("Hi Ana, a quick question.", "Hi Ana, a short question.")

    assert before == [
        Segment("same", "Hi Ana, a "),
        Segment("removed", "quick"),
        Segment("same", " question."),
    ]
    assert after == [
        Segment("same", "Hi Ana, a "),
        Segment("added", "short"),
        Segment("same", " question."),
    ]


def test_added_lines_appear_only_on_the_right():
    before, after = diff_text("One\nTwo\n", "One\nTwo\nThree\n")
    assert before == [Segment("same", "One\nTwo\n")]
    assert after == [Segment("same", "One\nTwo\n"), Segment("added", "Three\n")]


def test_a_line_too_long_to_compare_word_by_word_is_shown_whole():
    long_before = " ".join(["word"] * MAX_TOKENS)
    long_after = long_before + " more"
    before, after = diff_text(long_before, long_after)
    assert before == [Segment("removed", long_before)]
    assert after == [Segment("added", long_after)]


def test_settings_read_as_words():
    assert setting_text("window", {"start": "00:00", "end": "00:00"}) == "All day"
    assert setting_text("window", {"start": "09:00", "end": "17:30"}) == "09:00 to 17:30"
    assert setting_text("business_days_only", False) == "Off"
    assert setting_text("holiday_country", "DE") == "Germany"
    assert setting_text("holiday_country", None) == "None"


def test_compare_lists_changed_settings_and_step_fields_only():
    old_settings = default_settings()
    new_settings = {**old_settings, "time_zone": "Europe/Berlin", "thread_emails": False}
    old_steps = [_step("Hello", "<p>Hi there</p>"), _step("RE: Hello", "<p>Bump</p>", 2)]
    new_steps = [
        _step("Hello", "<p>Hi there, friend</p>"),
        _step("Checking in", "<p>Bump</p>", 3),
        _step("Last one", "<p>Bye</p>", 4),
    ]

    diff = compare(old_settings, old_steps, new_settings, new_steps)

    assert [(c.label, c.before, c.after) for c in diff.settings] == [
        ("Time zone", [Segment("removed", "UTC")], [Segment("added", "Europe/Berlin")]),
        ("Thread emails", [Segment("removed", "On")], [Segment("added", "Off")]),
    ]
    first, second, third = diff.steps
    assert (first.number, first.state, [f.label for f in first.fields]) == (1, "changed", ["Body"])
    assert first.fields[0].after == [Segment("same", "Hi there"), Segment("added", ", friend")]
    assert [f.label for f in second.fields] == ["Wait", "Subject"]
    assert second.fields[0].before == [
        Segment("removed", "2"),
        Segment("same", " days after the previous email"),
    ]
    assert (third.state, [f.label for f in third.fields]) == ("added", ["Wait", "Subject", "Body"])
    assert third.fields[2].before == [] and third.fields[2].after == [Segment("added", "Bye")]


def test_the_same_content_published_again_has_no_changes():
    steps = [_step("Hello", "<p>Hi</p>")]
    assert compare(default_settings(), steps, default_settings(), steps).empty
