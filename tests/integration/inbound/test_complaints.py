"""A spam complaint (an ARF feedback report read from the sender's inbox) ends the
recipient as *complained* and suppresses the address for the sender, as an unsubscribe
does; any other feedback report is only recorded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sequencer.crm.models import EmailAddress
from sequencer.mail.models import InboundMessage
from sequencer.sequences import enrollment, suppression
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import EnrollmentEvent, Suppression
from sequencer.sequences.stats import sequence_stats
from sequencer.sequences.timeline import timeline
from sequencer.workspace.models import Notification
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE
ADA = messages.ADA


def test_a_spam_complaint_exits_the_recipient_as_complained_and_suppresses_the_address(
    admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(ALICE, messages.spam_complaint(first.message_id))
    read_inbox(clock)

    stored = InboundMessage.objects.get(mailbox=mailbox, subject="FW: Hello Ada")
    assert (stored.kind, stored.enrollment_id) == ("complaint", enrolled.pk)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "complained")
    assert enrolled.emails.get(step=1).state == "cancelled"
    # The scope of an unsubscribe: this address, and every mailbox of its owner.
    row = Suppression.objects.get(recipient_email=ADA)
    assert (row.sender_email, row.member_id, row.reason) == (ALICE, admin.pk, "complained")
    assert row.source == f"complaint {stored.pk}"
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert event.kind == "complained"
    assert event.inbound_message_id == stored.pk
    assert {k: event.detail[k] for k in ("feedback_type", "source", "reporter", "matched_by")} == {
        "feedback_type": "abuse",
        "source": "arf",
        "reporter": "Provider-FBL/1.0",
        "matched_by": "message_id",
    }
    assert (event.detail["exited"], event.detail["suppressed"]) == (True, True)
    # Nothing more goes to Ada, and the sequence's figures and her timeline say why.
    clock.advance(timedelta(days=10))
    worker.tick()
    assert len(smtp_server.messages) == 1
    figures = sequence_stats(enrolled.sequence, 3)
    assert (figures.overall.complained, figures.steps[0].complained) == (1, 1)
    assert "Marked as spam" in [entry.summary for entry in timeline(enrolled)]


def test_a_later_enrollment_of_the_address_by_that_sender_is_refused(
    admin, publish, mailbox, person, clock, worker, dovecot, peer_mailbox
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.spam_complaint(sent_email(enrolled).message_id))
    read_inbox(clock)

    another = publish()
    [again] = enrollment.enroll(
        admin, another.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert not again.enrolled
    assert again.code == "unsubscribed"
    assert again.message == (
        f"{ADA} marked an email from {ALICE} as spam, so this sender does not email them again."
    )
    # Nor from another mailbox of the same member.
    second = peer_mailbox(admin, imap=False, email="alice.sales@example.test")
    [from_second] = enrollment.enroll(
        admin, another.pk, [Recipient(person.pk)], mailbox_id=second.pk, clock=clock
    ).outcomes
    assert (from_second.enrolled, from_second.code) == (False, "unsubscribed")


def test_a_complaint_without_the_message_id_is_matched_by_the_complained_about_address(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.spam_complaint(None, recipient=ADA.upper()))
    read_inbox(clock)

    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "complained")
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["matched_by"]) == ("complained", "complaint_recipient")
    assert suppression.is_suppressed(ALICE, ADA, member_id=admin.pk)


def test_a_complaint_about_someone_we_never_wrote_to_is_only_stored(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    dovecot.deliver(ALICE, messages.spam_complaint(None, recipient="stranger@elsewhere.test"))
    read_inbox(clock)

    stored = InboundMessage.objects.get(mailbox=mailbox, kind="complaint")
    assert stored.processed_at is not None and stored.enrollment_id is None
    enrolled.refresh_from_db()
    assert enrolled.status == "active"
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("feedback_type", ["auth-failure", "not-spam"])
def test_a_feedback_report_that_is_no_spam_complaint_is_only_recorded(
    feedback_type, admin, publish, mailbox, person, clock, worker, smtp_server, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(
        ALICE,
        messages.spam_complaint(
            first.message_id, feedback_type=feedback_type, subject="DMARC failure report"
        ),
    )
    read_inbox(clock)

    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("active", "")
    assert not Suppression.objects.exists()
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["feedback_type"], event.detail["exited"]) == (
        "feedback_report",
        feedback_type,
        False,
    )
    mailbox.refresh_from_db()
    assert mailbox.status == "active"
    assert not Notification.objects.exists()
    # Ada still gets the next email on time.
    clock.advance(timedelta(days=2))
    worker.tick()
    assert len(smtp_server.messages) == 2
    assert EmailAddress.objects.get(email=ADA).undeliverable_since is None


CORPUS = Path(__file__).resolve().parents[2] / "unit" / "inbound" / "corpus"


@pytest.mark.parametrize(
    ("name", "reported_id", "source"),
    [
        ("complaint_jmrp_outlook.eml", "<seq.3b0a77.step1@northwind.test>", "jmrp"),
        ("complaint_amazon_ses.eml", "<seq.7ea001.step2@northwind.test>", "ses"),
    ],
)
def test_microsofts_and_amazons_complaint_forms_act_as_an_arf_report_does(
    name, reported_id, source, admin, publish, mailbox, person, clock, worker, dovecot
):
    # The corpus's reports, about the email we really sent to Ada from Alice's mailbox.
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    raw = (CORPUS / name).read_bytes()
    raw = raw.replace(reported_id.encode(), sent_email(enrolled).message_id.encode())
    dovecot.deliver(ALICE, raw.replace(b"alice@northwind.test", ALICE.encode()))
    read_inbox(clock)

    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "complained")
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["source"], event.detail["matched_by"]) == (
        "complained",
        source,
        "message_id",
    )
    assert suppression.is_suppressed(ALICE, ADA, member_id=admin.pk)
