"""How slots get their text during a render: numbered per field in render order, each
written from the text around it, the fallback and the send's strictness passed along."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sequencer.ai.around import around_slots
from sequencer.ai.stored import SlotKey
from sequencer.ai.variables import FieldSlots
from sequencer.domain.ai_context import slot_digest
from sequencer.domain.ai_slot import SlotRequest
from sequencer.sequences.templating import AiTextMissing, render, render_html_body

DATA = {
    "person": {"first_name": "Ada", "job_title": None},
    "company": {"name": "Initech"},
    "sender": {"full_name": "Alice Smith"},
}
BODY = (
    "<p>Hi {{ person.first_name }},</p>"
    "<p>{% ai %}A line about {{ company.name }}{% endai %}</p>"
    '<p>Also: {% ai fallback: "more soon" %}A second line{% endai %}</p>'
    "<p>Thanks</p>"
)


@dataclass
class Recorder:
    """Stands in for AiTexts: answers from ``texts`` by slot, recording what it was asked."""

    texts: dict[int, str | None]
    asked: list[tuple[SlotKey, SlotRequest, str, bool]] = field(default_factory=list)
    person_id: int = 7
    version_id: int = 3

    def text_for(
        self, key: SlotKey, slot: SlotRequest, *, fallback: str, required: bool
    ) -> str | None:
        self.asked.append((key, slot, fallback, required))
        return self.texts.get(key.slot)


def slots_for(owner: Recorder, source: str = BODY) -> FieldSlots:
    return FieldSlots(
        owner,  # type: ignore[arg-type]
        step=1,
        field="body",
        around=lambda: around_slots(source, DATA, html=True),
        facts={"person": {"first_name": "Ada"}, "company": {"name": "Initech"}},
        sender_name="Alice Smith",
    )


def test_the_text_around_each_slot_is_the_email_as_text_with_other_slots_elided():
    assert around_slots(BODY, DATA, html=True) == [
        ("Hi Ada,\n\n", "\n\nAlso: …\n\nThanks"),
        ("Hi Ada,\n\n…\n\nAlso: ", "\n\nThanks"),
    ]


def test_a_subject_slot_sees_the_rest_of_the_subject():
    source = "Quick idea for {% ai %}a few words on {{ company.name }}{% endai %}!"
    assert around_slots(source, DATA, html=False) == [("Quick idea for ", "!")]


def test_slots_are_numbered_in_render_order_and_keyed_by_what_they_are_written_from():
    owner = Recorder({0: "First text.", 1: "Second text."})

    html = render_html_body(BODY, DATA, ai_generator=slots_for(owner), strict=True)

    assert "<p>First text.</p>" in html and "<p>Also: Second text.</p>" in html
    (first, first_slot, _, required), (second, second_slot, fallback, _) = owner.asked
    assert (first.person_id, first.version_id, first.step, first.field) == (7, 3, 1, "body")
    assert (first.slot, second.slot) == (0, 1)
    assert first_slot.prompt == "A line about Initech"
    assert (first_slot.before, first_slot.after) == ("Hi Ada,\n\n", "\n\nAlso: …\n\nThanks")
    assert first_slot.sender_name == "Alice Smith"
    assert first.digest == slot_digest(first_slot) != second.digest == slot_digest(second_slot)
    assert (required, fallback) == (True, "more soon")


def test_without_text_a_slot_shows_its_fallback_and_a_slot_without_one_stops_the_send():
    with pytest.raises(AiTextMissing):
        render_html_body(BODY, DATA, ai_generator=slots_for(Recorder({})), strict=True)
    html = render_html_body(BODY, DATA, ai_generator=slots_for(Recorder({0: "Hi."})), strict=True)
    assert "<p>Also: more soon</p>" in html


def test_a_resolver_that_holds_the_email_says_why():
    class Holding:
        def resolve(self, prompt: str, *, fallback: str, required: bool) -> str | None:
            raise AiTextMissing(reason="the model wrote a greeting (3 tries)")

    with pytest.raises(AiTextMissing) as caught:
        render('{% ai fallback: "x" %}Line{% endai %}', {}, html=False, ai_generator=Holding())
    assert caught.value.reason == "the model wrote a greeting (3 tries)"
    assert "could not be written for this recipient: the model wrote a greeting" in str(
        caught.value
    )


def test_a_plain_callable_still_gets_the_prompt_alone():
    out = render("{% ai %}About {{ n }}{% endai %}", {"n": 3}, html=False, ai_generator=str.upper)
    assert out == "ABOUT 3"
