"""Reading the return date an auto-reply states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.mail.inbound.dates import MAX_AHEAD_DAYS, return_date

TODAY = date(2025, 12, 10)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I will be back on 14 December.", date(2025, 12, 14)),
        ("I am travelling, returning Monday, January 5th.", date(2026, 1, 5)),
        ("Back on December 22, 2025.", date(2025, 12, 22)),
        ("I'll return on the 3rd of February.", date(2026, 2, 3)),
        ("Back 2026-01-07.", date(2026, 1, 7)),
        ("Ich bin zurück am 5. Januar.", date(2026, 1, 5)),
        ("Ab dem 7.1.2026 bin ich wieder im Büro.", date(2026, 1, 7)),
        ("Je serai de retour le 3 janvier.", date(2026, 1, 3)),
        ("De retour le 1er février 2026.", date(2026, 2, 1)),
        ("Estaré de vuelta el 8 de enero.", date(2026, 1, 8)),
        ("Ik ben terug op maandag 12 januari.", date(2026, 1, 12)),
        ("Rientro il 12 gennaio.", date(2026, 1, 12)),
        ("Out of office until Jan 12", date(2026, 1, 12)),
        ("Estaré fuera hasta el 7 de enero de 2026.", date(2026, 1, 7)),
        ("Absent jusqu'au 9 janvier.", date(2026, 1, 9)),
        ("Ich bin bis 2. Januar nicht erreichbar.", date(2026, 1, 2)),
        ("Sono fuori sede fino al 6 gennaio.", date(2026, 1, 6)),
        ("Ik ben er niet tot en met 4 januari.", date(2026, 1, 4)),
        ("I'm out of the office from 22 December to 2 January.", date(2026, 1, 2)),
        ("Im Urlaub 22.12. - 5.1.", date(2026, 1, 5)),
        ("Back on Monday.", date(2025, 12, 15)),
        ("I'll be available again from 5 January.", date(2026, 1, 5)),
        ("I won't be available until 5 January.", date(2026, 1, 5)),
    ],
)
def test_a_stated_return_date_is_read(text, expected):
    assert return_date(text, TODAY) == expected


def test_a_return_word_beats_an_until_word():
    text = "I am out until Friday, 12 December and will be back on Monday, 15 December."
    assert return_date(text, TODAY) == date(2025, 12, 15)


def test_a_return_word_after_the_date_counts_as_german_and_dutch_write_it():
    text = "Ich bin bis einschließlich 2. Januar nicht im Büro und ab dem 5. Januar wieder da."
    assert return_date(text, TODAY) == date(2026, 1, 5)
    assert return_date("Ik ben vanaf 6 januari weer bereikbaar.", TODAY) == date(2026, 1, 6)


def test_a_lone_weekday_after_a_date_is_the_first_such_day_after_that_date():
    text = "I am not available from 20 December and back on Monday."
    assert return_date(text, TODAY) == date(2025, 12, 22)


def test_a_date_without_a_year_is_its_next_occurrence_on_or_after_the_day_received():
    assert return_date("Back on 10 December.", TODAY) == date(2025, 12, 10)
    assert return_date("Back on 9 December.", TODAY) == date(2026, 12, 9)
    assert return_date("Back on 2 March.", TODAY) == date(2026, 3, 2)


def test_a_date_in_the_past_is_ignored():
    assert return_date("I was out until 1 December 2025.", TODAY) is None
    assert return_date("Back on 2025-12-01.", TODAY) is None


def test_a_date_too_far_ahead_is_ignored():
    assert return_date("Back on 2031-01-01.", TODAY) is None


@pytest.mark.parametrize(
    "text",
    [
        "I am out of the office with no access to email.",
        "Thanks for your email sent on 3 December.",
        "Available 24/7 via our support desk.",
        "Je vous répondrai à mon retour.",
        "Our office hours are 9.00 - 17.30.",
        "Please call 01/02 03 04 05 for urgent matters.",
        "",
    ],
)
def test_no_return_date_is_guessed_when_none_is_stated(text):
    assert return_date(text, TODAY) is None


def test_an_ambiguous_numeric_date_is_day_first_unless_the_mailbox_says_otherwise():
    text = "I am out of the office until 12/01/2026."
    assert return_date(text, TODAY) == date(2026, 1, 12)
    assert return_date(text, TODAY, day_first=True) == date(2026, 1, 12)
    assert return_date(text, TODAY, day_first=False) == date(2026, 12, 1)


def test_a_numeric_date_with_a_day_above_twelve_has_only_one_reading():
    assert return_date("Back on 13/01/2026.", TODAY, day_first=False) == date(2026, 1, 13)
    assert return_date("Back on 01/13/2026.", TODAY, day_first=True) == date(2026, 1, 13)


def test_a_dotted_numeric_date_is_always_day_first():
    assert return_date("Wieder da am 02.01.2026.", TODAY, day_first=False) == date(2026, 1, 2)


@given(st.text(max_size=400), st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
def test_return_date_never_raises_and_never_answers_outside_the_window(text, today):
    found = return_date(text, today)
    assert found is None or today <= found <= today + timedelta(days=MAX_AHEAD_DAYS)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2080, 12, 31)),
    st.integers(min_value=0, max_value=360),
)
def test_any_future_iso_return_date_is_read_back(today, ahead):
    back = today + timedelta(days=ahead)
    assert return_date(f"I will be back on {back.isoformat()}.", today) == back
