"""Housekeeping's cut-offs: each kind is kept its days (0: forever), never less than the
engine still needs it; and the daily run is due once a day until it has finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.retention import DAILY, Retention, cutoffs, is_finished, is_run_due

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RETRY = timedelta(days=1)
LISTED = timedelta(days=210)

days = st.integers(min_value=0, max_value=3650)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _cut(retention: Retention, now: datetime = NOW):
    return cutoffs(now, retention, inbound_retry=RETRY, calendar_listed_for=LISTED)


def test_the_defaults_keep_raw_mail_90_days_events_30_deliveries_180_and_drafts_files_1() -> None:
    cut = _cut(Retention())
    assert cut.inbound_raw == NOW - timedelta(days=90)
    assert cut.finished_deliveries == NOW - timedelta(days=180)
    assert cut.unused_attachments == NOW - timedelta(days=1)
    # Counted from when a poll can no longer list the event.
    assert cut.seen_calendar_events == NOW - LISTED - timedelta(days=30)


def test_zero_days_keeps_a_kind_forever() -> None:
    cut = _cut(Retention(0, 0, 0, 0))
    assert cut == type(cut)(None, None, None, None)


@given(inbound=days, events=days, deliveries=days, files=days, now=moments)
def test_every_cut_off_is_in_the_past_by_at_least_its_days_and_floor(
    inbound: int, events: int, deliveries: int, files: int, now: datetime
) -> None:
    cut = _cut(Retention(inbound, events, deliveries, files), now)
    for kept, at, least in (
        (inbound, cut.inbound_raw, max(timedelta(days=inbound), RETRY)),
        (events, cut.seen_calendar_events, LISTED + timedelta(days=events)),
        (deliveries, cut.finished_deliveries, timedelta(days=deliveries)),
        (files, cut.unused_attachments, timedelta(days=files)),
    ):
        if kept == 0:
            assert at is None
        else:
            assert at is not None and now - at == least


@given(shorter=st.integers(1, 3000), longer=st.integers(1, 3000), now=moments)
def test_keeping_longer_never_removes_more(shorter: int, longer: int, now: datetime) -> None:
    shorter, longer = sorted((shorter, longer))
    a = _cut(Retention(shorter, shorter, shorter, shorter), now)
    b = _cut(Retention(longer, longer, longer, longer), now)
    for field in ("inbound_raw", "seen_calendar_events", "finished_deliveries"):
        assert getattr(b, field) <= getattr(a, field)


def test_raw_mail_is_kept_while_acting_on_it_may_be_retried_whatever_the_setting() -> None:
    cut = cutoffs(
        NOW,
        Retention(inbound_raw_days=1),
        inbound_retry=timedelta(days=3),
        calendar_listed_for=LISTED,
    )
    assert cut.inbound_raw == NOW - timedelta(days=3)


@pytest.mark.parametrize(
    ("field", "value"),
    [("inbound_raw_days", -1), ("finished_delivery_days", 10_001), ("unused_attachment_days", 1.5)],
)
def test_a_negative_huge_or_fractional_number_of_days_names_its_field(field, value) -> None:
    with pytest.raises(InvalidInput) as refused:
        Retention(**{field: value})
    assert refused.value.field == field


@given(started=moments, elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)))
def test_a_finished_run_is_due_again_exactly_a_day_after_it_started(
    started: datetime, elapsed: timedelta
) -> None:
    finished = started + min(elapsed, timedelta(minutes=1))
    assert is_run_due(started, finished, started + elapsed) == (elapsed >= DAILY)


@given(started=moments, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=23)))
def test_an_unfinished_run_is_due_on_every_tick_until_it_finishes(
    started: datetime, later: timedelta
) -> None:
    assert not is_finished(started, None)
    assert is_run_due(started, None, started + later)
    assert is_run_due(started, started - timedelta(days=1), started + later)


def test_a_run_never_started_is_due() -> None:
    assert is_finished(None, None) and is_run_due(None, None, NOW)
