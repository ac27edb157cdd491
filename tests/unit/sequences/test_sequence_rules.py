"""Settings, delays, subjects and access levels: the pure rules of a sequence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import (
    DEFAULT_SETTINGS,
    UNSUBSCRIBE_PHRASES,
    Level,
    check_delay,
    clean_subject,
    copy_name,
    default_settings,
    effective_level,
    effective_subjects,
    merge_settings,
    threaded_subject,
)

levels = st.sampled_from(list(Level))


# --- Settings ---------------------------------------------------------------------------------


def test_defaults_are_valid_and_complete():
    assert merge_settings(None, {}) == default_settings()
    assert set(default_settings()) == set(DEFAULT_SETTINGS)


def test_a_partial_window_change_keeps_the_other_end():
    merged = merge_settings(default_settings(), {"window": {"start": "08:15"}})
    assert merged["window"] == {"start": "08:15", "end": "17:00"}


def test_a_holiday_country_is_normalised_to_upper_case():
    assert merge_settings(None, {"holiday_country": "de"})["holiday_country"] == "DE"
    assert merge_settings(None, {"holiday_country": ""})["holiday_country"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Nowhere/City"}, "settings.time_zone"),
        ({"time_zone": None}, "settings.time_zone"),
        ({"window": {"start": "25:00"}}, "settings.window.start"),
        ({"window": {"end": "17:60"}}, "settings.window.end"),
        ({"window": None}, "settings.window"),
        ({"window": {"start": "09:00", "middle": "12:00"}}, "settings.window.middle"),
        ({"unsubscribe_phrase": "bye"}, "settings.unsubscribe_phrase"),
        ({"thread_emails": "yes"}, "settings.thread_emails"),
        ({"exit_on_reply": False}, "settings.exit_on_reply"),
        ({"colour": "red"}, "settings.colour"),
        ({"holiday_country": "Narnia"}, "settings.holiday_country"),
    ],
)
def test_each_bad_setting_names_its_field(changes, field):
    with pytest.raises(InvalidInput) as caught:
        merge_settings(default_settings(), changes)
    assert caught.value.field == field


def test_settings_saved_before_a_new_key_existed_gain_its_default():
    old = {k: v for k, v in default_settings().items() if k != "exit_on_meeting_booked"}
    assert merge_settings(old, {})["exit_on_meeting_booked"] is False


@given(st.sampled_from([p.id for p in UNSUBSCRIBE_PHRASES]), st.booleans(), st.booleans())
def test_merging_is_idempotent(phrase, thread, business):
    changes = {
        "unsubscribe_phrase": phrase,
        "thread_emails": thread,
        "business_days_only": business,
    }
    once = merge_settings(None, changes)
    assert merge_settings(once, changes) == once
    assert merge_settings(once, {}) == once


def test_every_phrase_contains_its_link_text():
    assert len({p.id for p in UNSUBSCRIBE_PHRASES}) == len(UNSUBSCRIBE_PHRASES)
    for phrase in UNSUBSCRIBE_PHRASES:
        assert phrase.link_text in phrase.text


# --- Delays -----------------------------------------------------------------------------------


@given(st.integers(0, 365))
def test_the_first_step_may_wait_zero_or_more_days(days):
    assert check_delay(0, days) == days


@given(st.integers(1, 50), st.integers(-1000, 0))
def test_a_later_step_must_wait_at_least_a_day(position, days):
    with pytest.raises(InvalidInput) as caught:
        check_delay(position, days)
    assert caught.value.field == f"steps.{position}.delay_days"


@given(st.integers(0, 50), st.one_of(st.booleans(), st.floats(), st.text(max_size=3)))
def test_a_delay_must_be_a_whole_number(position, value):
    with pytest.raises(InvalidInput):
        check_delay(position, value)


# --- Subjects ---------------------------------------------------------------------------------


@given(st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_threaded_later_subjects_all_reply_to_the_first(subjects):
    out = effective_subjects(subjects, thread_emails=True)
    assert out[0] == subjects[0]
    assert all(s == threaded_subject(subjects[0]) for s in out[1:])


@given(st.lists(st.text(max_size=20), max_size=6))
def test_without_threading_subjects_are_untouched(subjects):
    assert effective_subjects(subjects, thread_emails=False) == subjects


@given(st.text(max_size=30))
def test_a_reply_subject_is_never_prefixed_twice(subject):
    once = threaded_subject(subject)
    assert once.lower().startswith("re:")
    assert threaded_subject(once) == once


@given(st.text(max_size=50))
def test_a_clean_subject_has_no_line_breaks(subject):
    cleaned = clean_subject(subject)
    assert "\n" not in cleaned and "\r" not in cleaned


def test_a_copy_is_named_after_its_source():
    assert copy_name("Demo") == "Copy of Demo"
    assert copy_name("") == "Copy of Untitled Sequence"
    assert len(copy_name("x" * 300)) == 200


# --- Access levels ------------------------------------------------------------------------------


@given(st.one_of(st.none(), levels), st.lists(levels, max_size=4), levels)
def test_an_admin_always_has_full_access(member, teams, default):
    level = effective_level(
        is_admin=True, member_grant=member, team_grants=teams, workspace_default=default
    )
    assert level == Level.FULL_ACCESS


@given(levels, st.lists(levels, max_size=4), levels)
def test_a_member_grant_wins_even_when_lower(member, teams, default):
    level = effective_level(
        is_admin=False, member_grant=member, team_grants=teams, workspace_default=default
    )
    assert level == member


@given(st.lists(levels, min_size=1, max_size=4), levels)
def test_without_a_member_grant_the_highest_team_grant_wins(teams, default):
    level = effective_level(
        is_admin=False, member_grant=None, team_grants=teams, workspace_default=default
    )
    assert level == max(teams)


@given(levels)
def test_without_any_grant_the_default_applies(default):
    level = effective_level(
        is_admin=False, member_grant=None, team_grants=[], workspace_default=default
    )
    assert level == default


def test_levels_are_ordered_and_parse_from_their_slugs():
    assert Level.NO_ACCESS < Level.READ_ONLY < Level.READ_WRITE < Level.FULL_ACCESS
    for level in Level:
        assert Level.parse(level.slug) is level
    with pytest.raises(InvalidInput) as caught:
        Level.parse("owner", field="members.0.level")
    assert caught.value.field == "members.0.level"
