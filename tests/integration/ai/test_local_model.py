"""The embedded model really writes: SmolLM2-135M run by llama.cpp in this process. No
canned answers: each test asks the real model and checks what any real answer must
satisfy (it is text, the same seed repeats it, the limits hold)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.ai.local_model import LocalModel
from sequencer.domain.chat import ChatMessage, GenerationRequest

pytestmark = pytest.mark.model

SYSTEM = ChatMessage("system", "You write short, friendly sales emails.")


def ask(
    text: str, *, seed: int | None = 7, max_tokens: int = 24, **more: object
) -> GenerationRequest:
    return GenerationRequest(
        messages=(SYSTEM, ChatMessage("user", text)),
        max_tokens=max_tokens,
        seed=seed,
        **more,  # type: ignore[arg-type]
    )


def test_it_is_a_text_generator_that_writes_text_and_counts_tokens(local_model: LocalModel) -> None:
    generator: TextGenerator = local_model
    answer = generator.generate(ask("Write one sentence inviting Ann to a call on Tuesday."))
    assert answer.text.strip()
    assert any(c.isalpha() for c in answer.text)
    assert answer.prompt_tokens > 10  # the system and user messages, in the chat template
    assert 0 < answer.completion_tokens <= 24
    assert answer.model == generator.model_name == "SmolLM2-135M-Instruct.Q4_1"
    assert answer.seconds > 0


def test_the_same_seed_gives_the_same_text(local_model: LocalModel) -> None:
    request = ask("Write a subject line for an email about a product demo.", seed=42)
    first = local_model.generate(request)
    # Something else in between must not change the next answer (no cached prefix).
    local_model.generate(ask("Say thanks to Bob.", seed=1))
    again = local_model.generate(request)
    assert again.text == first.text
    assert again.completion_tokens == first.completion_tokens


def test_different_prompts_give_different_text(local_model: LocalModel) -> None:
    about_demo = local_model.generate(ask("Write a subject line for a product demo email."))
    about_pricing = local_model.generate(ask("Explain our new pricing to Carol in one line."))
    assert about_demo.text != about_pricing.text


def test_max_tokens_caps_the_answer(local_model: LocalModel) -> None:
    answer = local_model.generate(
        ask("Write a long, detailed email about our company history.", max_tokens=5)
    )
    assert 0 < answer.completion_tokens <= 5
    assert answer.text.strip()


def test_a_stop_sequence_ends_the_answer_before_it(local_model: LocalModel) -> None:
    request = ask("List three colours, one per line.", seed=3, max_tokens=40, temperature=0.0)
    free = local_model.generate(request).text
    assert "\n" in free.strip(), free  # the model does write several lines here
    stopped = local_model.generate(
        ask(
            "List three colours, one per line.",
            seed=3,
            max_tokens=40,
            temperature=0.0,
            stop=("\n",),
        )
    ).text
    assert "\n" not in stopped
    assert free.startswith(stopped)


def test_threads_asking_at_once_each_get_a_whole_answer(local_model: LocalModel) -> None:
    request = ask("Greet Dana in five words.", seed=5, max_tokens=12)
    alone = local_model.generate(request).text
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(local_model.generate, [request] * 3))
    assert [a.text for a in answers] == [alone] * 3


def test_a_missing_model_file_is_a_generation_failure_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(GenerationFailed, match=r"nowhere\.gguf does not exist"):
        LocalModel(missing).generate(ask("Hello"))


def test_a_file_that_is_not_a_model_is_a_generation_failure(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(GenerationFailed, match=r"could not load .*bogus\.gguf"):
        LocalModel(bogus).generate(ask("Hello"))
