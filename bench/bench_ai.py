"""What an AI variable costs with the local model: per recipient, against the binding
alone, and for a thousand recipients.

The child process (SQLite file database) publishes a one-step sequence whose body has
one AI slot (a sentence about the recipient's company and industry, with a fallback) and
creates people with distinct records (first name, company, industry).

* ``ai_variable_seconds_local``: for each of :data:`RECIPIENTS` people, the text of the
  slot is written through the service as a preview or the engine writes it
  (``ai.variables.AiTexts.write_step``: the text around the slot, the request, up to
  three tries judged, every try recorded, the text stored). The figure is the median
  seconds per recipient. The first request, which loads the model, is not counted.
* ``ai_overhead_ratio``: right after each recipient's write, every request that write
  sent to the model is sent again straight to llama-cpp-python (same messages, seed,
  max_tokens and stop, so the same tokens come back), and timed. The figure is the
  median over recipients of (our seconds / the binding's seconds): what our service
  adds on top of generating, retries included on both sides.
* ``ai_1000_recipients_seconds``: :data:`BATCH` people are enrolled, then the engine's
  writer (``engine.ai_ahead.write_ahead``) writes their text in one pass, as the worker
  does tick after tick. The local model generates one request at a time (one llama.cpp
  context, behind a lock), so more threads would only queue: the pass is sequential.
  A thousand generations take about half an hour on 2 shared cores, so by default
  :data:`BATCH` is 50 and the figure is the measured time scaled to 1,000 (labelled
  extrapolated, with the measured count in ``ai_recipients_measured``); set
  ``SEQUENCER_BENCH_AI_RECIPIENTS=1000`` to measure all of them.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench import support

FIGURES = {
    "ai_variable_seconds_local": (
        "median seconds to write one AI variable through the service (context, request, "
        "judged tries, recorded, stored) with the local model, over 20 recipients with "
        "distinct records (SQLite)",
        "s",
        None,
    ),
    "ai_overhead_ratio": (
        "per recipient, the service's time divided by llama-cpp-python generating the same "
        "requests (same messages, seed and max_tokens) right after; the median",
        "ratio",
        ("<=", 1.3),
    ),
    "ai_1000_recipients_seconds": (
        "the engine's writer writing one AI variable for 1,000 enrolled recipients, one "
        "generation at a time (the local model serialises them); extrapolated from "
        "`ai_recipients_measured` recipients unless that is 1,000",
        "s",
        None,
    ),
    "ai_recipients_measured": (
        "how many recipients `ai_1000_recipients_seconds` was measured on "
        "(SEQUENCER_BENCH_AI_RECIPIENTS, default 50)",
        "recipients",
        None,
    ),
    "ai_model_tries_per_variable": (
        "generations per written AI variable in the 1,000-recipient run (the judge "
        "rejects some answers; three tries at most, then the fallback)",
        "tries",
        None,
    ),
}

RECIPIENTS = 20
SUBJECT = "A question for {{ company.name }}"
BATCH = int(os.environ.get("SEQUENCER_BENCH_AI_RECIPIENTS", "50"))

BODY = (
    "<p>Hi {{ person.first_name }},</p>"
    '<p>{% ai fallback: "I hope the season is going well for the whole team." %}'
    "One friendly sentence about {{ company.name }} and its work in {{ company.industry }}"
    "{% endai %}</p>"
    "<p>Would a short call next week be useful?</p><p>Thanks,<br>Alice</p>"
)

FIRST = ["Maria", "Kenji", "Amara", "Lucas", "Priya", "Tomas", "Ingrid", "Diego", "Mei", "Omar"]
FIRMS = ["Greenleaf", "Bitforge", "Tidewater", "Northwind", "Redcliff", "Bluepine", "Ironbark"]
KIND = ["Farms", "Labs", "Logistics", "Studio", "Partners", "Works", "Systems", "Foods"]
INDUSTRIES = [
    "organic agriculture",
    "cybersecurity software",
    "freight shipping",
    "architecture",
    "dental clinics",
    "craft brewing",
    "solar installation",
    "veterinary care",
    "language schools",
    "furniture making",
    "wedding photography",
]


def run() -> dict[str, float]:
    result = support.run_child("bench_ai", str(RECIPIENTS), str(BATCH), timeout=3600)
    measured = result["batch_seconds"]
    return {
        "ai_variable_seconds_local": result["variable_median"],
        "ai_overhead_ratio": result["overhead_median"],
        "ai_1000_recipients_seconds": measured * 1000 / BATCH,
        "ai_recipients_measured": float(BATCH),
        "ai_model_tries_per_variable": result["batch_tries"],
    }


# -- child ----------------------------------------------------------------------------


class _Recording:
    """The local model, keeping the requests our service sent (to send them again bare)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[Any] = []

    @property
    def model_name(self) -> str:
        return str(self.inner.model_name)

    def generate(self, request: Any) -> Any:
        self.requests.append(request)
        return self.inner.generate(request)


def _people(count: int, tag: str) -> list[Any]:
    """``count`` people, each at a company of their own with its own industry."""
    from sequencer.crm.models import Company, EmailAddress, Person

    made = []
    for i in range(count):
        name = f"{FIRMS[i % len(FIRMS)]} {KIND[(i // len(FIRMS)) % len(KIND)]} {tag}{i}"
        company = Company.objects.create(
            name=name, attributes={"industry": INDUSTRIES[i % len(INDUSTRIES)]}
        )
        person = Person.objects.create(
            first_name=FIRST[i % len(FIRST)], last_name=f"Bench{tag}", company=company
        )
        EmailAddress.objects.create(person=person, email=f"p{i}.{tag}@bench.test", is_primary=True)
        made.append(person)
    return made


def _bare(llama: Any, request: Any) -> tuple[float, int]:
    """The binding alone answering ``request``: seconds and completion tokens."""
    started = time.perf_counter()
    llama.reset()
    answer = llama.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in request.messages],
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        seed=request.seed,
        stop=list(request.stop) or None,
    )
    return time.perf_counter() - started, int(answer["usage"]["completion_tokens"])


def child(recipients: int, batch: int) -> dict[str, Any]:
    support.setup_django()
    from sequencer.ai import local_model
    from sequencer.ai.models import AiGeneration, AiText
    from sequencer.ai.variables import AiTexts, Mode
    from sequencer.clock import system_clock
    from sequencer.crm.models import Attribute
    from sequencer.domain.sender import sender_values
    from sequencer.engine.ai_ahead import write_ahead
    from sequencer.sequences import authoring, enrollment
    from sequencer.sequences.authoring import StepInput
    from sequencer.sequences.enrollment import Recipient
    from sequencer.sequences.rendering import recipient_data, sender_of

    Attribute.objects.create(object="companies", slug="industry", title="Industry", type="text")
    admin = support.make_admin()
    sequence = authoring.create_sequence(
        admin,
        name="Bench AI",
        settings=support.ALL_DAY,
        steps=[StepInput(delay_days=0, subject=SUBJECT, body_html=BODY)],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    version = sequence.versions.order_by("-number").first()
    assert version is not None
    snapshot = {"settings": version.settings, "steps": version.steps}
    mailbox = support.make_mailbox(admin)
    sender = dict(sender_values(sender_of(mailbox)))
    model = local_model.LocalModel()

    def write(person: Any, generator: Any) -> None:
        texts = AiTexts(
            version_id=version.pk,
            person_id=person.pk,
            clock=system_clock,
            generator=generator,
            mode=Mode.WRITE,
        )
        data = {**recipient_data(person, person.primary_email), "sender": sender}
        texts.write_step(snapshot, 0, data)

    # The first request loads the model: not counted.
    write(_people(1, "warm")[0], model)
    llama = local_model._slot(local_model.shipped_model_path()).llama  # type: ignore[arg-type]

    ours: list[float] = []
    ratios: list[float] = []
    for person in _people(recipients, "one"):
        recording = _Recording(model)
        started = time.perf_counter()
        write(person, recording)
        elapsed = time.perf_counter() - started
        bare = 0.0
        for request in recording.requests:
            seconds, _ = _bare(llama, request)
            bare += seconds
        ours.append(elapsed)
        ratios.append(elapsed / bare)

    people = _people(batch, "many")
    enrollment.enroll(
        admin,
        sequence.pk,
        [Recipient(p.pk) for p in people],
        mailbox_id=mailbox.pk,
        clock=system_clock,
    )
    before = AiGeneration.objects.count()
    started = time.perf_counter()
    written = write_ahead(
        system_clock.now(),
        clock=system_clock,
        generator=model,
        per_tick=batch,
        scan=batch,
        budget=timedelta(days=1),
    )
    batch_seconds = time.perf_counter() - started
    if written != batch:
        raise RuntimeError(f"the writer wrote {written} of {batch}")
    tries = (AiGeneration.objects.count() - before) / batch
    by_source = {
        source: AiText.objects.filter(person__last_name="Benchmany", source=source).count()
        for source in ("model", "fallback")
    }
    return {
        "variable_median": statistics.median(ours),
        "overhead_median": statistics.median(ratios),
        "variable_seconds": ours,
        "ratios": ratios,
        "batch_seconds": batch_seconds,
        "batch_tries": tries,
        "batch_sources": by_source,
    }


if __name__ == "__main__":
    support.emit(child(int(sys.argv[1]), int(sys.argv[2])))
