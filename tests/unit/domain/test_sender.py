"""Choosing the sender's signature by name: a pure rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sender import (
    DEFAULT_SIGNATURE,
    Sender,
    SenderSignature,
    choose_signature,
    parse_signature_choice,
    sender_values,
)

FULL = SenderSignature("Full", "<p>Full</p>", is_default=True)
SHORT = SenderSignature("Short", "<p>Short</p>")

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)


def test_default_picks_the_senders_default_signature():
    assert choose_signature([SHORT, FULL], DEFAULT_SIGNATURE) == FULL


def test_a_name_picks_that_signature_ignoring_case_and_blanks():
    assert choose_signature([FULL, SHORT], "  short ") == SHORT


def test_a_name_the_sender_lacks_falls_back_to_their_default_and_none_without_one():
    assert choose_signature([FULL, SHORT], "Holiday") == FULL
    assert choose_signature([SHORT], "Holiday") is None
    assert choose_signature([], DEFAULT_SIGNATURE) is None


@given(st.lists(st.tuples(names, st.booleans()), max_size=6), names)
def test_the_chosen_signature_is_the_named_one_or_else_a_default(rows, choice):
    signatures = [SenderSignature(n, f"<p>{n}</p>", d) for n, d in rows]
    chosen = choose_signature(signatures, choice)
    named = [s for s in signatures if s.name.strip().casefold() == choice.strip().casefold()]
    if named and choice.strip().casefold() != DEFAULT_SIGNATURE:
        assert chosen == named[0]
    elif any(s.is_default for s in signatures):
        assert chosen is not None and chosen.is_default
    else:
        assert chosen is None


@pytest.mark.parametrize("value", [None, "", "   ", 3, "x" * 201])
def test_an_unusable_choice_is_refused_naming_the_field(value):
    with pytest.raises(InvalidInput) as caught:
        parse_signature_choice(value)
    assert caught.value.field == "settings.signature"


def test_a_choice_is_kept_trimmed_and_default_in_any_case_is_default():
    assert parse_signature_choice(" Short ") == "Short"
    assert parse_signature_choice("DEFAULT") == DEFAULT_SIGNATURE


# --- {{ sender.* }} ----------------------------------------------------------------------


def test_the_sender_variables_come_from_the_members_own_name():
    sender = Sender.of("grace@acme.test", "Sales team", owner_name="Grace Brewster Hopper")

    assert sender_values(sender) == {
        "first_name": "Grace",
        "last_name": "Brewster Hopper",
        "full_name": "Grace Brewster Hopper",
        "email": "grace@acme.test",
    }


def test_a_member_without_a_name_is_named_by_the_mailbox():
    sender = Sender.of("ada@acme.test", "  Ada   Lovelace ")

    values = sender_values(sender)

    assert (values["first_name"], values["last_name"]) == ("Ada", "Lovelace")
    assert values["full_name"] == "Ada Lovelace"


def test_a_missing_name_part_is_none_so_a_fallback_applies():
    assert sender_values(Sender.of("cher@acme.test", owner_name="Cher"))["last_name"] is None
    nameless = sender_values(Sender.of("x@acme.test"))
    assert nameless["first_name"] is None and nameless["full_name"] is None


@given(st.text(max_size=40), st.text(max_size=40))
def test_first_and_last_name_always_make_up_the_full_name(owner_name, mailbox_name):
    values = sender_values(Sender.of("s@acme.test", mailbox_name, owner_name=owner_name))

    parts = [values["first_name"], values["last_name"]]
    assert " ".join(p for p in parts if p) == (values["full_name"] or "")
