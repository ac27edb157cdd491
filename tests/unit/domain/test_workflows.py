"""The workflow definition's rules, free of storage: examples, then properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.workflows import (
    OPERATORS_BY_TYPE,
    AddedToList,
    AttributeChanged,
    Condition,
    Daily,
    Enroll,
    FieldCatalog,
    FieldSpec,
    Remove,
    condition_holds,
    describe_condition,
    describe_miss,
    is_empty,
    next_daily_run,
    parse_definition,
)

FIELDS = FieldCatalog(
    (
        FieldSpec("people", "first_name", "First name", "text"),
        FieldSpec("people", "job_title", "Job title", "text"),
        FieldSpec("people", "email", "Email", "email"),
        FieldSpec("people", "owner", "Owner", "owner"),
        FieldSpec("people", "stage", "Stage", "select", ("New", "Qualified", "Lost"), custom=True),
        FieldSpec("people", "score", "Score", "number", custom=True),
        FieldSpec("people", "renewal", "Renewal", "date", custom=True),
        FieldSpec("people", "newsletter", "Newsletter", "checkbox", custom=True),
        FieldSpec("companies", "name", "Company name", "text"),
        FieldSpec("companies", "tier", "Tier", "select", ("Gold", "Silver"), True, custom=True),
    )
)

GOOD: dict[str, Any] = {
    "name": "Qualified leads get the intro sequence",
    "enabled": True,
    "trigger": {"kind": "added_to_list", "list_id": 3},
    "conditions": [
        {"object": "people", "attribute": "job_title", "operator": "contains", "value": "Head"}
    ],
    "actions": [
        {"kind": "enroll", "sequence_id": 7, "sender": {"kind": "record_owner"}},
        {"kind": "remove", "sequence_id": 9},
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def _refusal(data: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_definition(data, FIELDS)
    return caught.value


# --- Parsing: examples --------------------------------------------------------------


def test_the_design_example_parses_into_its_parts() -> None:
    definition = parse_definition(GOOD, FIELDS)
    assert definition.name == "Qualified leads get the intro sequence"
    assert definition.trigger == AddedToList(3)
    assert definition.conditions == (Condition("people", "job_title", "contains", "Head", "text"),)
    assert isinstance(definition.actions[0], Enroll)
    assert definition.actions[0].address == "primary"
    assert definition.actions[1] == Remove(9)
    assert definition.sequence_ids == (7, 9)


def test_the_canonical_json_parses_back_to_the_same_definition() -> None:
    definition = parse_definition(GOOD, FIELDS)
    assert parse_definition(definition.to_json(), FIELDS) == definition


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_with(name=""), "name"),
        (_with(trigger={"kind": "added_to_list"}), "trigger.list_id"),
        (_with(trigger={"kind": "when_it_rains"}), "trigger.kind"),
        (_with(trigger={"kind": "daily", "time": "25:00", "time_zone": "UTC"}), "trigger.time"),
        (
            _with(trigger={"kind": "daily", "time": "09:00", "time_zone": "Mars/Olympus"}),
            "trigger.time_zone",
        ),
        (
            _with(conditions=[{"object": "people", "attribute": "shoe", "operator": "is"}]),
            "conditions.0.attribute",
        ),
        (
            _with(
                conditions=[
                    {"object": "people", "attribute": "stage", "operator": "is", "value": "Won"}
                ]
            ),
            "conditions.0.value",
        ),
        (
            _with(
                conditions=[
                    {"object": "people", "attribute": "score", "operator": "contains", "value": 1}
                ]
            ),
            "conditions.0.operator",
        ),
        (_with(actions=[]), "actions"),
        (_with(actions=[{"kind": "enroll", "sequence_id": "seven"}]), "actions.0.sequence_id"),
        (
            _with(actions=[GOOD["actions"][1], {"kind": "enroll", "sequence_id": 7}]),
            "actions.1.sender",
        ),
        (
            _with(actions=[{"kind": "enroll", "sequence_id": 7, "sender": {"kind": "member"}}]),
            "actions.0.sender.member_id",
        ),
        (_with(colour="blue"), "colour"),
        (_with(conditions=[GOOD["conditions"][0]] * 11), "conditions"),
        (_with(actions=[GOOD["actions"][1]] * 6), "actions"),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field_to_fix(data: Any, field: str) -> None:
    assert _refusal(data).field == field


def test_an_attribute_change_trigger_keeps_its_condition_on_the_new_value() -> None:
    definition = parse_definition(
        _with(
            trigger={
                "kind": "attribute_changed",
                "object": "people",
                "attribute": "stage",
                "condition": {"operator": "is", "value": "Qualified"},
            }
        ),
        FIELDS,
    )
    trigger = definition.trigger
    assert isinstance(trigger, AttributeChanged)
    assert trigger.condition == Condition("people", "stage", "is", "Qualified", "select")


def test_a_daily_trigger_keeps_its_time_and_zone() -> None:
    definition = parse_definition(
        _with(trigger={"kind": "daily", "time": "09:00", "time_zone": "Europe/Paris"}), FIELDS
    )
    assert definition.trigger == Daily(time(9, 0), "Europe/Paris")


def test_a_checkbox_is_tested_only_with_is_true_or_false() -> None:
    ok = {"object": "people", "attribute": "newsletter", "operator": "is", "value": True}
    assert parse_definition(_with(conditions=[ok]), FIELDS).conditions[0].value is True
    assert _refusal(_with(conditions=[{**ok, "value": "yes"}])).field == "conditions.0.value"
    assert (
        _refusal(_with(conditions=[{**ok, "operator": "is_empty"}])).field
        == "conditions.0.operator"
    )


# --- Deciding conditions: examples ----------------------------------------------------


def _cond(attribute: str, operator: str, value: Any = None) -> Condition:
    spec = FIELDS.get("people", attribute) or FIELDS.get("companies", attribute)
    assert spec is not None
    return Condition(spec.object, attribute, operator, value, spec.type)


def test_text_comparison_ignores_case_and_surrounding_spaces() -> None:
    assert condition_holds(_cond("job_title", "is", "head of sales"), "  Head of Sales ")
    assert condition_holds(_cond("job_title", "contains", "HEAD"), "Head of Sales")
    assert not condition_holds(_cond("job_title", "contains", "CTO"), "Head of Sales")


def test_email_is_any_of_the_persons_addresses() -> None:
    addresses = ["ada@home.test", "ada@initech.test"]
    assert condition_holds(_cond("email", "contains", "@initech.test"), addresses)
    assert condition_holds(_cond("email", "is", "ADA@home.test"), addresses)
    assert condition_holds(_cond("email", "is_empty"), [])


def test_a_multi_select_is_the_option_when_it_has_it() -> None:
    tier = _cond("tier", "is", "Gold")
    assert condition_holds(tier, ["Silver", "Gold"])
    assert not condition_holds(tier, ["Silver"])


def test_numbers_and_dates_compare_by_their_order() -> None:
    assert condition_holds(_cond("score", "greater_than", 10), 11)
    assert not condition_holds(_cond("score", "greater_than", 10), 10)
    assert condition_holds(_cond("renewal", "less_than", "2026-06-01"), "2026-05-31")
    assert not condition_holds(_cond("score", "less_than", 10), None)


def test_an_unset_checkbox_is_unchecked() -> None:
    assert condition_holds(_cond("newsletter", "is", False), None)
    assert not condition_holds(_cond("newsletter", "is", True), None)


def test_conditions_read_as_sentences() -> None:
    assert describe_condition(_cond("stage", "is", "Qualified"), "Stage") == "Stage is Qualified"
    assert (
        describe_condition(_cond("job_title", "not_contains", "Intern"), "Job title")
        == "Job title does not contain Intern"
    )
    assert describe_condition(_cond("renewal", "less_than", "2026-06-01"), "Renewal") == (
        "Renewal is before 2026-06-01"
    )
    assert describe_condition(_cond("owner", "is", 3), "Owner", "Ada Admin") == "Owner is Ada Admin"
    assert describe_condition(_cond("newsletter", "is", True), "Newsletter") == (
        "Newsletter is checked"
    )


def test_a_change_that_misses_the_condition_says_what_it_changed_to() -> None:
    condition = _cond("stage", "is", "Qualified")
    assert describe_miss(condition, "Stage", "Lost") == "Stage changed to Lost, not Qualified"
    assert describe_miss(condition, "Stage", None) == "Stage changed to empty, not Qualified"


# --- Daily runs: examples ---------------------------------------------------------------


def test_a_daily_run_is_the_next_time_the_wall_clock_shows_the_hour() -> None:
    after = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert next_daily_run(after, time(9, 0), "Europe/Paris") == datetime(
        2026, 3, 2, 8, 0, tzinfo=UTC
    )
    assert next_daily_run(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), time(9, 0), "Europe/Paris") == (
        datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    )


def test_a_daily_run_keeps_its_wall_time_across_the_spring_change() -> None:
    # Paris moves from +01:00 to +02:00 on 2026-03-29.
    before = next_daily_run(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), time(9, 0), "Europe/Paris")
    assert before == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_a_daily_time_inside_the_gap_runs_at_the_first_instant_after_it() -> None:
    # On 2026-03-29 Paris jumps from 02:00 to 03:00: 02:30 does not exist that day.
    run = next_daily_run(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), time(2, 30), "Europe/Paris")
    assert run == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert run.astimezone(ZoneInfo("Europe/Paris")).time() == time(3, 0)


def test_an_ambiguous_daily_time_runs_at_its_first_occurrence() -> None:
    # On 2026-10-25 Paris goes back from 03:00 to 02:00: 02:30 happens twice.
    run = next_daily_run(datetime(2026, 10, 24, 12, 0, tzinfo=UTC), time(2, 30), "Europe/Paris")
    assert run == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first one


# --- Properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Definitions that are often nearly right, so the parser is exercised past its first check.
near_definitions = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=5), json_values),
        "enabled": st.one_of(st.booleans(), json_values),
        "trigger": st.one_of(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(
                        ["person_created", "attribute_changed", "added_to_list", "daily", "x"]
                    )
                },
                optional={
                    "list_id": json_values,
                    "object": st.sampled_from(["people", "companies", "x"]),
                    "attribute": st.sampled_from(["stage", "job_title", "name", "x"]),
                    "condition": json_values,
                    "time": st.one_of(st.sampled_from(["09:00", "24:00", "9:5"]), json_values),
                    "time_zone": st.one_of(
                        st.sampled_from(["UTC", "Europe/Paris", "x"]), json_values
                    ),
                },
            ),
            json_values,
        ),
        "conditions": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "object": st.sampled_from(["people", "companies"]),
                        "attribute": st.sampled_from([f.key for f in FIELDS.fields]),
                        "operator": st.sampled_from(
                            [*OPERATORS_BY_TYPE["text"], "greater_than", "less_than"]
                        ),
                    },
                    optional={"value": json_values},
                ),
                max_size=3,
            ),
            json_values,
        ),
        "actions": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"kind": st.sampled_from(["enroll", "remove", "x"])},
                    optional={
                        "sequence_id": json_values,
                        "sender": st.one_of(
                            st.fixed_dictionaries(
                                {"kind": st.sampled_from(["record_owner", "member", "x"])},
                                optional={"member_id": json_values},
                            ),
                            json_values,
                        ),
                        "address": st.one_of(
                            st.sampled_from(["primary", "first_deliverable"]), json_values
                        ),
                    },
                ),
                max_size=3,
            ),
            json_values,
        ),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, near_definitions))
@example({"name": "x", "trigger": {"kind": "daily", "time": "09:00", "time_zone": "\x00"}})
def test_the_parser_raises_nothing_but_invalid_input_on_any_json(data: Any) -> None:
    try:
        definition = parse_definition(data, FIELDS)
    except InvalidInput as exc:
        assert exc.message
        return
    assert parse_definition(definition.to_json(), FIELDS) == definition


def _value_for(kind: str) -> st.SearchStrategy[Any]:
    if kind in ("text", "email"):
        return st.text(min_size=1, max_size=10).filter(lambda t: t.strip())
    if kind == "number":
        return st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)
    if kind == "date":
        return st.dates(date(2000, 1, 1), date(2040, 1, 1)).map(date.isoformat)
    if kind == "select":
        return st.sampled_from(["New", "Qualified", "Lost"])
    return st.integers(1, 50)


def _field_and_values() -> st.SearchStrategy[tuple[Condition, Any]]:
    kinds = ["text", "email", "number", "date", "select", "owner", "relationship"]

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Condition, Any]:
        kind = draw(st.sampled_from(kinds))
        wanted = draw(_value_for(kind))
        value = draw(
            _value_for(kind) | st.just(wanted) | st.lists(_value_for(kind), min_size=1, max_size=3)
        )
        return Condition("people", "f", "is", wanted, kind), value

    return build()


@given(_field_and_values())
def test_is_and_is_not_are_complementary_on_non_empty_values(pair: tuple[Condition, Any]) -> None:
    condition, value = pair
    is_ = condition_holds(condition, value)
    is_not = condition_holds(
        Condition(condition.object, condition.attribute, "is_not", condition.value, condition.type),
        value,
    )
    assert is_ != is_not


@given(_field_and_values())
def test_a_value_is_always_the_value_it_is(pair: tuple[Condition, Any]) -> None:
    condition, _ = pair
    assert condition_holds(condition, condition.value)


@given(json_values)
def test_empty_and_not_empty_are_complementary_on_any_value(value: Any) -> None:
    empty = condition_holds(Condition("people", "f", "is_empty", None, "text"), value)
    not_empty = condition_holds(Condition("people", "f", "is_not_empty", None, "text"), value)
    assert empty != not_empty
    assert empty == is_empty(value)


@given(st.text(max_size=10), st.text(min_size=1, max_size=10).filter(str.strip))
def test_contains_and_not_contains_are_complementary(value: str, part: str) -> None:
    contains = condition_holds(Condition("people", "f", "contains", part, "text"), value)
    not_contains = condition_holds(Condition("people", "f", "not_contains", part, "text"), value)
    assert contains != not_contains
    assert condition_holds(Condition("people", "f", "contains", part, "text"), f"x{part}y")


@given(st.integers(-100, 100), st.integers(-100, 100))
def test_greater_and_less_than_never_both_hold(value: int, wanted: int) -> None:
    greater = condition_holds(Condition("people", "f", "greater_than", wanted, "number"), value)
    less = condition_holds(Condition("people", "f", "less_than", wanted, "number"), value)
    assert not (greater and less)
    assert (greater or less) == (value != wanted)


@given(
    json_values, st.sampled_from(sorted({op for ops in OPERATORS_BY_TYPE.values() for op in ops}))
)
def test_deciding_a_condition_never_raises_whatever_the_value(value: Any, operator: str) -> None:
    for kind in OPERATORS_BY_TYPE:
        condition_holds(Condition("people", "f", operator, "x", kind), value)


ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Havana",
    "Pacific/Apia",
    "Asia/Kolkata",
    "Antarctica/Troll",
]


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(ZONES),
)
@example(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), time(2, 30), "Europe/Paris")
@example(datetime(2026, 10, 24, 23, 0, tzinfo=UTC), time(2, 30), "Europe/Paris")
@example(datetime(2011, 12, 29, 12, 0, tzinfo=UTC), time(10, 0), "Pacific/Apia")
def test_the_next_daily_run_is_after_within_25_hours_and_on_the_wall_time(
    after: datetime, at: time, zone: str
) -> None:
    run = next_daily_run(after, at, zone)
    assert run.tzinfo is not None and run.utcoffset() == timedelta(0)
    tz = ZoneInfo(zone)
    shift = abs(run.astimezone(tz).utcoffset() - after.astimezone(tz).utcoffset())  # type: ignore[operator]
    assert after < run <= after + timedelta(hours=24) + shift
    if zone != "Antarctica/Troll":  # the one zone here that shifts by two hours
        assert run <= after + timedelta(hours=25)
    local = run.astimezone(tz)
    wall = datetime.combine(local.date(), at, tzinfo=ZoneInfo(zone))
    exists = wall.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == (
        wall.replace(tzinfo=None)
    )
    if exists:
        assert local.time() == at
        # The first occurrence: an hour earlier, the wall clock did not show ``at``.
        earlier = (run - timedelta(hours=1)).astimezone(ZoneInfo(zone))
        assert not (earlier.date() == local.date() and earlier.time() == at)
    else:
        # Inside a gap: the run is the first instant after it, later in the day than ``at``.
        assert local.time() > at or local.date() > wall.date()
        just_before = (run - timedelta(microseconds=1)).astimezone(ZoneInfo(zone))
        assert just_before.utcoffset() != local.utcoffset()
