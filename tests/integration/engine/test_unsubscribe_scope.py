"""An unsubscribe is from the person who sends: every mailbox of that member, delegated
sends from them included, and the address it came from; never other members' mailboxes."""

from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from django.test import Client

from sequencer.clock import system_clock
from sequencer.sequences import delegation, enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail, Suppression
from sequencer.sequences.suppression import suppress, unsubscribe_token

pytestmark = pytest.mark.django_db

ADA = "ada@initech.test"


@pytest.fixture
def ann(make_member):
    return make_member("ann@acme.test", name="Ann")


@pytest.fixture
def ben(make_member):
    return make_member("ben@acme.test", name="Ben")


@pytest.fixture
def cat(make_member):
    return make_member("cat@acme.test", name="Cat")


@pytest.fixture
def box(peer_mailbox):
    def make(owner, email):
        mailbox = peer_mailbox(owner, imap=False, email=email)
        mailbox.min_spacing_seconds = 0
        mailbox.save()
        return mailbox

    return make


def enroll(user, sequence, person, clock, **sender):
    [outcome] = enrollment.enroll(
        user, sequence.pk, [Recipient(person.pk)], clock=clock, **sender
    ).outcomes
    return outcome


def one_click(url):
    return Client(enforce_csrf_checks=True).post(
        urlsplit(url).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def sent_unsubscribe_url(received):
    header = message_from_bytes(received.data, policy=policy.default)["List-Unsubscribe"]
    return next(part.strip("<> ") for part in header.split(",") if "/u/" in part)


def test_unsubscribing_from_one_mailbox_blocks_the_members_other_mailboxes_and_delegated_sends(
    ann, ben, cat, box, publish, person, clock, worker, smtp_server
):
    first, second, cats = (
        box(ann, "ann@acme.test"),
        box(ann, "ann.sales@acme.test"),
        box(cat, "cat@acme.test"),
    )
    assert enroll(ann, publish(), person, clock, mailbox_id=first.pk).enrolled
    assert worker.tick().handed_over == 1
    [received] = smtp_server.messages

    assert one_click(sent_unsubscribe_url(received)).status_code == 200

    other_sequence = publish()
    refused = enroll(ann, other_sequence, person, clock, mailbox_id=second.pk)
    assert (refused.code, refused.message) == (
        "unsubscribed",
        f"{ADA} unsubscribed from emails sent by ann.sales@acme.test.",
    )
    delegation.set_own_delegation(
        ann, other_sequence.pk, enabled=True, mailbox_id=second.pk, clock=system_clock
    )
    delegated = enroll(ben, other_sequence, person, clock, member_id=ann.pk)
    assert delegated.code == "unsubscribed"
    assert enroll(cat, other_sequence, person, clock, mailbox_id=cats.pk).enrolled


def test_the_pre_send_check_stops_every_mailbox_of_the_member_but_not_other_members(
    ann, ben, cat, box, publish, person, clock, worker, smtp_server
):
    first, second, cats = (
        box(ann, "ann@acme.test"),
        box(ann, "ann.sales@acme.test"),
        box(cat, "cat@acme.test"),
    )
    own, delegated_sequence, others = publish(), publish(), publish()
    delegation.set_own_delegation(
        ann, delegated_sequence.pk, enabled=True, mailbox_id=second.pk, clock=system_clock
    )
    from_second = enroll(ann, own, person, clock, mailbox_id=second.pk)
    delegated = enroll(ben, delegated_sequence, person, clock, member_id=ann.pk)
    from_cat = enroll(cat, others, person, clock, mailbox_id=cats.pk)
    assert from_second.enrolled and delegated.enrolled and from_cat.enrolled

    # A stop request that reached ann's first mailbox (an inbound mailto, say): recorded
    # for her, without ending the other enrollments there and then.
    suppress(first.email, ADA, reason="unsubscribed", member_id=ann.pk, clock=clock)
    worker.tick()

    assert [m.data.count(b"From: Alice <cat@acme.test>") for m in smtp_server.messages] == [1]
    for outcome in (from_second, delegated):
        stopped = Enrollment.objects.get(pk=outcome.enrollment_id)
        assert (stopped.status, stopped.exit_reason) == ("exited", "unsubscribed")
        assert {e.state for e in stopped.emails.all()} == {"cancelled"}
    assert Enrollment.objects.get(pk=from_cat.enrollment_id).status == "active"


def test_the_link_ends_the_members_open_enrollments_from_every_mailbox_at_once(
    ann, cat, box, publish, person, clock, worker, smtp_server
):
    first, second, cats = (
        box(ann, "ann@acme.test"),
        box(ann, "ann.sales@acme.test"),
        box(cat, "cat@acme.test"),
    )
    assert enroll(ann, publish(), person, clock, mailbox_id=first.pk).enrolled
    from_second = enroll(ann, publish(), person, clock, mailbox_id=second.pk)
    from_cat = enroll(cat, publish(), person, clock, mailbox_id=cats.pk)
    worker.tick()
    url = next(
        sent_unsubscribe_url(m) for m in smtp_server.messages if b"<ann@acme.test>" in m.data
    )

    assert one_click(url).status_code == 200

    ended = Enrollment.objects.get(pk=from_second.enrollment_id)
    assert (ended.status, ended.exit_reason) == ("exited", "unsubscribed")
    assert Enrollment.objects.get(pk=from_cat.enrollment_id).status == "active"
    row = Suppression.objects.get()
    assert (row.sender_email, row.recipient_email, row.member_id) == (first.email, ADA, ann.pk)


def test_a_link_issued_before_members_were_in_the_token_still_unsubscribes_from_the_member(
    ann, box, publish, person, clock
):
    first, second = box(ann, "ann@acme.test"), box(ann, "ann.sales@acme.test")
    outcome = enroll(ann, publish(), person, clock, mailbox_id=first.pk)
    # The token format of emails already sent: sender address, recipient, enrollment.
    old_token = unsubscribe_token(first.email, ADA, outcome.enrollment_id)

    assert Client().post(f"/u/{old_token}").status_code == 200

    assert Enrollment.objects.get(pk=outcome.enrollment_id).exit_reason == "unsubscribed"
    assert enroll(ann, publish(), person, clock, mailbox_id=second.pk).code == "unsubscribed"


def test_the_per_address_block_stays_for_another_member_sharing_the_address(
    ann, cat, box, publish, person, clock
):
    anns = box(ann, "team@acme.test")
    cats_shared, cats_own = box(cat, "team@acme.test"), box(cat, "cat@acme.test")
    outcome = enroll(ann, publish(), person, clock, mailbox_id=anns.pk)

    token = unsubscribe_token(anns.email, ADA, outcome.enrollment_id)
    assert Client().post(f"/u/{token}").status_code == 200

    assert enroll(cat, publish(), person, clock, mailbox_id=cats_shared.pk).code == "unsubscribed"
    assert enroll(cat, publish(), person, clock, mailbox_id=cats_own.pk).enrolled


def test_a_deactivated_members_mailbox_keeps_its_emails_waiting_until_reactivated(
    ann, box, publish, person, clock, worker, smtp_server
):
    mailbox = box(ann, "ann@acme.test")
    outcome = enroll(ann, publish(), person, clock, mailbox_id=mailbox.pk)
    ann.is_active = False
    ann.save(update_fields=["is_active"])

    assert worker.tick().handed_over == 0

    assert smtp_server.messages == []
    [waiting] = ScheduledEmail.objects.filter(enrollment_id=outcome.enrollment_id)
    assert waiting.state == "scheduled"
    assert waiting.due_at == clock.now() + timedelta(hours=1)
    assert "ann@acme.test" in waiting.last_error and "deactivated" in waiting.last_error
    assert Enrollment.objects.get(pk=outcome.enrollment_id).status == "active"

    ann.is_active = True
    ann.save(update_fields=["is_active"])
    clock.advance(timedelta(hours=1))
    assert worker.tick().handed_over == 1
    assert smtp_server.messages[0].rcpt_tos == [ADA]
