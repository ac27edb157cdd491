"""The enrollment dry run answers exactly what enrolling would, and writes nothing."""

import pytest

from sequencer.clock import system_clock
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.sequences.suppression import suppress
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db


def test_the_dry_run_gives_the_same_answers_as_enrolling_without_writing_anything(
    admin, publish, mailbox, person
):
    sequence = publish()
    blocked = make_person("Blocked", "blocked@initech.test")
    suppress(mailbox.email, "blocked@initech.test", reason="unsubscribed", clock=system_clock)
    asked = [
        Recipient(person.pk),
        Recipient(blocked.pk),
        Recipient(person.pk),
        Recipient(987_654),
        Recipient(make_person("Eve", "eve@initech.test").pk, "other@x.test"),
    ]

    checked = enrollment.check(admin, sequence.pk, asked, mailbox_id=mailbox.pk, clock=system_clock)
    assert not Enrollment.objects.exists() and not ScheduledEmail.objects.exists()
    done = enrollment.enroll(admin, sequence.pk, asked, mailbox_id=mailbox.pk, clock=system_clock)

    assert [(o.code, o.message, o.email) for o in checked.outcomes] == [
        (o.code, o.message, o.email) for o in done.outcomes
    ]
    assert checked.outcomes[0].email == "ada@initech.test"
    assert checked.outcomes[0].enrollment_id is None and done.outcomes[0].enrolled
    assert checked.warnings == done.warnings
    again = enrollment.check(
        admin, sequence.pk, asked[:1], mailbox_id=mailbox.pk, clock=system_clock
    )
    assert again.outcomes[0].code == "already_enrolled"
