"""A name for a sequence published without one, written from its emails.

:func:`sequencer.sequences.authoring.publish` calls :func:`name_if_untitled` once the
new version is committed, so the row lock taken to publish is not held while a model
writes, and nothing here can undo or refuse the publish: every failure of the model
(unreachable, refused, an unusable answer) ends in the fallback title made from the
first subject (:mod:`sequencer.domain.sequence_naming`). The name and description are
the sequence's own, not the version's: the author edits them as usual, and a name the
author typed meanwhile is never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sequencer.ai.generator import TextGenerator
from sequencer.ai.source import configured_generator
from sequencer.domain.sequence_naming import Naming, StepText, build_request, fallback, judge
from sequencer.sequences.models import Sequence as SequenceRow

log = logging.getLogger(__name__)

# How many answers are asked for before the fallback title is used; each is a model
# call the author waits for at publish, so few.
NAMING_TRIES = 2


def _configured() -> TextGenerator | None:
    # A broken configuration (an unreadable key, a missing model file) gives None and
    # never stops a publish; Settings → AI is where it is seen and fixed.
    return configured_generator()


def suggest(steps: Sequence[StepText], generator: TextGenerator | None) -> Naming:
    """A name for ``steps``: the model's, judged, else the fallback. Never raises."""
    if generator is not None:
        for attempt in range(NAMING_TRIES):
            try:
                answer = generator.generate(build_request(steps, attempt=attempt))
            except Exception as failed:
                # GenerationFailed says what to fix; anything else is a provider's bug.
                # Either way, publishing goes on with the fallback title.
                log.warning("Naming a sequence: the model gave no answer (%s).", failed)
                break
            naming = judge(answer.text)
            if naming is not None:
                return naming
            log.info("Naming a sequence: answer %d was unusable.", attempt + 1)
    return fallback(steps)


def name_if_untitled(
    sequence_id: int,
    steps: Sequence[StepText],
    *,
    generator: TextGenerator | None = None,
) -> Naming | None:
    """Give the sequence a name and description if its name is empty; what was saved.

    ``generator`` defaults to the configured one (:data:`naming_generator`). The name is
    written only where it is still empty at the end, and the description only where it
    is empty too.
    """
    if SequenceRow.objects.filter(pk=sequence_id).exclude(name="").exists():
        return None
    try:
        naming = suggest(steps, generator or _configured())
    except Exception:
        log.exception("Naming sequence %s failed; it stays untitled.", sequence_id)
        return None
    if not naming.title:
        return None
    if not SequenceRow.objects.filter(pk=sequence_id, name="").update(name=naming.title):
        return None  # the author named it meanwhile
    if naming.description:
        SequenceRow.objects.filter(pk=sequence_id, description="").update(
            description=naming.description
        )
    return naming
