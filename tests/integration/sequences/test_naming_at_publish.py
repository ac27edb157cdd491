"""A sequence published without a name is named from its emails; a named one keeps its
name; a model that fails leaves the first subject as the name, and the publish stands."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sequencer.ai.generator import GenerationFailed
from sequencer.clock import system_clock
from sequencer.domain.chat import Generation, GenerationRequest
from sequencer.sequences import authoring, naming
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence, SequenceVersion

from .helpers import sequence_body, step

pytestmark = pytest.mark.django_db

SUBJECT = "Your Acme trial ends on Friday"
GOOD = "Title: Trial ending reminders\nDescription: Reminds trial users to upgrade before it ends"


class ScriptedGenerator:
    """Answers with the scripted texts in turn (an exception is raised); records requests."""

    model_name = "scripted"

    def __init__(self, *answers: str | Exception, hook: Callable[[], None] | None = None) -> None:
        self.answers = list(answers)
        self.requests: list[GenerationRequest] = []
        self.hook = hook

    def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        if self.hook:
            self.hook()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Generation(answer, "scripted", prompt_tokens=50, completion_tokens=12, seconds=0.1)


def _unnamed(admin, name: str = "", description: str = "") -> Sequence:
    return authoring.create_sequence(
        admin,
        name=name,
        description=description,
        steps=[
            StepInput(subject=SUBJECT, body_html="<p>Hi {{ person.first_name }}, upgrade now.</p>"),
            StepInput(subject="", body_html="<p>Last day today.</p>", delay_days=2),
        ],
        clock=system_clock,
    )


def _publish(admin, sequence: Sequence, generator=None) -> Sequence:
    version = authoring.publish(admin, sequence.pk, clock=system_clock, generator=generator)
    assert version.number >= 1
    return Sequence.objects.get(pk=sequence.pk)


def test_an_unnamed_sequence_gets_the_models_name_and_description(admin):
    model = ScriptedGenerator(GOOD)

    named = _publish(admin, _unnamed(admin), model)

    assert named.name == "Trial ending reminders"
    assert named.description == "Reminds trial users to upgrade before it ends."
    assert named.has_unpublished_changes is False
    [asked] = model.requests
    assert SUBJECT in asked.messages[1].content and "Last day today." in asked.messages[1].content


def test_a_named_sequence_keeps_its_name_and_the_model_is_not_asked(admin):
    model = ScriptedGenerator(GOOD)
    named = _publish(admin, _unnamed(admin, name="Upgrade nudges"), model)
    assert named.name == "Upgrade nudges" and model.requests == []


def test_a_failing_model_leaves_the_first_subject_as_the_name_and_the_publish_stands(admin):
    sequence = _unnamed(admin)
    named = _publish(admin, sequence, ScriptedGenerator(GenerationFailed("server unreachable")))
    assert named.name == SUBJECT and named.description == ""
    assert SequenceVersion.objects.filter(sequence=sequence).count() == 1


def test_a_provider_bug_is_no_reason_to_refuse_a_publish(admin):
    named = _publish(admin, _unnamed(admin), ScriptedGenerator(RuntimeError("bug")))
    assert named.name == SUBJECT


def test_unusable_answers_are_asked_again_with_a_new_seed_then_the_fallback_is_used(admin):
    model = ScriptedGenerator("Title: {{ company }} outreach", '"..."')

    named = _publish(admin, _unnamed(admin), model)

    assert named.name == SUBJECT
    assert len(model.requests) == naming.NAMING_TRIES
    assert len({r.seed for r in model.requests}) == naming.NAMING_TRIES


def test_a_second_answer_is_used_when_the_first_is_unusable(admin):
    named = _publish(admin, _unnamed(admin), ScriptedGenerator("", GOOD))
    assert named.name == "Trial ending reminders"


def test_a_description_the_author_wrote_is_kept(admin):
    named = _publish(admin, _unnamed(admin, description="Mine"), ScriptedGenerator(GOOD))
    assert (named.name, named.description) == ("Trial ending reminders", "Mine")


def test_a_name_typed_while_the_model_wrote_is_not_overwritten(admin):
    sequence = _unnamed(admin)

    def author_types_a_name() -> None:
        Sequence.objects.filter(pk=sequence.pk).update(name="Typed meanwhile")

    named = _publish(admin, sequence, ScriptedGenerator(GOOD, hook=author_types_a_name))
    assert named.name == "Typed meanwhile"


def test_without_a_configured_generator_the_first_subject_names_it(admin, monkeypatch):
    monkeypatch.setattr(naming, "configured_generator", lambda: None)
    assert _publish(admin, _unnamed(admin)).name == SUBJECT


def test_the_configured_generator_is_used_when_none_is_passed(admin, monkeypatch):
    model = ScriptedGenerator(GOOD)
    monkeypatch.setattr(naming, "configured_generator", lambda: model)
    assert _publish(admin, _unnamed(admin)).name == "Trial ending reminders"


def broken_generator() -> ScriptedGenerator:
    raise RuntimeError("model file missing")


def test_a_configuration_that_cannot_build_a_generator_falls_back(admin, settings):
    settings.SEQUENCER_AI_GENERATOR = f"{__name__}.broken_generator"
    assert _publish(admin, _unnamed(admin)).name == SUBJECT


def test_the_author_renames_it_afterwards_and_a_new_version_keeps_that_name(admin):
    sequence = _unnamed(admin)
    _publish(admin, sequence, ScriptedGenerator(GOOD))
    authoring.update_draft(admin, sequence.pk, name="My own name", clock=system_clock)

    again = _publish(admin, sequence, ScriptedGenerator(GOOD))

    assert again.name == "My own name"


# --- Through the API ---------------------------------------------------------------------


def _create(api, **overrides):
    body = sequence_body(
        steps=[step(0, SUBJECT, "<p>Upgrade now.</p>"), step(2, "", "<p>Last day.</p>")],
        **overrides,
    )
    response = api.post("sequences", body)
    assert response.status_code == 201, response.data
    return response.data["id"]


def test_publishing_an_unnamed_sequence_through_the_api_gives_it_a_name(api, monkeypatch):
    monkeypatch.setattr(naming, "configured_generator", lambda: ScriptedGenerator(GOOD))
    sequence_id = _create(api, name="", description="")

    assert api.post(f"sequences/{sequence_id}/publish").data == {"version": 1}

    read = api.get(f"sequences/{sequence_id}").data
    assert read["name"] == "Trial ending reminders"
    assert read["description"] == "Reminds trial users to upgrade before it ends."
    assert read["has_unpublished_changes"] is False


def test_publishing_a_named_sequence_through_the_api_keeps_its_name(api, monkeypatch):
    monkeypatch.setattr(naming, "configured_generator", lambda: ScriptedGenerator(GOOD))
    sequence_id = _create(api, name="Demo follow-up")
    api.post(f"sequences/{sequence_id}/publish")
    assert api.get(f"sequences/{sequence_id}").data["name"] == "Demo follow-up"


def test_a_model_failure_through_the_api_still_publishes_with_the_first_subject(api, monkeypatch):
    failing = ScriptedGenerator(GenerationFailed("The server at https://llm.test refused"))
    monkeypatch.setattr(naming, "configured_generator", lambda: failing)
    sequence_id = _create(api, name="", description="")

    response = api.post(f"sequences/{sequence_id}/publish")

    assert (response.status_code, response.data) == (200, {"version": 1})
    assert api.get(f"sequences/{sequence_id}").data["name"] == SUBJECT
