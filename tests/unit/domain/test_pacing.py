from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.pacing import DAY, HOUR, MailboxLimits, earliest_send, sends_allowed

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_fresh_mailbox_sends_at_once():
    assert earliest_send(T0, [], MailboxLimits()) == T0


def test_the_next_email_waits_for_the_minimum_spacing():
    assert earliest_send(T0, [T0 - minutes(1)], MailboxLimits()) == T0 + minutes(4)


def test_the_thirteenth_email_of_an_hour_waits_until_the_first_leaves_the_hour():
    sends = [T0 + minutes(5 * i) for i in range(12)]  # 09:00 … 09:55
    at = T0 + minutes(56)
    assert earliest_send(at, sends, MailboxLimits()) == T0 + HOUR


def test_the_day_cap_is_rolling_not_per_calendar_day():
    limits = MailboxLimits(per_hour=200, per_day=200, min_spacing_seconds=0)
    sends = [T0 + minutes(i) for i in range(200)]
    assert earliest_send(T0 + HOUR * 5, sends, limits) == T0 + DAY


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"per_hour": 0}, "limits.per_hour"),
        ({"per_day": -3}, "limits.per_day"),
        ({"min_spacing_seconds": 90_000}, "limits.min_spacing_seconds"),
        ({"per_hour": 50, "per_day": 20}, "limits.per_hour"),
        ({"per_hour": True}, "limits.per_hour"),
    ],
)
def test_impossible_limits_are_refused_naming_the_limit(limits, field):
    with pytest.raises(InvalidInput) as error:
        MailboxLimits(**limits)
    assert error.value.field == field


def allowed(t, sends, limits):
    if any(t < s + limits.min_spacing for s in sends):
        return False
    in_hour = sum(1 for s in sends if t - HOUR < s <= t)
    in_day = sum(1 for s in sends if t - DAY < s <= t)
    return in_hour < limits.per_hour and in_day < limits.per_day


limits_strategy = st.builds(
    MailboxLimits,
    per_hour=st.integers(1, 6),
    per_day=st.integers(6, 12),
    min_spacing_seconds=st.integers(0, 1800),
)
sends_strategy = st.lists(st.integers(0, 24 * 60), max_size=14).map(
    lambda offsets: [T0 - minutes(m) for m in offsets]
)


@settings(max_examples=300, deadline=None)
@given(limits=limits_strategy, sends=sends_strategy, delay=st.integers(0, 120))
def test_the_earliest_send_keeps_every_limit_and_no_earlier_minute_would(limits, sends, delay):
    at = T0 + minutes(delay)
    result = earliest_send(at, sends, limits)
    assert result >= at
    assert allowed(result, sends, limits)
    # Each limit only relaxes as time passes, so checking the instant just before the
    # answer (at second resolution) shows no earlier instant was allowed.
    if result > at:
        assert not allowed(result - timedelta(seconds=1), sends, limits)


@settings(max_examples=200, deadline=None)
@given(limits=limits_strategy, sends=sends_strategy)
def test_sending_in_a_loop_never_breaks_a_limit(limits, sends):
    history = list(sends)
    t = T0
    for _ in range(30):
        t = earliest_send(t, history, limits)
        assert allowed(t, history, limits)
        history.append(t)


def _allowed_at_once(at, sends, limits):
    past = [s for s in sends if s <= at]
    return sends_allowed(
        at,
        newest=max(past, default=None),
        in_last_hour=sum(1 for s in past if at - HOUR < s),
        in_last_day=sum(1 for s in past if at - DAY < s),
        limits=limits,
    )


@settings(max_examples=300, deadline=None)
@given(limits=limits_strategy, sends=sends_strategy, delay=st.integers(0, 120))
def test_a_batch_takes_exactly_as_many_sends_as_the_limits_leave_at_that_instant(
    limits, sends, delay
):
    at = T0 + minutes(delay)
    allowance = _allowed_at_once(at, sends, limits)
    # Nothing may go exactly when the one-at-a-time rule says to wait, and the first may
    # go exactly when it says "now".
    assert (allowance > 0) == (earliest_send(at, sends, limits) == at)
    # Sending that many at ``at`` keeps every limit, and the rule then says one more
    # must wait: the batch took no more and no fewer than the limits leave.
    batch = sends + [at] * allowance
    for n in range(allowance):
        assert allowed(at, sends + [at] * n, limits)
    assert earliest_send(at, batch, limits) > at


def test_without_spacing_a_batch_fills_what_the_hour_leaves():
    limits = MailboxLimits(per_hour=10, per_day=100, min_spacing_seconds=0)
    sends = [T0 - minutes(10 * i) for i in range(1, 4)]  # 3 in the last hour
    assert _allowed_at_once(T0, sends, limits) == 7


def test_with_spacing_a_batch_sends_one_at_most():
    limits = MailboxLimits(per_hour=10, per_day=100, min_spacing_seconds=60)
    assert _allowed_at_once(T0, [], limits) == 1
    assert _allowed_at_once(T0, [T0 - timedelta(seconds=30)], limits) == 0
