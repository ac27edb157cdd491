from datetime import timedelta

import pytest

from sequencer.clock import system_clock
from sequencer.domain.events import EventKind
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient, exit_enrollment
from sequencer.sequences.models import Suppression
from sequencer.sequences.suppression import suppress
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db


def test_stats_count_outcomes_against_the_last_email_sent(
    api, admin, publish, mailbox, clock, worker, smtp_server
):
    sequence = publish()
    people = [make_person(f"P{i}", f"p{i}@initech.test") for i in range(4)]
    outcomes = enrollment.enroll(
        admin, sequence.pk, [Recipient(p.pk) for p in people], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    worker.tick()  # four first emails
    exit_enrollment(outcomes[0].enrollment_id, EventKind.REPLIED, clock=clock)
    clock.advance(timedelta(days=2, minutes=1))
    worker.tick()  # three second emails
    exit_enrollment(outcomes[1].enrollment_id, EventKind.REPLIED, clock=clock)
    exit_enrollment(outcomes[2].enrollment_id, EventKind.UNSUBSCRIBED, clock=clock)
    exit_enrollment(outcomes[3].enrollment_id, EventKind.COMPLAINED, clock=clock)

    stats = api.get(f"sequences/{sequence.pk}/stats").data
    assert stats["enrolled"] == 4 and stats["emails_sent"] == 7
    first, second, third = stats["steps"]
    assert (first["sent"], first["replied"], first["reply_rate"]) == (4, 1, 0.25)
    assert (second["sent"], second["replied"], second["unsubscribed"]) == (3, 1, 1)
    assert (second["complained"], first["complained"]) == (1, 0)
    assert third["sent"] == 0 and third["reply_rate"] is None
    assert stats["overall"]["replied"] == 2 and stats["overall"]["reply_rate"] == 0.5
    assert stats["overall"]["complaint_rate"] == 0.25


def test_admins_see_and_lift_suppressions_with_an_audit_trail(api, api_as, make_member, mailbox):
    row = suppress(
        mailbox.email,
        "ada@initech.test",
        reason="unsubscribed",
        source="one-click",
        clock=system_clock,
    )
    listed = api.get("suppressions").data
    assert [s["recipient_email"] for s in listed["items"]] == ["ada@initech.test"]

    member = make_member()
    assert api_as(member).post(f"suppressions/{row.pk}/lift", {}).status_code == 403
    assert api_as(member).get("suppressions").data["count"] == 0  # not their sender

    lifted = api.post(f"suppressions/{row.pk}/lift", {"note": "asked us by phone"})
    assert lifted.status_code == 200 and lifted.data["lifted_at"]
    assert api.get("suppressions").data["count"] == 0
    trail = api.get(f"audit?target=suppression:{row.pk}").data
    assert trail[0]["action"] == "suppression.lifted"
    assert trail[0]["detail"]["note"] == "asked us by phone"
    assert Suppression.objects.get().lifted_by_id is not None


def test_a_lifted_suppression_allows_enrolling_again(api, admin, publish, mailbox, person, clock):
    sequence = publish()
    row = suppress(mailbox.email, "ada@initech.test", reason="unsubscribed", clock=system_clock)
    body = {"sender": {"mailbox_id": mailbox.pk}, "recipients": [{"person_id": person.pk}]}
    refused = api.post(f"sequences/{sequence.pk}/enrollments", body).data["results"][0]
    assert refused["reason"]["code"] == "unsubscribed"
    api.post(f"suppressions/{row.pk}/lift", {})
    assert (
        api.post(f"sequences/{sequence.pk}/enrollments", body).data["results"][0]["status"]
        == "enrolled"
    )
