"""The scripted generator behaves like a text generator: it answers from its script in
order, records what it was asked, raises the failures it is given, and refuses to make
up an answer it was not given."""

from __future__ import annotations

import pytest

from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.domain.chat import ChatMessage, GenerationRequest
from sequencer.testing import ScriptedGenerator


def ask(text: str, seed: int | None = None) -> GenerationRequest:
    return GenerationRequest(messages=(ChatMessage("user", text),), seed=seed)


def test_it_is_a_text_generator_that_answers_in_the_scripted_order() -> None:
    generator: TextGenerator = ScriptedGenerator(["first", "second answer"], model="m1")
    one = generator.generate(ask("a"))
    two = generator.generate(ask("b"))
    assert (one.text, two.text) == ("first", "second answer")
    assert one.model == two.model == generator.model_name == "m1"
    assert two.completion_tokens == 2


def test_it_records_every_request_as_given() -> None:
    generator = ScriptedGenerator(["x", "y"])
    generator.generate(ask("hello there", seed=3))
    generator.generate(ask("again"))
    assert [r.messages[0].content for r in generator.requests] == ["hello there", "again"]
    assert generator.requests[0].seed == 3
    assert generator.requests[0].messages[0].role == "user"


def test_a_scripted_failure_is_raised_in_its_turn_and_the_script_goes_on() -> None:
    generator = ScriptedGenerator([GenerationFailed("server down"), "after"])
    with pytest.raises(GenerationFailed, match="server down"):
        generator.generate(ask("a"))
    assert generator.generate(ask("b")).text == "after"
    assert len(generator.requests) == 2


def test_asking_past_the_end_of_the_script_fails_the_test() -> None:
    generator = ScriptedGenerator(["only"])
    generator.generate(ask("a"))
    with pytest.raises(AssertionError, match="asked 2 times but given 1 answers"):
        generator.generate(ask("b"))


def test_answers_can_be_added_later_and_the_remainder_is_counted() -> None:
    generator = ScriptedGenerator()
    assert generator.remaining == 0
    generator.add("late", "later")
    assert generator.remaining == 2
    assert generator.generate(ask("a")).text == "late"
    assert generator.remaining == 1
