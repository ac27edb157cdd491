import random
from datetime import timedelta

import pytest

from sequencer.domain.pacing import earliest_send
from sequencer.engine.dispatch import _limits, _paced
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import ScheduledEmail
from tests.integration.engine.conftest import START, make_person

pytestmark = pytest.mark.django_db


def test_the_pacing_query_agrees_with_the_pure_rule_on_random_histories(
    admin, publish, mailbox, clock
):
    sequence = publish(steps=[(0, "Hi", "<p>x</p>")])
    people = [make_person(f"P{i}", f"p{i}@initech.test") for i in range(40)]
    enrollment.enroll(
        admin, sequence.pk, [Recipient(p.pk) for p in people], mailbox_id=mailbox.pk, clock=clock
    )
    rows = list(ScheduledEmail.objects.order_by("pk"))
    rng = random.Random(20261128)
    for _ in range(30):
        mailbox.per_hour = rng.randint(1, 8)
        mailbox.per_day = rng.randint(mailbox.per_hour, 20)
        mailbox.min_spacing_seconds = rng.choice([0, 60, 300, 900])
        mailbox.save()
        attempts = []
        for row in rows:
            # Some rows attempted in the last day, some older, some never.
            roll = rng.random()
            row.attempted_at = (
                None if roll < 0.3 else START - timedelta(minutes=rng.randint(0, 30 * 60))
            )
            if row.attempted_at and row.attempted_at > START - timedelta(hours=24):
                attempts.append(row.attempted_at)
        ScheduledEmail.objects.bulk_update(rows, ["attempted_at"])
        assert _paced(mailbox, START) == earliest_send(START, attempts, _limits(mailbox))
