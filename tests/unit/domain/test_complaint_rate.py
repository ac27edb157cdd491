"""The complaint limit: strictly above the limit, once enough emails were sent; and the
reason its owner reads."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.complaint_rate import (
    DEFAULT_LIMIT_PERCENT,
    DEFAULT_MIN_SENDS,
    ComplaintPolicy,
    ComplaintRate,
    format_percent,
    is_complaint_pause,
    is_over_limit,
    pause_reason,
)

DEFAULT = ComplaintPolicy()


def test_the_defaults_are_three_tenths_of_a_percent_after_a_hundred_emails():
    assert (DEFAULT.limit_percent, DEFAULT.min_sends) == (Decimal("0.3"), 100)
    assert ComplaintPolicy(DEFAULT_LIMIT_PERCENT, DEFAULT_MIN_SENDS) == DEFAULT


def test_one_complaint_in_two_hundred_emails_is_over_the_default_limit():
    assert is_over_limit(ComplaintRate(complaints=1, sent=200), DEFAULT)


def test_one_complaint_in_four_hundred_emails_is_under_it():
    assert not is_over_limit(ComplaintRate(complaints=1, sent=400), DEFAULT)


def test_a_rate_equal_to_the_limit_is_not_above_it():
    assert not is_over_limit(ComplaintRate(complaints=3, sent=1000), DEFAULT)
    assert is_over_limit(ComplaintRate(complaints=4, sent=1000), DEFAULT)


def test_one_complaint_in_ten_emails_waits_for_the_minimum_number_of_sends():
    assert not is_over_limit(ComplaintRate(complaints=1, sent=10), DEFAULT)
    assert not is_over_limit(ComplaintRate(complaints=1, sent=99), DEFAULT)
    assert is_over_limit(ComplaintRate(complaints=1, sent=100), DEFAULT)


@given(
    complaints=st.integers(0, 10_000),
    sent=st.integers(0, 1_000_000),
    limit=st.decimals(Decimal("0.01"), Decimal("100"), places=2),
    min_sends=st.integers(0, 1_000_000),
)
def test_over_the_limit_means_enough_sends_and_a_share_strictly_above_it(
    complaints, sent, limit, min_sends
):
    policy = ComplaintPolicy(limit_percent=limit, min_sends=min_sends)
    rate = ComplaintRate(complaints=complaints, sent=sent)
    share_above = complaints > 0 and (
        sent == 0 or Fraction(complaints, sent) > Fraction(limit) / 100
    )
    assert is_over_limit(rate, policy) == (sent >= min_sends and share_above)


def test_the_reason_says_the_rate_the_window_the_counts_and_the_limit():
    assert pause_reason(ComplaintRate(complaints=1, sent=200), DEFAULT) == (
        "Spam complaints are at 0.5% of emails sent in the last 30 days (1 of 200 emails), "
        "above the 0.3% limit."
    )


def test_a_rate_that_would_round_to_the_limit_shows_the_decimals_that_tell_them_apart():
    reason = pause_reason(ComplaintRate(complaints=1, sent=300), DEFAULT)
    assert reason.startswith("Spam complaints are at 0.33% of emails sent")
    assert format_percent(Decimal("0.30")) == "0.3%"
    assert format_percent(Decimal("100")) == "100%"


def test_without_any_email_sent_the_reason_still_reads():
    policy = ComplaintPolicy(min_sends=0)
    assert is_over_limit(ComplaintRate(complaints=1, sent=0), policy)
    assert pause_reason(ComplaintRate(complaints=1, sent=0), policy) == (
        "Spam complaints are at 1, with no email sent in the last 30 days: above the 0.3% limit."
    )


@given(st.integers(1, 1000), st.integers(1, 100_000))
def test_every_reason_is_recognised_as_a_complaint_pause(complaints, sent):
    assert is_complaint_pause(pause_reason(ComplaintRate(complaints, sent), DEFAULT))


def test_a_pause_by_its_owner_or_a_quota_is_no_complaint_pause():
    assert not is_complaint_pause("Paused by its owner.")
    assert not is_complaint_pause("The mailbox reached its provider's sending quota")
