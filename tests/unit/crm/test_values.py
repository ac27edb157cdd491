import json
import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.crm.values import AttributeSpec, check_value, parse_cell, referenced_ids
from sequencer.domain.errors import InvalidInput

TEXT = AttributeSpec("note", "text")
NUMBER = AttributeSpec("score", "number")
DATE = AttributeSpec("since", "date")
CHECKBOX = AttributeSpec("vip", "checkbox")
SELECT = AttributeSpec("segment", "select", options=("SMB", "Mid market", "Enterprise"))
ONE = AttributeSpec("account", "relationship", target="companies")
MANY = AttributeSpec("accounts", "relationship", target="companies", is_multiple=True)
ALL = (TEXT, NUMBER, DATE, CHECKBOX, SELECT, ONE, MANY)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(spec=st.sampled_from(ALL), value=json_values)
def test_any_json_value_is_either_accepted_as_storable_json_or_refused_naming_the_slug(spec, value):
    try:
        checked = check_value(spec, value)
    except InvalidInput as exc:
        assert exc.field == spec.slug
        assert exc.message
        return
    # What is stored survives a JSON round trip unchanged (no NaN, no odd types).
    assert json.loads(json.dumps(checked, allow_nan=False)) == checked


@given(spec=st.sampled_from(ALL), value=json_values)
def test_checking_a_checked_value_again_changes_nothing(spec, value):
    try:
        checked = check_value(spec, value)
    except InvalidInput:
        return
    assert check_value(spec, checked) == checked


@given(st.booleans())
def test_a_boolean_is_never_a_number(value):
    with pytest.raises(InvalidInput) as exc:
        check_value(NUMBER, value)
    assert "expects a number" in exc.value.message


@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_number_is_a_number(value):
    assert check_value(NUMBER, value) == value


@given(st.sampled_from([math.nan, math.inf, -math.inf]))
def test_nan_and_infinity_are_not_numbers(value):
    with pytest.raises(InvalidInput):
        check_value(NUMBER, value)


@given(st.dates())
def test_every_iso_date_is_a_date(day):
    assert check_value(DATE, day.isoformat()) == day.isoformat()


@given(st.dates())
def test_a_date_written_another_way_is_refused_with_the_format(day):
    with pytest.raises(InvalidInput) as exc:
        check_value(DATE, day.strftime("%d/%m/%Y"))
    assert "YYYY-MM-DD" in exc.value.message


def test_an_impossible_day_is_refused():
    with pytest.raises(InvalidInput):
        check_value(DATE, "2025-02-29")


@given(st.text())
def test_a_select_accepts_exactly_its_options(text):
    if text in SELECT.options:
        assert check_value(SELECT, text) == text
    else:
        with pytest.raises(InvalidInput) as exc:
            check_value(SELECT, text)
        assert exc.value.code == "unknown_option"


@given(st.lists(st.integers(min_value=1), max_size=6))
def test_a_multiple_relationship_keeps_each_id_once_in_order(ids):
    checked = check_value(MANY, ids)
    expected = list(dict.fromkeys(ids)) or None
    assert checked == expected
    assert referenced_ids(MANY, checked) == (expected or [])


@pytest.mark.parametrize("value", [0, -1, "12", 1.0, True, [1]])
def test_a_single_relationship_is_one_positive_id(value):
    with pytest.raises(InvalidInput):
        check_value(ONE, value)


def test_blank_text_and_none_clear_the_attribute():
    assert check_value(TEXT, "   ") is None
    assert all(check_value(spec, None) is None for spec in ALL)


# --- CSV cells ----------------------------------------------------------------------------


@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_cell_reads_back_the_number_written(number):
    assert parse_cell(NUMBER, repr(number)) == number


@pytest.mark.parametrize(
    ("text", "value"),
    [("yes", True), ("TRUE", True), ("1", True), ("x", True), ("no", False), ("0", False)],
)
def test_a_checkbox_cell_reads_yes_and_no(text, value):
    assert parse_cell(CHECKBOX, text) is value


def test_a_select_cell_ignores_case_and_keeps_the_option_spelling():
    assert parse_cell(SELECT, " mid MARKET ") == "Mid market"


@given(st.sampled_from(ALL))
def test_an_empty_cell_is_no_value(spec):
    assert parse_cell(spec, "  ") is None


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (NUMBER, "12,5"),
        (NUMBER, "nan"),
        (CHECKBOX, "maybe"),
        (DATE, "2024/01/01"),
        (SELECT, "Huge"),
        (ONE, "1;2"),
    ],
)
def test_a_bad_cell_names_the_attribute(spec, text):
    with pytest.raises(InvalidInput) as exc:
        parse_cell(spec, text)
    assert exc.value.field == spec.slug


def test_a_relationship_cell_is_split_into_parts_to_resolve():
    assert parse_cell(MANY, "12; acme.com ;") == ["12", "acme.com"]


def test_dates_parse_from_cells_like_from_json():
    assert parse_cell(DATE, date(2024, 2, 29).isoformat()) == "2024-02-29"
