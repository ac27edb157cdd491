"""Each recipient's AI text is written once, stored, and found again by every render."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from sequencer.ai import variables
from sequencer.ai.models import AiGeneration, AiText
from sequencer.ai.stored import SlotKey, store_failure, store_text
from sequencer.crm.models import Company
from sequencer.domain.ai_context import record_facts, slot_digest
from sequencer.domain.ai_slot import SlotRequest
from sequencer.workspace import ai_settings
from sequencer.workspace.ai_settings import AiSettingsChange
from tests.integration.ai.variables.deriving import failing
from tests.integration.ai.variables.helpers import WITH_FALLBACK, one_step, preview, version_of
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db


def test_a_stored_text_is_used_again_and_a_second_render_asks_no_model(
    publish, person, mailbox, clock, generator
):
    sequence = publish(one_step())
    first = preview(sequence, person, mailbox, clock)
    asked = len(generator.requests)

    clock.advance(timedelta(days=3))
    again = preview(sequence, person, mailbox, clock)

    assert asked == 1 and len(generator.requests) == 1
    [row] = AiText.objects.all()
    assert row.text in first.html and again.html == first.html
    assert (row.step, row.field, row.slot, row.source, row.model) == (
        0,
        "body",
        0,
        "model",
        "deriving-1",
    )
    assert first.problem is None


def test_the_model_is_given_the_record_the_email_around_the_slot_and_the_sender(
    publish, person, mailbox, clock, generator
):
    sequence = publish(one_step())
    preview(sequence, person, mailbox, clock)

    [request] = generator.requests
    said = "\n".join(m.content for m in request.messages)
    assert "One sentence about Initech" in said
    assert "Ada" in said and "Initech" in said
    [row] = AiText.objects.all()
    slot = SlotRequest(
        prompt="One sentence about Initech",
        record=record_facts(
            {
                "person": {
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "full_name": "Ada Lovelace",
                    "email": "ada@initech.test",
                },
                "company": {
                    "name": "Initech",
                    "domain": "initech.test",
                    "domains": ["initech.test"],
                },
            }
        ),
        before="Hi Ada,\n\n",
        after="\n\nThanks",
        sender_name="Ada Admin",
    )
    assert row.digest == slot_digest(slot)


def test_two_recipients_with_different_records_get_different_prompts_and_text(
    publish, person, mailbox, clock, generator
):
    sequence = publish(one_step())
    other = make_person("Bob", "bob@globex.test", company=Company.objects.create(name="Globex"))

    ada = preview(sequence, person, mailbox, clock)
    bob = preview(sequence, other, mailbox, clock)

    first, second = generator.requests
    assert first.messages != second.messages
    assert "One sentence about Globex" in second.messages[-1].content
    texts = {row.person_id: row.text for row in AiText.objects.all()}
    assert texts[person.pk] != texts[other.pk]
    assert texts[person.pk] in ada.html and texts[other.pk] in bob.html


def test_a_changed_record_gets_new_text_and_the_old_text_is_kept(
    publish, person, mailbox, clock, generator
):
    sequence = publish(one_step())
    before = preview(sequence, person, mailbox, clock)
    company = person.company
    company.name = "Initech Europe"
    company.save()
    person.refresh_from_db()

    after = preview(sequence, person, mailbox, clock)

    assert len(generator.requests) == 2
    assert AiText.objects.count() == 2
    assert before.html != after.html


GREETING = "the text starts with a greeting; the email already has its own"


def test_an_unusable_answer_is_asked_again_with_a_new_seed(
    publish, person, mailbox, clock, generator
):
    generator.script = ["   ", "Hi Kim, hope you are well.", "Initech's new plant is impressive."]
    sequence = publish(one_step())

    shown = preview(sequence, person, mailbox, clock)

    assert [r.seed for r in generator.requests] == [0, 1, 2]
    assert "<p>Initech's new plant is impressive.</p>" in shown.html
    outcomes = list(AiGeneration.objects.order_by("pk").values_list("outcome", "reason"))
    assert outcomes == [
        ("rejected", "the model wrote nothing"),
        ("rejected", GREETING),
        ("ok", ""),
    ]
    assert AiText.objects.get().attempts == 3


def test_each_attempt_is_recorded_with_its_provider_model_latency_and_tokens(
    publish, person, mailbox, clock, generator
):
    generator.script = failing(1)
    preview(publish(one_step()), person, mailbox, clock)

    failed, ok = AiGeneration.objects.order_by("pk")
    assert (failed.provider, failed.model, failed.outcome) == ("deriving", "deriving-1", "failed")
    assert failed.reason == "the model server did not answer"
    assert (failed.prompt_tokens, failed.completion_tokens) == (0, 0)
    assert (ok.outcome, ok.seconds, ok.prompt_tokens, ok.completion_tokens) == ("ok", 0.5, 40, 9)
    assert ok.created_at == clock.now()


def test_after_three_failures_the_preview_says_why_and_the_slot_is_not_tried_again_at_once(
    publish, person, mailbox, clock, generator
):
    generator.script = failing(3)
    sequence = publish(one_step())

    shown = preview(sequence, person, mailbox, clock)
    again = preview(sequence, person, mailbox, clock)

    assert len(generator.requests) == 3
    assert shown.problem == (
        "AI text could not be written: the model server did not answer (3 tries). "
        "This email waits until it is."
    )
    assert again.problem == shown.problem
    assert "Hi Ada," in shown.html  # shown anyway, with the slot left empty
    row = AiText.objects.get()
    assert (row.text, row.attempts, row.retry_at) == ("", 3, clock.now() + variables.RETRY_AFTER)


def test_the_tries_and_lengths_are_the_ones_set_in_settings_ai(
    admin, publish, person, mailbox, clock, generator
):
    ai_settings.update(
        admin, AiSettingsChange(max_tries=2, max_phrase_chars=50, max_paragraph_chars=60)
    )
    generator.script = ["Initech's new plant in Lyon is the largest of its kind in Europe."]
    generator.script += failing(1)
    sequence = publish(one_step())

    shown = preview(sequence, person, mailbox, clock)

    assert len(generator.requests) == 2
    assert shown.problem == (
        "AI text could not be written: the model server did not answer (2 tries). "
        "This email waits until it is."
    )
    too_long, _ = AiGeneration.objects.order_by("pk")
    assert too_long.outcome == "rejected" and "60" in too_long.reason


def test_a_failed_slot_is_tried_again_later_with_seeds_it_never_had(
    publish, person, mailbox, clock, generator
):
    generator.script = failing(3)
    sequence = publish(one_step())
    preview(sequence, person, mailbox, clock)

    clock.advance(variables.RETRY_AFTER)
    shown = preview(sequence, person, mailbox, clock)

    assert [r.seed for r in generator.requests] == [0, 1, 2, 3]
    row = AiText.objects.get()
    assert row.text and row.text in shown.html and shown.problem is None
    assert (row.attempts, row.retry_at, row.problem) == (4, None, "")


def test_with_a_fallback_three_failures_store_the_fallback_as_the_text(
    publish, person, mailbox, clock, generator
):
    generator.script = failing(3)
    sequence = publish(one_step(f"<p>Hi,</p><p>{WITH_FALLBACK}</p>"))

    shown = preview(sequence, person, mailbox, clock)

    assert "I hope the quarter is going well." in shown.html
    row = AiText.objects.get()
    assert (row.text, row.source) == ("I hope the quarter is going well.", "fallback")
    assert row.problem == "the model server did not answer (3 tries)"


def test_two_stores_for_the_same_key_keep_one_row_and_both_use_the_first_text(
    publish, person, clock
):
    version = version_of(publish(one_step()))
    key = SlotKey(person.pk, version.pk, 0, "body", 0, "d" * 64)

    first = store_text(key, "Written by the preview.", source="model", now=clock.now())
    second = store_text(key, "Written by the worker.", source="model", now=clock.now())

    assert first == second == "Written by the preview."
    assert AiText.objects.count() == 1


def test_a_text_stored_while_a_failure_was_recorded_wins_over_the_failure(publish, person, clock):
    version = version_of(publish(one_step()))
    key = SlotKey(person.pk, version.pk, 0, "body", 0, "e" * 64)
    now = clock.now()
    later = now + variables.RETRY_AFTER

    assert (
        store_failure(key, "the model wrote nothing (3 tries)", attempts=3, retry_at=later, now=now)
        is None
    )
    assert store_text(key, "Now written.", source="model", now=now, attempts=4) == "Now written."
    assert store_failure(key, "a late failure", attempts=5, retry_at=later, now=now) == (
        "Now written."
    )
    row = AiText.objects.get()
    assert (row.text, row.attempts, row.retry_at) == ("Now written.", 4, None)


# The test database on SQLite is an in-memory shared cache, whose table locks fail at
# once instead of waiting (unlike the file database in use, where IMMEDIATE transactions
# serialise writers): the race itself is PostgreSQL's.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a race between connections")
@pytest.mark.django_db(transaction=True)
def test_two_writers_storing_the_same_key_at_once_keep_one_row_and_one_text(publish, person, clock):
    version = version_of(publish(one_step()))
    keys = [SlotKey(person.pk, version.pk, 0, "body", 0, f"{n:064x}") for n in range(20)]
    start = threading.Barrier(2)
    got: dict[str, list[str]] = {"preview": [], "worker": []}

    def store(name: str) -> None:
        try:
            for key in keys:  # both writers start each key together
                start.wait(timeout=10)
                written = store_text(key, f"Written by {name}.", source="model", now=clock.now())
                got[name].append(written)
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(n,)) for n in ("preview", "worker")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    stored = {row.digest: row.text for row in AiText.objects.all()}
    assert len(stored) == len(keys)
    expected = [stored[key.digest] for key in keys]
    assert got == {"preview": expected, "worker": expected}
