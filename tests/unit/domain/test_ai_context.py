"""What an AI slot's text is written from: record facts, the text around it, its digest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.ai_context import (
    OTHER_SLOT,
    record_facts,
    slot_digest,
    surroundings,
)
from sequencer.domain.ai_slot import SlotRequest

words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
record_values = st.dictionaries(
    st.text(alphabet="abcdefghij_", min_size=1, max_size=8), words, max_size=5
)
records = st.fixed_dictionaries({"person": record_values, "company": record_values})
slots = st.builds(
    SlotRequest, prompt=words, record=records, before=words, after=words, sender_name=words
)
MARK = ["@@0@@", "@@1@@", "@@2@@"]


def test_record_facts_are_strings_with_empty_values_and_the_sender_left_out() -> None:
    data = {
        "person": {"first_name": "Ada", "job_title": None, "vip": True, "tags": ["a", "b"]},
        "company": {"name": "Initech", "head_count": 250, "domain": "  "},
        "sender": {"full_name": "Alice"},
    }
    assert record_facts(data) == {
        "person": {"first_name": "Ada", "vip": "yes", "tags": "a, b"},
        "company": {"name": "Initech", "head_count": "250"},
    }


@given(slots)
def test_the_same_inputs_always_give_the_same_digest(slot: SlotRequest) -> None:
    again = SlotRequest(
        slot.prompt,
        {group: dict(reversed(list(values.items()))) for group, values in slot.record.items()},
        slot.before,
        slot.after,
        slot.sender_name,
    )
    assert slot_digest(slot) == slot_digest(again)
    assert len(slot_digest(slot)) == 64


@given(slots, slots)
def test_different_inputs_give_different_digests(one: SlotRequest, other: SlotRequest) -> None:
    same = (
        one.prompt == other.prompt
        and {g: dict(v) for g, v in one.record.items()}
        == {g: dict(v) for g, v in other.record.items()}
        and (one.before, one.after, one.sender_name)
        == (other.before, other.after, other.sender_name)
    )
    assert (slot_digest(one) == slot_digest(other)) == same


def test_a_changed_record_value_changes_the_digest() -> None:
    slot = SlotRequest("About them", {"person": {"first_name": "Ada"}}, "Hi", "Bye", "Alice")
    moved = SlotRequest("About them", {"person": {"first_name": "Ida"}}, "Hi", "Bye", "Alice")
    assert slot_digest(slot) != slot_digest(moved)


@given(words, words)
def test_one_marker_splits_the_text_into_what_is_before_and_after_it(
    before: str, after: str
) -> None:
    text = f"{before}{MARK[0]}{after}"
    [(found_before, found_after)] = surroundings(text, MARK[:1], limit=1000)
    assert found_before == before.lstrip()
    assert found_after == after.rstrip()


def test_other_slots_read_as_an_ellipsis() -> None:
    text = f"Hi Ada, {MARK[0]} Also {MARK[1]} Thanks"
    assert surroundings(text, MARK[:2]) == [
        ("Hi Ada, ", f" Also {OTHER_SLOT} Thanks"),
        (f"Hi Ada, {OTHER_SLOT} Also ", " Thanks"),
    ]


def test_a_marker_the_rendering_dropped_has_nothing_around_it() -> None:
    assert surroundings("No slot here", MARK[:1]) == [("", "")]


@given(st.lists(st.text(alphabet="ab ", max_size=30), min_size=4, max_size=4), st.integers(1, 50))
def test_each_side_keeps_at_most_the_limit_nearest_the_slot_and_never_a_marker(
    pieces: list[str], limit: int
) -> None:
    text = pieces[0] + MARK[0] + pieces[1] + MARK[1] + pieces[2] + MARK[2] + pieces[3]
    for before, after in surroundings(text, MARK, limit=limit):
        assert len(before) <= limit and len(after) <= limit
        assert not any(m in before or m in after for m in MARK)
