"""Writing AI text ahead of the send, so that sending never waits on a model.

A model may take seconds per slot, and the send holds a lease and a transaction with
the mailbox locked (``engine/dispatch.py``), so it only reads stored text. This step of
each tick looks at the emails due within :data:`AHEAD` (or overdue), and for those whose
step has AI slots without stored text it writes them (``ai.variables``), outside any
transaction. A model that gives no usable text is recorded there with the reason, which
the email shows when it comes due and waits.

Each tick writes the text of at most :data:`PER_TICK` emails, among the :data:`SCAN`
soonest due, and starts no new one after :data:`BUDGET`: the cost of a tick stays
bounded whatever the backlog, and the sending of the tick (done after this step) is
delayed by at most that many emails' writing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sequencer.ai.generator import TextGenerator
from sequencer.ai.variables import AiTexts, Mode, provider_name
from sequencer.clock import Clock
from sequencer.domain.chat import Generation, GenerationRequest
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.sender import sender_values
from sequencer.sequences.models import ScheduledEmail
from sequencer.sequences.rendering import recipient_data, sender_of
from sequencer.sequences.templating import ai_prompts

log = logging.getLogger(__name__)

AHEAD = timedelta(minutes=15)
PER_TICK = 5
SCAN = 100
# No new email is started once a tick has spent this long writing: a slow model delays
# the tick's sending by about this much at most.
BUDGET = timedelta(seconds=60)


class _Counted:
    """The generator, counting its calls: only emails that needed a model count."""

    def __init__(self, inner: TextGenerator) -> None:
        self.inner = inner
        self.calls = 0
        self.provider = provider_name(inner)

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    def generate(self, request: GenerationRequest) -> Generation:
        self.calls += 1
        return self.inner.generate(request)


def _has_ai_slots(snapshot: dict[str, object], step: int) -> bool:
    steps = snapshot["steps"]
    assert isinstance(steps, list)
    source = steps[step]
    return bool(ai_prompts(source["body_html"]) or ai_prompts(source["subject"]))


def write_ahead(
    now: datetime,
    *,
    clock: Clock,
    generator: TextGenerator | None,
    per_tick: int = PER_TICK,
    ahead: timedelta = AHEAD,
    scan: int = SCAN,
    budget: timedelta = BUDGET,
) -> int:
    """Write the AI text of emails coming due; how many emails needed the model."""
    if generator is None:
        return 0
    due_soon = (
        ScheduledEmail.objects.filter(
            state=EmailState.SCHEDULED,
            due_at__lte=now + ahead,
            enrollment__status=EnrollmentStatus.ACTIVE,
            # Only versions with an AI variable: without one the scan reads nothing.
            enrollment__version__has_ai_slots=True,
        )
        .select_related("enrollment__version", "enrollment__person", "mailbox__owner")
        .order_by("due_at", "pk")[:scan]
    )
    worked = 0
    for email in due_soon:
        if worked >= per_tick or clock.now() - now >= budget:
            break
        enrollment = email.enrollment
        version = enrollment.version
        snapshot = {"settings": version.settings, "steps": version.steps}
        if email.step >= len(version.steps) or not _has_ai_slots(snapshot, email.step):
            continue
        counted = _Counted(generator)
        texts = AiTexts(
            version_id=version.pk,
            person_id=enrollment.person_id,
            clock=clock,
            generator=counted,
            mode=Mode.WRITE,
        )
        data = {
            **recipient_data(enrollment.person, enrollment.email),
            "sender": dict(sender_values(sender_of(email.mailbox))),
        }
        try:
            texts.write_step(snapshot, email.step, data)
        except Exception:  # one recipient's text never stops the others or the sending
            log.exception("writing the AI text of email %s failed", email.pk)
        if counted.calls:
            worked += 1
    return worked
