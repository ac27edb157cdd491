"""What a recipient will receive: each email rendered with their data, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sequencer.crm.models import Person
from sequencer.mail.models import Mailbox
from sequencer.sequences.enrollment import first_due, next_step_due
from sequencer.sequences.models import EmailState, Enrollment, SequenceVersion
from sequencer.sequences.rendering import recipient_zone, render_step
from sequencer.sequences.templating import MissingVariable


@dataclass(frozen=True)
class PreviewEmail:
    step: int
    send_at: datetime | None
    state: str  # sent, scheduled, or planned (not yet created)
    subject: str
    html: str
    text: str
    problem: str | None = None  # why this email would fail to send


def _render(
    version: SequenceVersion,
    step: int,
    person: Person,
    address: str,
    mailbox: Mailbox,
    enrollment_id: int | None,
    first_subject: str | None,
) -> tuple[str, str, str, str | None]:
    render = partial(
        render_step,
        snapshot={"settings": version.settings, "steps": version.steps},
        step=step,
        person=person,
        address=address,
        mailbox=mailbox,
        enrollment_id=enrollment_id,
        first_subject=first_subject,
        preview=True,
    )
    try:
        rendered = render()
        return rendered.subject, rendered.html, rendered.text, None
    except MissingVariable as exc:
        # Show the email anyway, with the gap left empty, and say why it would not send.
        rendered = render(strict=False)
        return rendered.subject, rendered.html, rendered.text, str(exc)


def preview_enrollment(enrollment: Enrollment) -> list[PreviewEmail]:
    version = enrollment.version
    rows = {e.step: e for e in enrollment.emails.exclude(state=EmailState.CANCELLED)}
    out: list[PreviewEmail] = []
    first_subject: str | None = None
    previous: datetime | None = None
    active = enrollment.status == "active"
    for step in range(len(version.steps)):
        row = rows.get(step)
        subject, html, text, problem = _render(
            version,
            step,
            enrollment.person,
            enrollment.email,
            enrollment.mailbox,
            enrollment.pk,
            first_subject,
        )
        if row is not None and row.state == EmailState.SENT:
            subject, when, state = row.subject or subject, row.sent_at, "sent"
        elif row is not None:
            when, state = row.due_at, row.state
        elif active and previous is not None:
            when, state = next_step_due(enrollment, step, previous, previous), "planned"
        else:
            when, state = None, "planned"
        if step == 0:
            first_subject = subject
        previous = when
        out.append(PreviewEmail(step, when, state, subject, html, text, problem))
    return out


def preview_person(
    version: SequenceVersion, person: Person, address: str, mailbox: Mailbox, now: datetime
) -> list[PreviewEmail]:
    """The emails ``person`` would get if enrolled now."""
    zone = recipient_zone(version.settings, person)
    out: list[PreviewEmail] = []
    first_subject: str | None = None
    when: datetime | None = None
    for step, source in enumerate(version.steps):
        subject, html, text, problem = _render(
            version, step, person, address, mailbox, None, first_subject
        )
        if step == 0:
            first_subject = subject
            when = first_due(now, source["delay_days"], version.settings, zone)
        else:
            assert when is not None
            probe = Enrollment(version=version, time_zone=zone)
            when = next_step_due(probe, step, when, when)
        out.append(PreviewEmail(step, when, "planned", subject, html, text, problem))
    return out
