"""Property tests: the planner against a slow, literal oracle written from the rule.

The oracle below deliberately shares no code with ``sequencer.domain.schedule``: it builds
every window in a generous range of dates straight from the rule's wording, asks the
``holidays`` library directly, and takes the minimum, with no early stopping. The planner
must agree with it to the microsecond.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import (
    SchedulePolicy,
    SendingWindow,
    parse_holiday_country,
    parse_zone,
    plan_send_times,
    step_due,
    validate_delays,
)

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Europe/Dublin",  # "negative" summer time in the data
    "Australia/Lord_Howe",  # 30-minute shift
    "Asia/Kolkata",
    "Pacific/Apia",  # skipped 2011-12-30
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # changes around midnight
    "America/Havana",  # 00:00 -> 01:00, so midnight itself is missing
    "Asia/Beirut",  # changes at midnight
    "America/St_Johns",  # -03:30
    "Antarctica/Troll",  # two-hour shift
    "Africa/Casablanca",  # Ramadan suspensions, several changes a year
    "Pacific/Kiritimati",  # +14, skipped 1994-12-31
]
COUNTRIES = [None, "US", "GB", "DE", "IN", "AU", "NZ", "WS", "JP", "CN", "IL", "CU"]
# Wall times where zones tend to change, so windows often start or end in gaps and folds.
AWKWARD_TIMES = [
    time(0, 0),
    time(0, 30),
    time(1, 0),
    time(1, 30),
    time(1, 45),
    time(2, 0),
    time(2, 10),
    time(2, 15),
    time(2, 30),
    time(3, 0),
    time(23, 0),
    time(23, 30),
    time(23, 59),
]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2035, 12, 31, tzinfo=UTC)

# India's lunar holidays are only tabulated for 2001-2035; the library says so when asked
# about 2000. The fixed-date holidays it still returns are what both sides use.
LIMITED_HOLIDAY_DATA = pytest.mark.filterwarnings(
    "ignore:Requested Holidays are available only:UserWarning"
)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# --- the oracle -------------------------------------------------------------------------


def wall(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The rule's resolution, spelled the plain way: construct with fold=0, read in UTC."""
    return datetime(
        day.year, day.month, day.day, clock.hour, clock.minute, clock.second,
        clock.microsecond, tzinfo=zone, fold=0,
    ).astimezone(UTC)  # fmt: skip


def zone_date(instant: datetime, zone: ZoneInfo) -> date:
    # Via UTC: astimezone() to the datetime's own tzinfo would return it unconverted.
    return instant.astimezone(UTC).astimezone(zone).date()


@cache
def calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def oracle_windows(
    zone: ZoneInfo,
    start: time,
    end: time,
    business_days_only: bool,
    country: str | None,
    first_day: date,
    last_day: date,
) -> Iterator[tuple[datetime, datetime]]:
    day = first_day
    while day <= last_day:
        opening_day = day
        day += timedelta(days=1)
        if business_days_only and opening_day.isoweekday() in (6, 7):
            continue
        if country is not None and opening_day in calendar(country):
            continue
        opens = wall(opening_day, start, zone)
        if zone_date(opens, zone) != opening_day:
            continue
        if start < end:
            closes = wall(opening_day, end, zone)
        elif start > end:
            closes = wall(opening_day + timedelta(days=1), end, zone)
        else:
            closes = wall(opening_day + timedelta(days=1), start, zone)
        if closes > opens:
            yield opens, closes


def oracle_is_allowed(instant: datetime, policy: SchedulePolicy) -> bool:
    """Whether some window, on whatever day it opens, holds ``instant``.

    A window belongs to the day it opens, and days last 23 or 25 hours around a change, so
    the date the clock shows at ``instant`` says little about which day's window holds it:
    a window from days before can still be open, and after a fall-back across midnight
    the clock can show the day before the window that has already opened. Look a few
    days either way.
    """
    today = zone_date(instant, policy.zone)
    windows = oracle_windows(
        policy.zone,
        policy.window.start,
        policy.window.end,
        policy.business_days_only,
        policy.holiday_country,
        today - timedelta(days=3),
        today + timedelta(days=3),
    )
    return any(opens <= instant < closes for opens, closes in windows)


def oracle_earliest(base: datetime, policy: SchedulePolicy) -> datetime:
    """Minimum over all windows that end after ``base`` of max(open, base)."""
    first = zone_date(base, policy.zone) - timedelta(days=3)
    candidates: list[datetime] = []
    span = 30
    while not candidates:
        assert span < 400, "the oracle found no window in over a year"
        windows = oracle_windows(
            policy.zone,
            policy.window.start,
            policy.window.end,
            policy.business_days_only,
            policy.holiday_country,
            first,
            # Well past the first hit: a later-opening date cannot win, but look anyway.
            first + timedelta(days=span),
        )
        candidates = [max(opens, base) for opens, closes in windows if closes > base]
        span *= 2
    return min(candidates)


def oracle_shift(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    if days == 0:
        # Normalised to UTC because PEP 495 makes an instant in a fold or gap compare
        # unequal to every datetime in another zone, even the same instant.
        return instant.astimezone(UTC)
    local = instant.astimezone(UTC).astimezone(zone)
    # Naive arithmetic moves the calendar date and leaves the clock reading alone.
    moved = local.replace(tzinfo=None, fold=0) + timedelta(days=days)
    return moved.replace(tzinfo=zone).astimezone(UTC)


# --- strategies -------------------------------------------------------------------------


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants (to the minute) where the zone's offset changes, 2000-2035."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    step = timedelta(hours=6)
    moment = EARLIEST
    while moment < LATEST:
        later = moment + step
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        moment = later
    return tuple(found) or (datetime(2020, 6, 1, tzinfo=UTC),)


clock_times = st.one_of(
    st.sampled_from(AWKWARD_TIMES),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


@st.composite
def instants_near_transitions(draw: st.DrawFn, zone_name: str) -> datetime:
    pivot = draw(st.sampled_from(transitions(zone_name)))
    minutes = draw(st.integers(-4 * 24 * 60, 4 * 24 * 60))
    seconds = draw(st.sampled_from([0, 0, 0, 17]))
    return pivot + timedelta(minutes=minutes, seconds=seconds)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[datetime, list[int], SchedulePolicy]:
    zone_name = draw(st.sampled_from(ZONES))
    anywhere = st.datetimes(
        min_value=EARLIEST.replace(tzinfo=None),
        max_value=LATEST.replace(tzinfo=None),
        timezones=st.just(UTC),
    )
    enrolled = draw(st.one_of(anywhere, instants_near_transitions(zone_name)))
    # Show the enrolment in an arbitrary offset: only the instant may matter.
    shown_in = draw(st.sampled_from([UTC, ZoneInfo(zone_name), ZoneInfo("Asia/Tokyo")]))
    first = draw(st.integers(0, 10))
    # Whole weeks and 364 days land on the same weekday, so a fall-back Sunday can move
    # onto next year's fall-back Sunday.
    later_delays = st.one_of(st.integers(1, 12), st.sampled_from([7, 28, 364]))
    later = draw(st.lists(later_delays, max_size=4))
    policy = SchedulePolicy(
        zone=ZoneInfo(zone_name),
        window=SendingWindow(draw(clock_times), draw(clock_times)),
        business_days_only=draw(st.booleans()),
        holiday_country=draw(st.sampled_from(COUNTRIES)),
    )
    return enrolled.astimezone(shown_in), [first, *later], policy


# --- properties -------------------------------------------------------------------------


# St. John's fell back at 00:01 on 2000-10-29, to 23:01 on the 28th. The whole-day window
# of the 29th opens at 00:00 (02:30 UTC) and then holds an hour the clock shows as the 28th.
ST_JOHNS_FALL_BACK_2000 = (
    datetime(2000, 10, 29, 3, 0, tzinfo=UTC),
    [0],
    SchedulePolicy(
        zone=ZoneInfo("America/St_Johns"),
        window=SendingWindow(time(0, 0), time(0, 0)),
        business_days_only=False,
        holiday_country=None,
    ),
)


@LIMITED_HOLIDAY_DATA
@PROPERTY_SETTINGS
@given(scenarios())
@example(ST_JOHNS_FALL_BACK_2000)
def test_every_send_is_the_earliest_allowed_instant_at_or_after_its_base(
    scenario: tuple[datetime, list[int], SchedulePolicy],
) -> None:
    enrolled, delays, policy = scenario
    sends = plan_send_times(enrolled, delays, policy)

    assert len(sends) == len(delays)
    previous = enrolled
    for delay, send in zip(delays, sends, strict=True):
        base = oracle_shift(previous, delay, policy.zone)
        assert send.tzinfo is UTC
        assert oracle_is_allowed(send, policy)
        assert send == oracle_earliest(base, policy)
        previous = send


@LIMITED_HOLIDAY_DATA
@PROPERTY_SETTINGS
@given(scenarios())
def test_send_times_never_go_backwards_and_keep_their_day_gaps(
    scenario: tuple[datetime, list[int], SchedulePolicy],
) -> None:
    enrolled, delays, policy = scenario
    sends = plan_send_times(enrolled, delays, policy)

    previous = enrolled
    for delay, send in zip(delays, sends, strict=True):
        assert send >= oracle_shift(previous, delay, policy.zone) >= previous
        days_apart = zone_date(send, policy.zone) - zone_date(previous, policy.zone)
        assert days_apart.days >= delay
        previous = send


@LIMITED_HOLIDAY_DATA
@PROPERTY_SETTINGS
@given(scenarios(), st.integers(-3 * 24 * 60, 20 * 24 * 60))
def test_a_step_is_due_at_the_oracles_earliest_instant_after_its_delay_and_floor(
    scenario: tuple[datetime, list[int], SchedulePolicy], floor_minutes: int
) -> None:
    enrolled, delays, policy = scenario
    delay = delays[-1]
    not_before = enrolled + timedelta(minutes=floor_minutes)

    due = step_due(enrolled, delay, policy, not_before=not_before)

    base = max(oracle_shift(enrolled, delay, policy.zone), not_before.astimezone(UTC))
    assert due.tzinfo is UTC
    assert due == oracle_earliest(base, policy)
    assert step_due(enrolled, delay, policy) == oracle_earliest(
        oracle_shift(enrolled, delay, policy.zone), policy
    )


@PROPERTY_SETTINGS
@given(st.text(max_size=8), st.text(max_size=8))
def test_a_window_is_parsed_or_refused_with_its_field(start: str, end: str) -> None:
    try:
        window = SendingWindow.parse(start, end)
    except InvalidInput as error:
        assert error.field in ("window.start", "window.end")
        assert "HH:MM" in error.message
    else:
        assert window.start.strftime("%H:%M") == start
        assert window.end.strftime("%H:%M") == end


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=30), st.sampled_from(ZONES)))
def test_a_zone_is_loaded_or_refused_with_its_field(name: str) -> None:
    try:
        zone = parse_zone(name, "recipient_time_zone")
    except InvalidInput as error:
        assert error.field == "recipient_time_zone"
        assert "Europe/Berlin" in error.message
    else:
        assert zone.key == name


@PROPERTY_SETTINGS
@given(st.one_of(st.none(), st.text(max_size=4), st.sampled_from(COUNTRIES)))
def test_a_holiday_country_is_normalised_or_refused_with_its_field(code: str | None) -> None:
    try:
        normalised = parse_holiday_country(code)
    except InvalidInput as error:
        assert error.field == "holiday_country"
    else:
        if normalised is not None:
            assert code is not None and normalised == code.strip().upper()
            assert normalised in holidays.list_supported_countries()


@PROPERTY_SETTINGS
@given(st.lists(st.integers(-3, 3), max_size=5))
def test_delays_are_accepted_or_refused_with_an_indexed_field(delays: list[int]) -> None:
    valid = bool(delays) and delays[0] >= 0 and all(d >= 1 for d in delays[1:])
    if valid:
        validate_delays(delays)
        return
    with pytest.raises(InvalidInput) as caught:
        validate_delays(delays)
    field = caught.value.field
    assert field is not None
    if delays:
        first_bad = next(i for i, d in enumerate(delays) if (d < 0 if i == 0 else d < 1))
        assert field == f"delays_days.{first_bad}"
    else:
        assert field == "delays_days"
