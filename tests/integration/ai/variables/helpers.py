"""Sequences with AI slots, and the preview a member sees before enrolling."""

from __future__ import annotations

from typing import Any

from sequencer.ai.variables import for_preview
from sequencer.crm.models import Person
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, Sequence, SequenceVersion
from sequencer.sequences.preview import PreviewEmail, preview_person
from sequencer.testing import FakeClock

SLOT = "{% ai %}One sentence about {{ company.name }}{% endai %}"
WITH_FALLBACK = '{% ai fallback: "I hope the quarter is going well." %}A line for them{% endai %}'


def one_step(body: str = f"<p>Hi {{{{ person.first_name }}}},</p><p>{SLOT}</p><p>Thanks</p>"):
    return [(0, "Hello {{ person.first_name }}", body)]


def version_of(sequence: Sequence) -> SequenceVersion:
    return sequence.versions.order_by("-number").first()


def preview(sequence: Sequence, person: Person, mailbox: Any, clock: FakeClock) -> PreviewEmail:
    """The first email as the Enroll dialog previews it (writing AI text if missing)."""
    version = version_of(sequence)
    ai_texts = for_preview(version_id=version.pk, person_id=person.pk, clock=clock)
    emails = preview_person(
        version, person, person.primary_email, mailbox, clock.now(), ai_texts=ai_texts
    )
    return emails[0]


def enroll(admin: Any, sequence: Sequence, mailbox: Any, person: Person, clock: FakeClock):
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)
