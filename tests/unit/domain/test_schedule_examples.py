"""Hand-computed send times in zones with awkward rules.

Every expected value below was worked out on paper from the rule in
``sequencer.domain.schedule`` and the zone facts listed here, not copied from the code:

* America/New_York: EST -05:00, EDT -04:00. 2026-03-08 02:00 EST jumps to 03:00 EDT
  (gap 02:00-03:00); 2026-11-01 02:00 EDT falls back to 01:00 EST (01:00-02:00 twice).
* Europe/London: GMT +00:00, BST +01:00. 2026-03-29 01:00 -> 02:00; 2026-10-25
  02:00 -> 01:00.
* Australia/Lord_Howe: +10:30 standard, +11:00 summer, a 30-minute shift.
  2026-04-05 02:00 (+11) falls back to 01:30 (+10:30); 2026-10-04 02:00 (+10:30)
  jumps to 02:30 (+11).
* Asia/Kolkata: +05:30 all year.
* Pacific/Apia: 2011-12-29 was -10:00 and was followed by 2011-12-31 at +14:00; the 30th
  never happened there. January 2012 was still +14:00.

Gap rule: a wall time in a gap is read with the offset from before the jump, so it moves
forward by the gap. Fold rule: an ambiguous wall time is its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from sequencer.domain.schedule import (
    SchedulePolicy,
    SendingWindow,
    add_days_at_wall_time,
    next_allowed_instant,
    parse_zone,
    plan_send_times,
)


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@dataclass(frozen=True)
class Case:
    zone: str
    window: tuple[str, str]
    enrolled_at: str
    delays: tuple[int, ...]
    expected_utc: tuple[str, ...]
    business_days_only: bool = False
    holiday_country: str | None = None

    def policy(self) -> SchedulePolicy:
        return SchedulePolicy(
            zone=parse_zone(self.zone),
            window=SendingWindow.parse(*self.window),
            business_days_only=self.business_days_only,
            holiday_country=self.holiday_country,
        )


ALWAYS = ("00:00", "00:00")
OFFICE = ("09:00", "17:00")

CASES: dict[str, Case] = {
    # Fri 16:30 EST is inside 09-17 -> 21:30Z. +1 day = Sat 16:30, no business window until
    # Mon 09:00, and Monday is already EDT -> 13:00Z. Mon 09:00 + 3 days = Thu 09:00 EDT.
    "the contract example waits over the weekend and across the DST change": Case(
        "America/New_York",
        OFFICE,
        "2026-03-06T16:30:00-05:00",
        (0, 1, 3),
        ("2026-03-06T21:30:00Z", "2026-03-09T13:00:00Z", "2026-03-12T13:00:00Z"),
        business_days_only=True,
    ),
    # Sat 02:30 EST = 07:30Z. +1 day: 2026-03-08 02:30 does not exist; read at -05:00 it is
    # 07:30Z, i.e. 03:30 EDT. Exactly 24 h later, one wall hour later.
    "a delay landing in the spring-forward gap moves forward by the gap": Case(
        "America/New_York",
        ALWAYS,
        "2026-03-07T02:30:00-05:00",
        (0, 1),
        ("2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z"),
    ),
    # 2026-10-31 01:30 EDT = 05:30Z. +1 day: 2026-11-01 01:30 happens twice; first is EDT.
    "a delay landing in the repeated hour takes its first occurrence": Case(
        "America/New_York",
        ALWAYS,
        "2026-10-31T01:30:00-04:00",
        (0, 1),
        ("2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z"),
    ),
    # The second 01:30 (EST) = 06:30Z stays as it is for delay 0; +1 day is 11-02 01:30 EST.
    "a zero delay keeps the second occurrence of a repeated hour": Case(
        "America/New_York",
        ALWAYS,
        "2026-11-01T01:30:00-05:00",
        (0, 1),
        ("2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"),
    ),
    # Open 02:30 on 03-08 is in the gap -> 02:30 at -05:00 = 07:30Z (03:30 EDT); close
    # 04:00 EDT = 08:00Z.
    "a window opening in the gap opens when the gap ends plus the remainder": Case(
        "America/New_York",
        ("02:30", "04:00"),
        "2026-03-08T00:00:00-05:00",
        (0,),
        ("2026-03-08T07:30:00Z",),
    ),
    # Open 02:15 -> 07:15Z, close 03:00 EDT = 07:00Z: empty on 03-08, so Monday 02:15 EDT.
    "a window emptied by the gap is skipped": Case(
        "America/New_York",
        ("02:15", "03:00"),
        "2026-03-08T00:00:00-05:00",
        (0,),
        ("2026-03-09T06:15:00Z",),
    ),
    # Open 01:30 on 11-01 is ambiguous -> first occurrence, EDT, 05:30Z.
    "a window opening in the repeated hour opens at its first occurrence": Case(
        "America/New_York",
        ("01:30", "09:00"),
        "2026-11-01T00:00:00-04:00",
        (0,),
        ("2026-11-01T05:30:00Z",),
    ),
    # 01:15 EST (second pass, 06:15Z) lies in [05:30Z, 09:00 EST = 14:00Z): sent at once.
    "an enrolment in the second pass of the repeated hour inside the window is sent at once": Case(
        "America/New_York",
        ("01:30", "09:00"),
        "2026-11-01T01:15:00-05:00",
        (0,),
        ("2026-11-01T06:15:00Z",),
    ),
    # 2025-11-02 was also a fall-back Sunday, 364 days earlier. The second 01:30 (EST,
    # 06:30Z) moved 364 days is 2026-11-01 01:30, ambiguous again: first occurrence, EDT,
    # 05:30Z. The source's "second occurrence" must not be carried over.
    "a delay from one repeated hour into next year's takes the first occurrence": Case(
        "America/New_York",
        ALWAYS,
        "2025-11-02T01:30:00-05:00",
        (0, 364),
        ("2025-11-02T06:30:00Z", "2026-11-01T05:30:00Z"),
    ),
    # The 10-31 window closes at 11-01 01:30 first occurrence = 05:30Z. 01:20 EST = 06:20Z is
    # after that instant although its wall time is earlier. Next opens 11-01 20:00 EST =
    # 01:00Z on 11-02.
    "a window closing in the repeated hour closes at its first occurrence": Case(
        "America/New_York",
        ("20:00", "01:30"),
        "2026-11-01T01:20:00-05:00",
        (0,),
        ("2026-11-02T01:00:00Z",),
    ),
    # Thursday 2026-11-26 is Thanksgiving. Wed 18:00 is after close -> Fri 09:00 EST.
    "a us holiday is skipped even without business days": Case(
        "America/New_York",
        OFFICE,
        "2026-11-25T18:00:00-05:00",
        (0,),
        ("2026-11-27T14:00:00Z",),
        holiday_country="US",
    ),
    # Wed 10:00 EST = 15:00Z; +1 day = Thanksgiving 10:00 -> Fri 09:00 EST = 14:00Z.
    "a delay landing on a holiday waits for the next sending day": Case(
        "America/New_York",
        OFFICE,
        "2026-11-25T10:00:00-05:00",
        (0, 1),
        ("2026-11-25T15:00:00Z", "2026-11-27T14:00:00Z"),
        business_days_only=True,
        holiday_country="us",
    ),
    "an enrolment exactly at the window opening is sent then": Case(
        "America/New_York",
        OFFICE,
        "2026-03-10T09:00:00-04:00",
        (0,),
        ("2026-03-10T13:00:00Z",),
    ),
    "an enrolment exactly at the window close waits for the next day": Case(
        "America/New_York",
        OFFICE,
        "2026-03-10T17:00:00-04:00",
        (0,),
        ("2026-03-11T13:00:00Z",),
    ),
    # Thu 10:00 EST + 2 days = Sat 10:00 -> Mon 03-09 09:00 EDT.
    "a first delay above zero is counted from the enrolment": Case(
        "America/New_York",
        OFFICE,
        "2026-03-05T10:00:00-05:00",
        (2,),
        ("2026-03-09T13:00:00Z",),
        business_days_only=True,
    ),
    # Thu 10:00 EST + 3 days = Sun 03-08 10:00, already EDT = 14:00Z.
    "a first delay keeps the wall time across the DST change": Case(
        "America/New_York",
        OFFICE,
        "2026-03-05T10:00:00-05:00",
        (3,),
        ("2026-03-08T14:00:00Z",),
    ),
    # Sat 03:00 EDT is inside Friday's 22:00-06:00 window, which counts as a business day.
    "a saturday morning belongs to friday's midnight-crossing window": Case(
        "America/New_York",
        ("22:00", "06:00"),
        "2026-03-14T03:00:00-04:00",
        (0,),
        ("2026-03-14T07:00:00Z",),
        business_days_only=True,
    ),
    # Sun 03:00 is in Saturday's window (not a business day); Sunday's also not; Mon 22:00
    # EDT = Tue 02:00Z.
    "a sunday morning belongs to saturday's window and waits for monday night": Case(
        "America/New_York",
        ("22:00", "06:00"),
        "2026-03-15T03:00:00-04:00",
        (0,),
        ("2026-03-17T02:00:00Z",),
        business_days_only=True,
    ),
    # 09:00-09:00 is Friday 09:00 to Saturday 09:00: Sat 08:00 EDT = 12:00Z is inside.
    "a whole-day window starting at nine covers saturday morning for friday": Case(
        "America/New_York",
        ("09:00", "09:00"),
        "2026-03-14T08:00:00-04:00",
        (0,),
        ("2026-03-14T12:00:00Z",),
        business_days_only=True,
    ),
    "a whole-day window starting at nine closes at nine the next day": Case(
        "America/New_York",
        ("09:00", "09:00"),
        "2026-03-14T09:00:00-04:00",
        (0,),
        ("2026-03-16T13:00:00Z",),
        business_days_only=True,
    ),
    # 00:00-00:00 on business days only: Saturday noon waits for Monday 00:00 EDT.
    "a weekend enrolment waits for monday midnight in an all-day window": Case(
        "America/New_York",
        ALWAYS,
        "2026-03-14T12:00:00-04:00",
        (0,),
        ("2026-03-16T04:00:00Z",),
        business_days_only=True,
    ),
    # London 2026-03-29: open 01:00 is in the gap -> 01:00 at +00:00 = 01:00Z (02:00 BST).
    "a london window opening in the gap opens after it": Case(
        "Europe/London",
        ("01:00", "03:00"),
        "2026-03-29T00:30:00+00:00",
        (0,),
        ("2026-03-29T01:00:00Z",),
    ),
    # Fri 09:00 GMT; +3 days = Mon 03-30 09:00 BST = 08:00Z.
    "a london delay keeps nine o'clock across the start of summer time": Case(
        "Europe/London",
        OFFICE,
        "2026-03-27T09:00:00+00:00",
        (0, 3),
        ("2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z"),
    ),
    # 10-24 01:30 BST = 00:30Z; 10-25 01:30 is ambiguous -> BST -> 00:30Z.
    "a london delay into the repeated hour takes summer time": Case(
        "Europe/London",
        ALWAYS,
        "2026-10-24T01:30:00+01:00",
        (0, 1),
        ("2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"),
    ),
    # Christmas Fri 25, weekend, Boxing Day observed Mon 28 -> Tue 29 09:00 GMT.
    "a british christmas with business days resumes on the twenty-ninth": Case(
        "Europe/London",
        OFFICE,
        "2026-12-24T17:30:00+00:00",
        (0,),
        ("2026-12-29T09:00:00Z",),
        business_days_only=True,
        holiday_country="GB",
    ),
    # Without business days: 25 Christmas, 26 Boxing Day (a Saturday, still a holiday),
    # Sunday 27 is an ordinary day.
    "a british christmas without business days resumes on sunday": Case(
        "Europe/London",
        OFFICE,
        "2026-12-24T17:30:00+00:00",
        (0,),
        ("2026-12-27T09:00:00Z",),
        holiday_country="GB",
    ),
    # 04-04 01:45 +11 = 04-03 14:45Z; 04-05 01:45 is ambiguous -> +11 -> 04-04 14:45Z.
    "a lord howe delay into the half-hour fold takes the first occurrence": Case(
        "Australia/Lord_Howe",
        ALWAYS,
        "2026-04-04T01:45:00+11:00",
        (0, 1),
        ("2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z"),
    ),
    # 10-03 02:10 +10:30 = 10-02 15:40Z; 10-04 02:10 is in the half-hour gap -> read at
    # +10:30 -> 10-03 15:40Z (02:40 +11).
    "a lord howe delay into the half-hour gap moves forward thirty minutes": Case(
        "Australia/Lord_Howe",
        ALWAYS,
        "2026-10-03T02:10:00+10:30",
        (0, 1),
        ("2026-10-02T15:40:00Z", "2026-10-03T15:40:00Z"),
    ),
    # Open 02:15 on 10-04 is in the gap -> 02:15 at +10:30 = 10-03 15:45Z.
    "a lord howe window opening in the gap opens thirty minutes late": Case(
        "Australia/Lord_Howe",
        ("02:15", "08:00"),
        "2026-10-04T00:00:00+10:30",
        (0,),
        ("2026-10-03T15:45:00Z",),
    ),
    # Fri 23:00 IST is inside Friday's 22:00-06:00 window -> 17:30Z.
    "a kolkata friday night is inside the window": Case(
        "Asia/Kolkata",
        ("22:00", "06:00"),
        "2026-03-13T23:00:00+05:30",
        (0,),
        ("2026-03-13T17:30:00Z",),
        business_days_only=True,
    ),
    # Sat 05:59 IST is the last minute of Friday's window -> 00:29Z.
    "a kolkata saturday dawn still belongs to friday": Case(
        "Asia/Kolkata",
        ("22:00", "06:00"),
        "2026-03-14T05:59:00+05:30",
        (0,),
        ("2026-03-14T00:29:00Z",),
        business_days_only=True,
    ),
    # Sat 06:00 closes Friday's window; next business window Mon 22:00 IST = 16:30Z.
    "a kolkata saturday at six waits for monday night": Case(
        "Asia/Kolkata",
        ("22:00", "06:00"),
        "2026-03-14T06:00:00+05:30",
        (0,),
        ("2026-03-16T16:30:00Z",),
        business_days_only=True,
    ),
    # Thu 23:30 IST = 18:00Z; Fri 23:30 in Friday's window; Sat 23:30 is in Saturday's
    # window (not business) -> Monday 22:00 IST.
    "a kolkata sequence of nightly steps skips the weekend": Case(
        "Asia/Kolkata",
        ("22:00", "06:00"),
        "2026-03-12T23:30:00+05:30",
        (0, 1, 1),
        ("2026-03-12T18:00:00Z", "2026-03-13T18:00:00Z", "2026-03-16T16:30:00Z"),
        business_days_only=True,
    ),
    # Apia: 12-29 10:00 -10 = 20:00Z. +1 day: 12-30 10:00 does not exist, read at -10:00
    # it is 12-30 20:00Z = 12-31 10:00 +14. +1 more day: 2012-01-01 10:00 +14 = 12-31 20:00Z.
    "an apia delay over the skipped day lands on the thirty-first": Case(
        "Pacific/Apia",
        ALWAYS,
        "2011-12-29T10:00:00-10:00",
        (0, 1, 1),
        ("2011-12-29T20:00:00Z", "2011-12-30T20:00:00Z", "2011-12-31T20:00:00Z"),
    ),
    # Window 09:00-08:00. The 29th's window opens 12-29 09:00 -10 = 19:00Z and closes at
    # 12-30 08:00, which does not exist: read at -10 it is 12-30 18:00Z (12-31 08:00 +14).
    # 12-31 07:00 +14 = 12-30 17:00Z is still inside the window that opened two local
    # dates earlier.
    "an apia window from two dates back is still open after the skipped day": Case(
        "Pacific/Apia",
        ("09:00", "08:00"),
        "2011-12-31T07:00:00+14:00",
        (0,),
        ("2011-12-30T17:00:00Z",),
    ),
    # Thu 12-29 18:00 is after close. Friday 30th does not exist (its 09:00 resolves onto
    # the 31st, so it has no window), 31st is Saturday, 1st Sunday -> Mon 2012-01-02 09:00
    # +14 = 01-01 19:00Z.
    "an apia skipped friday offers no business window": Case(
        "Pacific/Apia",
        OFFICE,
        "2011-12-29T18:00:00-10:00",
        (0,),
        ("2012-01-01T19:00:00Z",),
        business_days_only=True,
    ),
    # Without business days the 31st opens at 09:00 +14 = 12-30 19:00Z.
    "an apia enrolment before the skipped day waits for the thirty-first": Case(
        "Pacific/Apia",
        OFFICE,
        "2011-12-29T18:00:00-10:00",
        (0,),
        ("2011-12-30T19:00:00Z",),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_step_is_sent_at_the_hand_computed_instant(case: Case) -> None:
    sends = plan_send_times(at(case.enrolled_at), case.delays, case.policy())

    assert sends == [at(expected) for expected in case.expected_utc]
    assert all(send.tzinfo is UTC for send in sends)


def test_the_recipient_time_zone_overrides_the_sequence_time_zone() -> None:
    # 12:00Z is 17:30 in Kolkata (closed, next 09:00 IST = 03:30Z) but 08:00 in New York.
    enrolled = at("2026-03-10T12:00:00+00:00")
    for_recipient = SchedulePolicy.from_settings(
        time_zone="America/New_York",
        recipient_time_zone="Asia/Kolkata",
        window_start="09:00",
        window_end="17:00",
    )
    for_sequence = SchedulePolicy.from_settings(
        time_zone="America/New_York", window_start="09:00", window_end="17:00"
    )

    assert plan_send_times(enrolled, [0], for_recipient) == [at("2026-03-11T03:30:00+00:00")]
    assert plan_send_times(enrolled, [0], for_sequence) == [at("2026-03-10T13:00:00+00:00")]


def test_a_blank_recipient_time_zone_falls_back_to_the_sequence_time_zone() -> None:
    policy = SchedulePolicy.from_settings(
        time_zone="Asia/Kolkata", recipient_time_zone="", window_start="09:00", window_end="17:00"
    )
    assert policy.zone.key == "Asia/Kolkata"


def test_seconds_and_microseconds_survive_the_plan() -> None:
    # 10:15:42.123456 EDT is inside the window; +2 days keeps the exact wall clock.
    policy = SchedulePolicy(parse_zone("America/New_York"), SendingWindow.parse(*OFFICE))
    sends = plan_send_times(at("2026-03-10T10:15:42.123456-04:00"), [0, 2], policy)
    assert sends == [
        at("2026-03-10T14:15:42.123456+00:00"),
        at("2026-03-12T14:15:42.123456+00:00"),
    ]


def test_the_enrolment_offset_does_not_matter_only_the_instant() -> None:
    # The same instant written in UTC and in Tokyo time plans identically.
    policy = SchedulePolicy(parse_zone("America/New_York"), SendingWindow.parse(*OFFICE))
    in_utc = plan_send_times(at("2026-03-06T21:30:00+00:00"), [0, 1, 3], policy)
    in_tokyo = plan_send_times(at("2026-03-07T06:30:00+09:00"), [0, 1, 3], policy)
    assert in_utc == in_tokyo


def test_a_zero_day_shift_returns_the_same_instant_in_utc() -> None:
    second_pass = at("2026-11-01T01:30:00-05:00")
    shifted = add_days_at_wall_time(second_pass, 0, parse_zone("America/New_York"))
    assert shifted == second_pass
    assert shifted.tzinfo is UTC


def test_next_allowed_instant_inside_a_window_is_the_instant_itself() -> None:
    policy = SchedulePolicy(parse_zone("Asia/Kolkata"), SendingWindow.parse(*OFFICE))
    assert next_allowed_instant(at("2026-03-10T12:00:00+05:30"), policy) == at(
        "2026-03-10T06:30:00+00:00"
    )


def test_sending_days_exclude_weekends_and_holidays_only_when_asked() -> None:
    zone = parse_zone("Europe/London")
    window = SendingWindow.parse(*OFFICE)
    plain = SchedulePolicy(zone, window)
    business = SchedulePolicy(zone, window, business_days_only=True)
    british = SchedulePolicy(zone, window, holiday_country="gb")
    christmas, boxing_day_saturday = date(2026, 12, 25), date(2026, 12, 26)

    assert plain.is_sending_day(boxing_day_saturday) and plain.is_sending_day(christmas)
    assert not business.is_sending_day(boxing_day_saturday)
    assert business.is_sending_day(christmas)
    # Boxing Day falls on a Saturday in 2026 and is a holiday in its own right.
    assert not british.is_sending_day(christmas)
    assert not british.is_sending_day(boxing_day_saturday)
    assert british.is_sending_day(date(2026, 12, 27))
    assert british.holiday_country == "GB"
