"""Bad schedule input is refused with the exact field and a message that says what to do."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import (
    SchedulePolicy,
    SendingWindow,
    add_days_at_wall_time,
    next_allowed_instant,
    parse_holiday_country,
    parse_zone,
    plan_send_times,
    require_aware,
    validate_delays,
)

UTC_OFFICE = SchedulePolicy(parse_zone("UTC"), SendingWindow.parse("09:00", "17:00"))


def test_a_naive_enrolment_time_is_refused_with_a_hint_to_add_an_offset() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_send_times(datetime(2026, 3, 6, 16, 30), [0], UTC_OFFICE)
    assert caught.value.field == "enrolled_at"
    assert "+00:00" in caught.value.message


def test_a_date_without_a_time_is_refused_as_enrolment_time() -> None:
    with pytest.raises(InvalidInput) as caught:
        require_aware("2026-03-06", "enrolled_at")  # type: ignore[arg-type]
    assert caught.value.field == "enrolled_at"
    assert "+00:00" in caught.value.message


def test_an_aware_time_is_accepted_as_is() -> None:
    value = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    assert require_aware(value, "enrolled_at") is value


def test_naive_instants_are_refused_by_the_lower_level_helpers_too() -> None:
    with pytest.raises(InvalidInput) as at_error:
        next_allowed_instant(datetime(2026, 3, 6, 16, 30), UTC_OFFICE)
    with pytest.raises(InvalidInput) as shift_error:
        add_days_at_wall_time(datetime(2026, 3, 6, 16, 30), 1, parse_zone("UTC"))
    assert at_error.value.field == "at"
    assert shift_error.value.field == "instant"


@pytest.mark.parametrize(
    ("delays", "field", "hint"),
    [
        pytest.param([], "delays_days", "at least one step", id="no steps at all"),
        pytest.param([-1], "delays_days.0", "0 or more", id="a negative first delay"),
        pytest.param([0, 0], "delays_days.1", "at least 1 day", id="a later delay of zero"),
        pytest.param([0, 1, -2], "delays_days.2", "at least 1 day", id="a later negative delay"),
        pytest.param([1.5], "delays_days.0", "whole number", id="a fractional delay"),
        pytest.param([0, True], "delays_days.1", "whole number", id="a boolean delay"),
        pytest.param(["2"], "delays_days.0", "whole number", id="a delay written as text"),
        pytest.param("0,1", "delays_days", "one delay in days per step", id="a string of delays"),
        pytest.param(None, "delays_days", "one delay in days per step", id="no list at all"),
    ],
)
def test_bad_delays_are_refused_with_their_index(delays: Any, field: str, hint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_delays(delays)
    assert caught.value.field == field
    assert hint in caught.value.message


def test_planning_checks_the_delays_too() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_send_times(datetime(2026, 3, 6, tzinfo=UTC), [0, 2, 0], UTC_OFFICE)
    assert caught.value.field == "delays_days.2"


def test_a_first_delay_of_zero_and_later_delays_of_one_are_fine() -> None:
    validate_delays([0, 1, 1])
    validate_delays((5,))


@pytest.mark.parametrize(
    "text",
    [
        *["25:00", "24:00", "9:00am", "", "9:00", "12:60", "0900", " 09:00", "09:00\n"],
        "09:00:00",
        "\u0660\u0669:\u0660\u0660",  # Arabic-Indic digits: Python's int() would accept them
    ],
)
@pytest.mark.parametrize("edge", ["start", "end"])
def test_a_window_edge_that_is_not_24_hour_hh_mm_is_refused(text: str, edge: str) -> None:
    good = "09:00"
    with pytest.raises(InvalidInput) as caught:
        if edge == "start":
            SendingWindow.parse(text, good)
        else:
            SendingWindow.parse(good, text)
    assert caught.value.field == f"window.{edge}"
    assert "use 24-hour HH:MM, e.g. 09:00" in caught.value.message


def test_window_edges_from_midnight_to_one_minute_before_midnight_are_accepted() -> None:
    window = SendingWindow.parse("00:00", "23:59")
    assert (window.start, window.end) == (time(0, 0), time(23, 59))


def test_a_window_edge_with_its_own_zone_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        SendingWindow(time(9, tzinfo=UTC), time(17))
    assert caught.value.field == "window.start"


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "America", "../etc/passwd", "Europe/Berlin ", "nul\x00l"]
)
def test_an_unknown_time_zone_is_refused_naming_the_value_and_an_example(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_zone(name)
    assert caught.value.field == "time_zone"
    assert repr(name) in caught.value.message
    assert "Europe/Berlin" in caught.value.message


def test_a_missing_time_zone_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_zone("")
    assert caught.value.field == "time_zone"
    assert "Europe/Berlin" in caught.value.message


def test_a_time_zone_in_the_wrong_case_is_refused_with_a_suggestion() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_zone("america/new_york")
    assert "did you mean America/New_York?" in caught.value.message


def test_an_unknown_recipient_time_zone_names_the_recipient_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        SchedulePolicy.from_settings(
            time_zone="Europe/Berlin",
            recipient_time_zone="Nowhere/Town",
            window_start="09:00",
            window_end="17:00",
        )
    assert caught.value.field == "recipient_time_zone"
    assert "'Nowhere/Town'" in caught.value.message


def test_settings_report_the_first_bad_window_edge() -> None:
    with pytest.raises(InvalidInput) as caught:
        SchedulePolicy.from_settings(
            time_zone="Europe/Berlin", window_start="09:00", window_end="5pm"
        )
    assert caught.value.field == "window.end"


@pytest.mark.parametrize("code", ["XX", "USA", "U", "1A", "\u00df", "U S"])
def test_an_unknown_holiday_country_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_holiday_country(code)
    assert caught.value.field == "holiday_country"
    assert "two-letter ISO 3166 code" in caught.value.message
    assert repr(code) in caught.value.message


@pytest.mark.parametrize(
    ("code", "normalised"),
    [("us", "US"), (" gb ", "GB"), ("De", "DE"), ("", None), ("  ", None), (None, None)],
)
def test_a_holiday_country_is_normalised_to_upper_case(
    code: str | None, normalised: str | None
) -> None:
    assert parse_holiday_country(code) == normalised


def test_a_policy_built_by_hand_checks_its_holiday_country() -> None:
    with pytest.raises(InvalidInput) as caught:
        SchedulePolicy(parse_zone("UTC"), SendingWindow.parse("09:00", "17:00"), False, "ZZ")
    assert caught.value.field == "holiday_country"


def test_a_delay_past_the_end_of_the_calendar_is_refused_on_its_step() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_send_times(datetime(9999, 12, 1, 10, tzinfo=UTC), [0, 100], UTC_OFFICE)
    assert caught.value.field == "delays_days.1"
    assert "shorter delay" in caught.value.message


def test_running_out_of_calendar_is_reported_without_a_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        next_allowed_instant(datetime(9999, 12, 31, 18, tzinfo=UTC), UTC_OFFICE)
    assert caught.value.field is None
