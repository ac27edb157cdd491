"""The one event vocabulary: every name defined once, every role a subset of it, and
the exit reason of every kind said."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.events import (
    ARRIVAL_KINDS,
    ASSEMBLED_KINDS,
    ENDS_AS,
    EXIT_REASONS,
    RECORDED_KINDS,
    RECORDED_LABELS,
    EventKind,
    ends_as,
    exit_entry,
    is_exit_reason,
)
from sequencer.domain.inbound import InboundEvent

SRC = Path(__file__).resolve().parents[3] / "src" / "sequencer"
VALUES = {kind.value for kind in EventKind}

# What the database stores and the API returns: changing one is a data migration.
STORED = {
    "inbound messages": {
        "reply",
        "auto_reply",
        "bounce",
        "meeting",
        "unsubscribe_request",
        "own_message",
        "other",
        "complaint",
    },
    "timeline events": {
        "replied",
        "asked_to_stop",
        "unsubscribed",
        "out_of_office",
        "paused_out_of_office",
        "resumed",
        "bounced",
        "bounce_delayed",
        "meeting",
        "meeting_booked",
        "complained",
        "feedback_report",
    },
    "exit reasons": {
        "replied",
        "meeting_booked",
        "unsubscribed",
        "bounced",
        "removed",
        "complained",
    },
}


def test_every_kind_has_its_own_value_and_no_name_is_an_alias():
    assert len(EventKind.__members__) == len(EventKind) == len(VALUES)


def test_the_stored_values_of_each_role_are_unchanged():
    assert {k.value for k in ARRIVAL_KINDS} == STORED["inbound messages"]
    assert {k.value for k in RECORDED_KINDS} == STORED["timeline events"]
    assert {k.value for k in EXIT_REASONS} == STORED["exit reasons"]


def test_every_kind_plays_at_least_one_role():
    roles = {*ARRIVAL_KINDS, *RECORDED_KINDS, *EXIT_REASONS, *ASSEMBLED_KINDS}
    assert roles == set(EventKind)


def test_every_recorded_kind_has_a_timeline_label():
    assert set(RECORDED_LABELS) == set(RECORDED_KINDS)
    assert all(label.strip() for label in RECORDED_LABELS.values())


def test_the_mapping_to_exit_reasons_is_total_and_lands_on_exit_reasons():
    assert set(ENDS_AS) == set(EventKind)
    assert {reason for reason in ENDS_AS.values() if reason is not None} == set(EXIT_REASONS)


def test_an_exit_reason_ends_an_enrollment_as_itself():
    assert all(ENDS_AS[reason] == reason for reason in EXIT_REASONS)


def test_a_reply_asking_to_stop_ends_the_enrollment_as_replied():
    assert ends_as(EventKind.ASKED_TO_STOP) == EventKind.REPLIED


def test_a_spam_complaint_ends_the_enrollment_as_complained_and_other_feedback_ends_nothing():
    assert ends_as(EventKind.COMPLAINED) == EventKind.COMPLAINED
    assert ENDS_AS[EventKind.FEEDBACK_REPORT] is None


def test_an_arrival_ends_nothing_by_itself():
    assert all(ENDS_AS[kind] is None for kind in ARRIVAL_KINDS)


@given(st.sampled_from(EventKind))
def test_ends_as_answers_an_exit_reason_or_refuses_a_kind_that_never_ends_one(kind):
    if ENDS_AS[kind] is None:
        with pytest.raises(ValueError, match=kind.value):
            ends_as(kind)
    else:
        reason = ends_as(kind)
        assert is_exit_reason(reason)
        assert exit_entry(reason) == f"exited_{reason.value}"


@given(st.text(max_size=30))
def test_only_the_six_exit_reasons_are_exit_reasons(value):
    assert is_exit_reason(value) == (value in STORED["exit reasons"])


@pytest.mark.parametrize("kind", sorted(set(EventKind) - set(ARRIVAL_KINDS)))
def test_an_inbound_event_refuses_a_kind_that_is_not_an_arrival(kind):
    with pytest.raises(ValueError, match="not a kind of inbound message"):
        InboundEvent(kind=kind)


def _defined_vocabularies(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """String values written as enum or choices members, or inside ``Literal[...]``."""
    found: list[tuple[int, set[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, (ast.Name, ast.Attribute))
            and (getattr(base, "id", None) or getattr(base, "attr", "")).endswith(
                ("Enum", "Choices")
            )
            for base in node.bases
        ):
            values: set[str] = set()
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    value = statement.value
                    if isinstance(value, ast.Tuple) and value.elts:
                        value = value.elts[0]
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        values.add(value.value)
            found.append((node.lineno, values))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Literal"
        ):
            strings = {
                n.value
                for n in ast.walk(node.slice)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
            found.append((node.lineno, strings))
    return found


def test_no_module_but_domain_events_defines_an_event_name():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path == SRC / "domain" / "events.py":
            continue
        for line, values in _defined_vocabularies(ast.parse(path.read_text(), str(path))):
            # An unrelated vocabulary may share one word (a suppression's "bounced"); two
            # or more shared names are a second copy of this one.
            if len(values & VALUES) >= 2:
                offenders.append(f"{path.relative_to(SRC)}:{line} {sorted(values & VALUES)}")
    assert offenders == []
