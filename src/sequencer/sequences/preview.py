"""What a recipient will receive: each email rendered with their data, and when.

A preview never fails as a whole: an email that would not be sent is shown as far as it
can be, with ``problem`` saying why (an empty value, AI text not written yet, a template
that fails to render).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sequencer.crm.models import Person
from sequencer.domain.schedule import step_due
from sequencer.domain.sender import Sender
from sequencer.sequences.models import EmailState, Enrollment, SequenceVersion
from sequencer.sequences.rendering import (
    AiTextSource,
    MailboxLike,
    policy_for,
    recipient_zone,
    render_step,
)
from sequencer.sequences.templating import AiTextMissing, MissingVariable, RenderError

AI_TEXT_NOTE = "AI text not written yet: this email will wait until it is."


def ai_text_note(exc: AiTextMissing) -> str:
    """What a preview says about a slot without text: why, when a model was tried."""
    if exc.reason:
        return f"AI text could not be written: {exc.reason}. This email waits until it is."
    return AI_TEXT_NOTE


def fallback_note(reasons: list[str]) -> str | None:
    """What a preview says when a slot's fallback stands in for model text (it is what
    will be sent), with why; ``None`` when every slot has model text."""
    known = list(dict.fromkeys(r for r in reasons if r))
    if not reasons:
        return None
    why = f" ({'; '.join(known)})" if known else ""
    return f"AI text could not be written{why}, so the fallback you wrote is sent instead."


@dataclass(frozen=True)
class PreviewEmail:
    step: int
    send_at: datetime | None
    state: str  # sent, scheduled, or planned (not yet created)
    subject: str
    html: str
    text: str
    problem: str | None = None  # why this email would fail to send
    note: str | None = None  # what the recipient gets instead of model text, and why


def _render(
    version: SequenceVersion,
    step: int,
    person: Person,
    address: str,
    sender: Sender | MailboxLike,
    enrollment_id: int | None,
    first_subject: str | None,
    unsubscribe_url: str | None,
    ai_texts: AiTextSource | None,
) -> tuple[str, str, str, str | None]:
    render = partial(
        render_step,
        snapshot={"settings": version.settings, "steps": version.steps},
        step=step,
        person=person,
        address=address,
        sender=sender,
        enrollment_id=enrollment_id,
        first_subject=first_subject,
        unsubscribe_url=unsubscribe_url,
        preview=True,
        ai_texts=ai_texts,
    )
    try:
        rendered = render()
        return rendered.subject, rendered.html, rendered.text, None
    except (MissingVariable, AiTextMissing) as exc:
        # Show the email anyway, with the gap left empty, and say why it would not send.
        problem = ai_text_note(exc) if isinstance(exc, AiTextMissing) else str(exc)
    except RenderError as exc:
        problem = str(exc)
    try:
        rendered = render(strict=False)
    except RenderError:
        return "", "", "", problem
    return rendered.subject, rendered.html, rendered.text, problem


def preview_enrollment(
    enrollment: Enrollment,
    *,
    unsubscribe_url: str | None = None,
    ai_texts: AiTextSource | None = None,
) -> list[PreviewEmail]:
    """Each email of ``enrollment``, as sent or as it will be.

    ``ai_texts`` gives the AI slots their text: the stored text (what was sent), or
    text written now for emails still to come (see ``sequencer.ai.variables``).
    """
    version = enrollment.version
    rows = {e.step: e for e in enrollment.emails.exclude(state=EmailState.CANCELLED)}
    out: list[PreviewEmail] = []
    first_subject: str | None = None
    previous: datetime | None = None
    active = enrollment.status == "active"
    policy = policy_for(version.settings, enrollment.time_zone)
    for step in range(len(version.steps)):
        row = rows.get(step)
        sent = row is not None and row.state == EmailState.SENT
        subject, html, text, problem = _render(
            version,
            step,
            enrollment.person,
            enrollment.email,
            enrollment.mailbox,
            enrollment.pk,
            first_subject,
            unsubscribe_url,
            # An email sent shows the text it was sent with; none is written for it now.
            ai_texts.stored_only() if sent and ai_texts is not None else ai_texts,
        )
        if row is not None and sent:
            subject, when, state = row.subject or subject, row.sent_at, "sent"
        elif row is not None:
            when, state = row.due_at, row.state
        elif active and previous is not None:
            delay = version.steps[step]["delay_days"]
            when, state = step_due(previous, delay, policy), "planned"
        else:
            when, state = None, "planned"
        if step == 0:
            first_subject = subject
        previous = when
        note = fallback_note(ai_texts.fallback_reasons(step)) if ai_texts is not None else None
        out.append(PreviewEmail(step, when, state, subject, html, text, problem, note))
    return out


def preview_person(
    version: SequenceVersion,
    person: Person,
    address: str,
    sender: Sender | MailboxLike,
    now: datetime,
    *,
    unsubscribe_url: str | None = None,
    ai_texts: AiTextSource | None = None,
) -> list[PreviewEmail]:
    """The emails ``person`` would get if enrolled now from ``sender``.

    With ``ai_texts`` writing (``sequencer.ai.variables.Mode.WRITE``), AI text is
    written and stored here, so the emails sent after enrolling say what this showed.
    """
    policy = policy_for(version.settings, recipient_zone(version.settings, person))
    out: list[PreviewEmail] = []
    first_subject: str | None = None
    when = now
    for step, source in enumerate(version.steps):
        subject, html, text, problem = _render(
            version,
            step,
            person,
            address,
            sender,
            None,
            first_subject,
            unsubscribe_url,
            ai_texts,
        )
        if step == 0:
            first_subject = subject
        # Each step's base is the previous step's send (enrollment, for the first).
        when = step_due(when, source["delay_days"], policy)
        note = fallback_note(ai_texts.fallback_reasons(step)) if ai_texts is not None else None
        out.append(PreviewEmail(step, when, "planned", subject, html, text, problem, note))
    return out
