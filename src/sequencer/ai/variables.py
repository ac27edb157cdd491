"""The text of each AI slot for one recipient: found when stored, written when allowed.

One :class:`AiTexts` serves the renders of one person's emails of one published version
(``sequences.rendering.render_step`` asks it for each field of a step). For each slot:

1. the text around it is found by rendering the field once with a marker per slot
   (``domain.ai_context``), and with the prompt, the recipient's record and the sender's
   name this gives the slot's digest, part of its key (see ``ai.models``);
2. a stored text for the key is used, whoever wrote it;
3. otherwise, in :attr:`Mode.WRITE` (previews, and the engine writing ahead of the send),
   a model is asked up to the workspace's number of tries (Settings → AI, 3 by
   default), each time with a new seed, every
   attempt recorded as an :class:`~sequencer.ai.models.AiGeneration`; the first usable
   answer (``domain.ai_slot.judge``) is stored, and concurrent writers keep the first
   one stored;
4. when no try gave usable text, the slot's fallback is stored as its text; a slot
   without a fallback stores the last problem ("the model wrote nothing (3 tries)") and
   is not tried again before :data:`RETRY_AFTER`: its email waits, saying why.

The send (:attr:`Mode.SEND`) never calls a model: the worker holds a lease there. A slot
with nothing stored holds its email (:class:`AiTextMissing`) while a model is set up,
for the engine's writer to write it, fallback or not; with no model set up, the
fallback is used at once, and a slot without one waits saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from enum import Enum
from typing import Any

from sequencer.ai import stored
from sequencer.ai.around import around_slots
from sequencer.ai.generator import GenerationFailed, TextGenerator
from sequencer.ai.models import AiGeneration, AiText, Outcome, TextSource
from sequencer.ai.source import configured_generator
from sequencer.ai.stored import SlotKey
from sequencer.clock import Clock
from sequencer.domain.ai_context import record_facts, slot_digest
from sequencer.domain.ai_settings import GeneratorSettings
from sequencer.domain.ai_slot import SlotRequest, SlotShape, build_request, judge
from sequencer.domain.chat import Generation
from sequencer.sequences.templating import (
    AiTextMissing,
    RenderError,
    ai_prompts,
    render_html_body,
    render_subject,
)
from sequencer.workspace.ai_settings import generator_settings

log = logging.getLogger(__name__)

# A slot without a fallback whose tries all failed is tried again after this long.
RETRY_AFTER = timedelta(hours=1)
NO_MODEL = "no AI model is set up for the workspace"


class Mode(Enum):
    WRITE = "write"  # previews and the engine's writer: write what is missing
    SEND = "send"  # the send: stored text only; hold the email while text may come
    READ = "read"  # showing an email: stored text only, never holds


class AiTexts:
    """The AI texts of one person's emails of one version (an ``AiTextSource``)."""

    def __init__(
        self,
        *,
        version_id: int,
        person_id: int,
        clock: Clock,
        generator: TextGenerator | None,
        mode: Mode,
        tries: int | None = None,
    ) -> None:
        self.version_id = version_id
        self.person_id = person_id
        self.clock = clock
        # In SEND mode the generator is never called: it only says a writer is at work.
        self.generator = generator
        self.mode = mode
        # Unless given, the tries and lengths are the workspace's (Settings → AI), read
        # once and only when a text is written.
        self._tries = tries
        self._limits: GeneratorSettings | None = None
        # step -> why the fallback stood in, per slot resolved to it (for previews).
        self._fallbacks: dict[int, list[str]] = {}

    @property
    def limits(self) -> GeneratorSettings:
        if self._limits is None:
            self._limits = generator_settings()
        return self._limits

    @property
    def tries(self) -> int:
        return self._tries if self._tries is not None else self.limits.max_tries

    def with_limits(self, slot: SlotRequest) -> SlotRequest:
        """``slot`` judged against the workspace's longest phrase and paragraph."""
        return replace(
            slot,
            max_chars={
                SlotShape.PHRASE: self.limits.max_phrase_chars,
                SlotShape.PARAGRAPH: self.limits.max_paragraph_chars,
            },
        )

    def resolver(
        self, *, step: int, field: str, source: str, data: Mapping[str, Any], html: bool
    ) -> FieldSlots:
        sender = data.get("sender")
        sender_name = str(sender.get("full_name") or "") if isinstance(sender, Mapping) else ""
        return FieldSlots(
            self,
            step=step,
            field=field,
            # Rendered only when the field has a slot: most fields have none.
            around=lambda: around_slots(source, data, html=html),
            facts=record_facts(data),
            sender_name=sender_name,
        )

    def stored_only(self) -> AiTexts:
        """These texts as stored, never written (emails already sent show what they said)."""
        return AiTexts(
            version_id=self.version_id,
            person_id=self.person_id,
            clock=self.clock,
            generator=None,
            mode=Mode.READ,
            tries=self._tries,
        )

    def fallback_reasons(self, step: int) -> list[str]:
        return list(self._fallbacks.get(step, ()))

    def _fell_back(self, key: SlotKey, reason: str) -> None:
        self._fallbacks.setdefault(key.step, []).append(reason)

    def write_step(self, snapshot: Mapping[str, Any], step: int, data: Mapping[str, Any]) -> None:
        """Find or write the text of every AI slot of ``step`` (its subject, unless it
        answers the first email's, and its body), without rendering the rest of the
        email; what could not be written is recorded, never raised."""
        source = snapshot["steps"][step]
        fields = [("body", source["body_html"], True)]
        if step == 0 or not snapshot["settings"].get("thread_emails"):
            fields.insert(0, ("subject", source["subject"], False))
        for field, template, html in fields:
            if not ai_prompts(template):
                continue
            slots = self.resolver(step=step, field=field, source=template, data=data, html=html)
            try:
                if html:
                    render_html_body(template, data, ai_generator=slots, strict=False)
                else:
                    render_subject(template, data, ai_generator=slots, strict=False)
            except RenderError:
                continue  # the send fails this email and says why

    def text_for(
        self, key: SlotKey, slot: SlotRequest, *, fallback: str, required: bool
    ) -> str | None:
        """The text for ``key`` (see the module's rules); ``None`` lets the fallback stand."""
        row = stored.find(key)
        if row is not None and row.text:
            if row.source == TextSource.FALLBACK:
                self._fell_back(key, row.problem)
            return row.text
        now = self.clock.now()
        may_try = row is None or row.retry_at is None or row.retry_at <= now
        if self.mode is Mode.WRITE and self.generator is not None and may_try:
            return self._write(self.generator, key, slot, fallback, row, required)
        if row is not None:  # tried and failed, not to be tried again yet
            if required and not fallback:
                raise AiTextMissing(reason=row.problem or None)
            self._fell_back(key, row.problem)
            return None
        if self.mode is Mode.SEND and required:
            if self.generator is not None:
                raise AiTextMissing()  # the engine's writer has not reached it yet
            if not fallback:
                raise AiTextMissing(reason=NO_MODEL)
        if self.mode is not Mode.READ and self.generator is None and fallback:
            self._fell_back(key, NO_MODEL)
        return None

    def _write(
        self,
        generator: TextGenerator,
        key: SlotKey,
        slot: SlotRequest,
        fallback: str,
        row: AiText | None,
        required: bool,
    ) -> str | None:
        done = row.attempts if row is not None else 0
        problem = "the model gave no usable answer"
        slot = self.with_limits(slot)
        for attempt in range(done, done + self.tries):
            written, problem_now, model = self._try(generator, slot, attempt)
            if written is not None:
                return stored.store_text(
                    key,
                    written,
                    source=TextSource.MODEL,
                    now=self.clock.now(),
                    attempts=attempt + 1,
                    model=model,
                )
            problem = problem_now
        reason = f"{problem} ({self.tries} tries)"
        attempts = done + self.tries
        now = self.clock.now()
        if fallback:
            kept = stored.store_text(
                key,
                fallback,
                source=TextSource.FALLBACK,
                now=now,
                problem=reason,
                attempts=attempts,
            )
            if kept == fallback:  # not a model's text another writer stored meanwhile
                self._fell_back(key, reason)
            return kept
        written = stored.store_failure(
            key, reason, attempts=attempts, retry_at=now + RETRY_AFTER, now=now
        )
        if written is not None:
            return written  # another writer succeeded meanwhile
        if required:
            raise AiTextMissing(reason=reason)
        return None

    def _try(
        self, generator: TextGenerator, slot: SlotRequest, attempt: int
    ) -> tuple[str | None, str, str]:
        """One call to the model, recorded: the usable text or why there is none, and
        which model answered."""
        request = build_request(slot, attempt=attempt)
        started = self.clock.now()
        try:
            generation = generator.generate(request)
        except GenerationFailed as exc:
            problem = str(exc) or "the model gave no answer"
            self._record(generator, Outcome.FAILED, problem, started=started)
            return None, problem, ""
        except Exception as exc:  # a provider bug: this slot's try fails, nothing else
            log.exception("the text generator failed")
            problem = f"the model failed ({type(exc).__name__})"
            self._record(generator, Outcome.FAILED, problem, started=started)
            return None, problem, ""
        verdict = judge(generation.text, slot)
        if verdict.text is None:
            problem = verdict.problem or "the answer could not be used"
            self._record(generator, Outcome.REJECTED, problem, generation=generation)
            return None, problem, ""
        self._record(generator, Outcome.OK, "", generation=generation)
        return verdict.text, "", generation.model or generator.model_name

    def _record(
        self,
        generator: TextGenerator,
        outcome: Outcome,
        reason: str,
        *,
        generation: Generation | None = None,
        started: Any = None,
    ) -> None:
        now = self.clock.now()
        if generation is not None:
            seconds: float | None = generation.seconds
        else:
            seconds = (now - started).total_seconds() if started is not None else None
        AiGeneration.objects.create(
            provider=provider_name(generator),
            model=(generation.model if generation else "") or generator.model_name,
            seconds=seconds,
            prompt_tokens=generation.prompt_tokens if generation else 0,
            completion_tokens=generation.completion_tokens if generation else 0,
            outcome=outcome,
            reason=reason,
            created_at=now,
        )


def provider_name(generator: TextGenerator) -> str:
    """What the generator calls its provider (``provider``), else its class name."""
    named = getattr(generator, "provider", None)
    return str(named) if isinstance(named, str) and named else type(generator).__name__


class FieldSlots:
    """The slots of one field of one step, resolved in render order (an ``AiResolver``)."""

    def __init__(
        self,
        owner: AiTexts,
        *,
        step: int,
        field: str,
        around: Callable[[], list[tuple[str, str]]],
        facts: dict[str, dict[str, str]],
        sender_name: str,
    ) -> None:
        self.owner = owner
        self.step = step
        self.field = field
        self._find_around = around
        self._around: list[tuple[str, str]] | None = None
        self.facts = facts
        self.sender_name = sender_name
        self._next = 0

    def request(self, index: int, prompt: str) -> SlotRequest:
        """What slot ``index`` (0-based, in render order) of this field is written from."""
        if self._around is None:
            self._around = self._find_around()
        around = self._around
        before, after = around[index] if index < len(around) else ("", "")
        return SlotRequest(
            prompt=prompt,
            record=self.facts,
            before=before,
            after=after,
            sender_name=self.sender_name,
        )

    def resolve(self, prompt: str, *, fallback: str, required: bool) -> str | None:
        index = self._next
        self._next += 1
        slot = self.request(index, prompt)
        key = SlotKey(
            person_id=self.owner.person_id,
            version_id=self.owner.version_id,
            step=self.step,
            field=self.field,
            slot=index,
            digest=slot_digest(slot),
        )
        return self.owner.text_for(key, slot, fallback=fallback, required=required)


def for_preview(*, version_id: int, person_id: int, clock: Clock) -> AiTexts:
    """AI texts for a preview: stored text, or text written now with the workspace's
    model and stored, so that the emails sent later say what the preview showed."""
    return AiTexts(
        version_id=version_id,
        person_id=person_id,
        clock=clock,
        generator=configured_generator(),
        mode=Mode.WRITE,
    )


def as_stored(*, version_id: int, person_id: int, clock: Clock) -> AiTexts:
    """AI texts as stored, for showing emails already sent; no model is called."""
    return AiTexts(
        version_id=version_id, person_id=person_id, clock=clock, generator=None, mode=Mode.READ
    )
