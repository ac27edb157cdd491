"""How fast the embedded model (SmolLM2-135M through llama.cpp) writes, on this machine.

Each round asks for one short email line with a fixed seed and counts the tokens the
model wrote per second of generation (prompt processing included, as a caller waits for
it). The figure is the best of several rounds, so a busy machine's pauses do not count
as the model's time; the first request, which loads the model, is not counted.
"""

from __future__ import annotations

import time

from sequencer.ai.local_model import LocalModel
from sequencer.domain.chat import ChatMessage, GenerationRequest

FIGURES = {
    "local_model_tokens_per_second": (
        "tokens written per second by the local model, one request at a time",
        "tokens/s",
        (">=", 10),
    ),
    "local_model_load_seconds": (
        "loading the model and answering the first request (once per process)",
        "s",
        None,
    ),
}

ROUNDS = 5
REQUEST = GenerationRequest(
    messages=(
        ChatMessage("system", "You write short, friendly sales emails."),
        ChatMessage("user", "Write two sentences inviting Ann from Northwind to a demo call."),
    ),
    max_tokens=64,
    temperature=0.7,
    seed=1,
)


def run() -> dict[str, float]:
    model = LocalModel()
    started = time.perf_counter()
    model.generate(REQUEST)
    load_seconds = time.perf_counter() - started
    best = 0.0
    for _ in range(ROUNDS):
        answer = model.generate(REQUEST)
        best = max(best, answer.completion_tokens / answer.seconds)
    return {"local_model_tokens_per_second": best, "local_model_load_seconds": load_seconds}
