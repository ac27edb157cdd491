"""An unproven mailbox sends nothing: enrolling from it is refused with its name, and
emails already scheduled from it wait, with the reason, until its address is proven."""

from datetime import timedelta

import pytest

from sequencer.clock import system_clock
from sequencer.mail import proof
from sequencer.mail.models import Mailbox
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail

pytestmark = pytest.mark.django_db


def test_enrolling_from_an_unproven_mailbox_is_refused_naming_the_mailbox(
    api, admin, publish, peer_mailbox, person
):
    mailbox = peer_mailbox(admin, imap=False, proven=False)
    response = api.post(
        f"sequences/{publish().pk}/enrollments",
        {"sender": {"mailbox_id": mailbox.pk}, "recipients": [{"person_id": person.pk}]},
    )
    assert response.status_code == 400
    error = response.data["error"]
    assert (error["field"], error["code"]) == ("sender.mailbox_id", "mailbox_unproven")
    assert error["message"].startswith(
        "The mailbox alice@example.test cannot send yet: alice@example.test does not send "
        "until its address is proven"
    )
    assert not Enrollment.objects.exists()


def test_emails_of_a_mailbox_whose_proof_is_missing_wait_and_go_once_it_is_proven(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    [outcome] = enrollment.enroll(
        admin, publish().pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    # As after the upgrade that introduced proofs: an SMTP mailbox starts unproven.
    Mailbox.objects.filter(pk=mailbox.pk).update(address_proven_at=None, address_proof="")

    assert worker.tick().handed_over == 0

    assert smtp_server.messages == []
    [waiting] = ScheduledEmail.objects.filter(enrollment_id=outcome.enrollment_id)
    assert waiting.state == "scheduled"
    assert waiting.due_at == clock.now() + timedelta(hours=1)
    assert waiting.last_error.startswith(
        "alice@example.test does not send until its address is proven"
    )

    proof.vouch(admin, Mailbox.objects.get(pk=mailbox.pk), system_clock)
    clock.advance(timedelta(hours=1))
    assert worker.tick().handed_over == 1
    assert smtp_server.messages[0].rcpt_tos == ["ada@initech.test"]
