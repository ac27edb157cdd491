"""When each step of a sequence is sent: the schedule maths.

This is a public contract, checked to the minute across DST, so the rule is spelled out
here once and the code follows it literally.

* All wall-clock reasoning happens in one zone ``Z``: the recipient's time zone when
  known, else the sequence's.
* A wall time becomes an instant by :func:`~sequencer.domain.wall_time.resolve_wall_time`
  (``fold=0``): inside a spring-forward gap it moves forward by the gap, an ambiguous
  fall-back time takes its first occurrence.
* Step ``i`` has a *base*: ``enrolled_at`` for step 0, the previous send otherwise. The
  base moves ``delays_days[i]`` calendar days later at the same wall time in ``Z``
  (a delay of 0 keeps the instant untouched). The step goes out at the earliest allowed
  instant at or after that.
* Allowed instants are the union of sending windows. Local date ``D`` has one window
  opening at ``start`` on ``D``; it closes at ``end`` on ``D`` when ``start < end``, at
  ``end`` on ``D + 1`` when ``start > end`` (crosses midnight, still ``D``'s window) and
  at ``start`` on ``D + 1`` when ``start == end`` (a whole day; 00:00-00:00 means always).
  The window is half-open ``[open, close)``. It exists only if its resolved opening lies
  on ``D`` (days a zone skipped have none) and is not empty after resolution. With
  ``business_days_only`` only Monday-Friday opening dates count; a ``holiday_country``
  removes windows opening on that country's public holidays.

No clock is read here: every instant comes in as an argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from sequencer.domain.errors import InvalidInput
from sequencer.domain.wall_time import local_date, resolve_wall_time

__all__ = [
    "SchedulePolicy",
    "SendingWindow",
    "add_days_at_wall_time",
    "next_allowed_instant",
    "parse_holiday_country",
    "parse_zone",
    "plan_send_times",
    "require_aware",
    "sending_zone",
    "step_due",
    "validate_delays",
]

# Strict 24-hour "HH:MM". Spelled with [0-9] rather than \d, which would also accept
# non-ASCII digits such as Arabic-Indic numerals.
_HH_MM = re.compile(r"(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])")
_TIME_HINT = "use 24-hour HH:MM, e.g. 09:00"

_ALPHA_2 = re.compile(r"[A-Za-z]{2}")

# The search for an allowed instant gives up after about two years. Any valid policy
# has a window within days (at worst a run of weekend days and holidays), so running
# out means the input cannot be satisfied rather than that the search was too short.
_SEARCH_DAYS = 2 * 366 + 7

# A window that opened before the base's local date can still be open at the base: one
# from the day before when it crosses midnight or lasts a whole day, and one from two
# days before when a DST gap (up to a whole skipped day, as in Pacific/Apia) pushes its
# close forward into the base's date.
_LOOKBACK_DAYS = 2


@dataclass(frozen=True)
class SendingWindow:
    """The daily local time range in which mail may go out: ``[start, end)``.

    ``start > end`` crosses midnight; ``start == end`` is a whole day (24 hours from
    ``start``).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            # A tz-aware time would silently be ignored by the resolution below, so it is
            # refused instead: the zone belongs to the policy, not to the window.
            if not isinstance(value, time) or value.tzinfo is not None:
                raise InvalidInput(
                    f"window.{name} must be a local time without a zone; {_TIME_HINT}",
                    field=f"window.{name}",
                    code="invalid_time",
                )

    @classmethod
    def parse(cls, start: str, end: str) -> SendingWindow:
        """Build a window from two ``"HH:MM"`` strings (``"09:00"``, ``"17:30"``)."""
        return cls(_parse_hh_mm(start, "window.start"), _parse_hh_mm(end, "window.end"))

    @property
    def crosses_midnight(self) -> bool:
        return self.start > self.end

    @property
    def is_whole_day(self) -> bool:
        return self.start == self.end

    def bounds_on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The UTC ``(open, close)`` of the window that opens on local ``day`` in ``zone``.

        ``None`` when there is no such window: its opening wall time resolves onto
        another date (the zone skipped ``day`` or the opening sits in a gap that spills
        past midnight), or DST resolution left it empty. Business days and holidays are
        the policy's concern, not the window's.
        """
        opens = resolve_wall_time(day, self.start, zone)
        if local_date(opens, zone) != day:
            return None
        if self.start < self.end:
            closes = resolve_wall_time(day, self.end, zone)
        else:
            # Midnight-crossing and whole-day windows both close on the next date; for a
            # whole day ``end == start`` so this is "start, one day later".
            closes = resolve_wall_time(day + timedelta(days=1), self.end, zone)
        if closes <= opens:
            return None
        return opens, closes


@dataclass(frozen=True)
class SchedulePolicy:
    """Everything that decides whether an instant may be used for sending.

    ``zone`` is the zone all wall-time reasoning happens in (the recipient's when known,
    see :func:`sending_zone`). ``holiday_country`` is normalised to upper case.
    """

    zone: ZoneInfo
    window: SendingWindow
    business_days_only: bool = False
    holiday_country: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.zone, ZoneInfo):
            raise TypeError("SchedulePolicy.zone must be a ZoneInfo; use parse_zone(name)")
        # Normalised here as well so that a policy built by hand behaves like one built
        # from user input ("gb" and "GB" must mean the same calendar).
        object.__setattr__(self, "holiday_country", parse_holiday_country(self.holiday_country))

    @classmethod
    def from_settings(
        cls,
        *,
        time_zone: str,
        window_start: str,
        window_end: str,
        recipient_time_zone: str | None = None,
        business_days_only: bool = False,
        holiday_country: str | None = None,
    ) -> SchedulePolicy:
        """Validate raw settings (as a user typed them) into a policy."""
        return cls(
            zone=sending_zone(time_zone, recipient_time_zone),
            window=SendingWindow.parse(window_start, window_end),
            business_days_only=business_days_only,
            holiday_country=parse_holiday_country(holiday_country),
        )

    def is_sending_day(self, day: date) -> bool:
        """Whether a window opening on local ``day`` may be used."""
        return self.closed_because(day) is None

    def closed_because(self, day: date) -> str | None:
        """Why no window opens on local ``day``: ``"weekend"`` (business days only),
        ``"holiday"`` (a public holiday of ``holiday_country``), or None when one may."""
        if self.business_days_only and day.weekday() >= 5:
            return "weekend"
        if self.holiday_country and day in _holiday_dates(self.holiday_country, day.year):
            return "holiday"
        return None

    def window_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The usable UTC ``(open, close)`` of the window opening on ``day``, if any."""
        if not self.is_sending_day(day):
            return None
        return self.window.bounds_on(day, self.zone)

    def windows(self, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
        """Every usable window opening on a local date in ``[first_day, last_day]``."""
        found: list[tuple[datetime, datetime]] = []
        day = first_day
        while day <= last_day:
            bounds = self.window_on(day)
            if bounds is not None:
                found.append(bounds)
            day += timedelta(days=1)
        return found


def require_aware(value: datetime, field: str) -> datetime:
    """``value`` unchanged if it is an aware datetime; refuse naive ones."""
    example = "2026-03-06T16:30:00+00:00"
    if not isinstance(value, datetime):
        raise InvalidInput(
            f"{field} must be a date and time with a UTC offset, e.g. {example}",
            field=field,
            code="invalid_datetime",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{field} has no UTC offset, so the moment it means is unknown; "
            f"add an offset such as +00:00, e.g. {example}",
            field=field,
            code="naive_datetime",
        )
    return value


def parse_zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name such as ``Europe/Berlin``."""
    if not isinstance(name, str) or not name:
        raise InvalidInput(
            f"{field} is required; use an IANA time zone name such as Europe/Berlin",
            field=field,
            code="unknown_time_zone",
        )
    try:
        return ZoneInfo(name)
    # ZoneInfo reports a bad key in several ways: not found (a KeyError subclass), a path
    # that escapes the database or a NUL byte (ValueError), a directory such as "America"
    # (IsADirectoryError).
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        hint = _zone_suggestion(name)
        raise InvalidInput(
            f"{field} {name!r} is not a known time zone; "
            f"use an IANA name such as Europe/Berlin{hint}",
            field=field,
            code="unknown_time_zone",
        ) from exc


def sending_zone(time_zone: str, recipient_time_zone: str | None = None) -> ZoneInfo:
    """Zone ``Z`` for all wall-time reasoning: the recipient's when given, else the sequence's.

    Both are validated, so a typo in the sequence's zone is reported even when every
    recipient has their own. An empty recipient zone (a blank CSV cell) means "not given".
    """
    zone = parse_zone(time_zone, "time_zone")
    if recipient_time_zone is None or recipient_time_zone == "":
        return zone
    return parse_zone(recipient_time_zone, "recipient_time_zone")


def parse_holiday_country(code: str | None, field: str = "holiday_country") -> str | None:
    """A supported ISO 3166 alpha-2 country code in upper case, or ``None`` for no holidays.

    A blank value means "no holiday calendar", the same as ``None``: forms and CSV files
    send empty strings for fields left alone.
    """
    if code is None:
        return None
    if not isinstance(code, str):
        raise InvalidInput(
            f"{field} must be a two-letter country code such as US or GB",
            field=field,
            code="unknown_country",
        )
    stripped = code.strip()
    if not stripped:
        return None
    # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII
    # ("ß" becomes "SS", which is South Sudan).
    normalised = stripped.upper() if _ALPHA_2.fullmatch(stripped) else ""
    if normalised not in _supported_countries():
        raise InvalidInput(
            f"{field} {code!r} is not a supported country; use a two-letter ISO 3166 code "
            "such as US, GB or DE, or leave it empty for no holidays",
            field=field,
            code="unknown_country",
        )
    return normalised


def validate_delays(delays_days: Sequence[int], field: str = "delays_days") -> None:
    """Refuse delays the schedule cannot honour: one whole number of days per step,
    the first 0 or more, every later one at least 1."""
    example = "[0, 2, 3]"
    if isinstance(delays_days, str | bytes) or not isinstance(delays_days, Sequence):
        raise InvalidInput(
            f"{field} must be a list with one delay in days per step, e.g. {example}",
            field=field,
            code="invalid_delays",
        )
    if len(delays_days) == 0:
        raise InvalidInput(
            f"{field} is empty; a sequence needs at least one step, e.g. {example}",
            field=field,
            code="no_steps",
        )
    for index, delay in enumerate(delays_days):
        item = f"{field}.{index}"
        # bool is an int subclass; True as "1 day" is almost certainly a mistake.
        if isinstance(delay, bool) or not isinstance(delay, int):
            raise InvalidInput(
                f"{item} must be a whole number of days, e.g. 2; got {delay!r}",
                field=item,
                code="invalid_delay",
            )
        if index == 0 and delay < 0:
            raise InvalidInput(
                f"{item} is {delay}; the first step's delay must be 0 or more days "
                "(0 sends as soon as the sending window allows)",
                field=item,
                code="invalid_delay",
            )
        if index > 0 and delay < 1:
            raise InvalidInput(
                f"{item} is {delay}; every step after the first must wait at least 1 day, "
                "use 1 or more",
                field=item,
                code="invalid_delay",
            )


def add_days_at_wall_time(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """``instant`` moved ``days`` calendar days in ``zone``, keeping its wall-clock time.

    The result is in UTC. Zero days returns the same instant: a round trip through wall
    time would move an instant in the second occurrence of a repeated hour back to the
    first.
    """
    require_aware(instant, "instant")
    if days == 0:
        return instant.astimezone(UTC)
    local = instant.astimezone(zone)
    return resolve_wall_time(local.date() + timedelta(days=days), local.time(), zone)


def next_allowed_instant(at: datetime, policy: SchedulePolicy) -> datetime:
    """The earliest instant at or after ``at`` inside a usable window, in UTC."""
    at_utc = require_aware(at, "at").astimezone(UTC)
    try:
        found = _earliest_allowed(at_utc, policy)
    except OverflowError:
        found = None
    if found is None:
        raise InvalidInput(
            "no sending window is open within two years of "
            f"{at_utc.isoformat()}; widen the window, allow weekends or drop the "
            "holiday calendar",
            field=None,
            code="no_sending_window",
        )
    return found


def _earliest_allowed(at: datetime, policy: SchedulePolicy) -> datetime | None:
    first_day = local_date(at, policy.zone) - timedelta(days=_LOOKBACK_DAYS)
    for offset in range(_SEARCH_DAYS):
        bounds = policy.window_on(first_day + timedelta(days=offset))
        if bounds is None:
            continue
        opens, closes = bounds
        if closes <= at:
            continue
        # The first window still open at ``at`` holds the answer. Windows can overlap (a
        # close pushed forward by a DST gap may pass the next opening), but openings
        # never move backwards from one date to the next: with fold=0 an opening can
        # only come earlier than "24 hours later" by the size of an offset change, and
        # no zone changes its offset by more than a day (Apia's skipped day is exactly
        # one; checked for every tz database zone around every change in 2000-2035). So
        # no later window can offer an instant earlier than max(opens, at).
        return max(opens, at)
    return None


def step_due(
    base: datetime,
    delay_days: int,
    policy: SchedulePolicy,
    not_before: datetime | None = None,
) -> datetime:
    """When a step goes out: ``delay_days`` calendar days after ``base`` at the same wall
    time in the policy's zone, never before ``not_before``, at the earliest allowed
    instant at or after that (in UTC).

    This is the only source of send times: the schedule preview, enrollment, the engine
    after each send, and resuming a paused recipient (``not_before`` = the moment of
    resuming) all ask it. ``OverflowError`` when the delay reaches past year 9999.
    """
    moved = add_days_at_wall_time(require_aware(base, "base"), delay_days, policy.zone)
    if not_before is not None:
        moved = max(moved, require_aware(not_before, "not_before").astimezone(UTC))
    return next_allowed_instant(moved, policy)


def plan_send_times(
    enrolled_at: datetime, delays_days: Sequence[int], policy: SchedulePolicy
) -> list[datetime]:
    """One UTC send time per step, following the rule in this module's docstring."""
    previous = require_aware(enrolled_at, "enrolled_at").astimezone(UTC)
    validate_delays(delays_days)
    sends: list[datetime] = []
    for index, delay in enumerate(delays_days):
        try:
            previous = step_due(previous, delay, policy)
        except OverflowError as exc:
            raise InvalidInput(
                f"delays_days.{index} ({delay} days) reaches past the last supported date; "
                "use a shorter delay",
                field=f"delays_days.{index}",
                code="invalid_delay",
            ) from exc
        sends.append(previous)
    return sends


def _parse_hh_mm(value: str, field: str) -> time:
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(
            f"{field} {value!r} is not a time; {_TIME_HINT}",
            field=field,
            code="invalid_time",
        )
    return time(int(match["hour"]), int(match["minute"]))


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    # Building this list imports every country module (~0.4 s), so it is done once.
    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=4096)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    """Public holidays (observed days included) of ``country`` falling in ``year``.

    A frozen set rather than the library's calendar object: that object fills in years
    lazily on lookup, which is a mutation and not safe to share between threads. The
    neighbouring years are generated too because an observed day can cross New Year
    (US New Year's Day 2022, a Saturday, was observed on Friday 2021-12-31).
    """
    years = [y for y in (year - 1, year, year + 1) if date.min.year <= y <= date.max.year]
    calendar = holidays.country_holidays(country, years=years)
    return frozenset(day for day in calendar if day.year == year)


@lru_cache(maxsize=1)
def _zone_names_by_lower_case() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _zone_suggestion(name: str) -> str:
    """ ", did you mean X?" when ``name`` differs from a real zone only by case or spaces."""
    match = _zone_names_by_lower_case().get(name.strip().replace(" ", "_").lower())
    return f" (did you mean {match}?)" if match else ""
