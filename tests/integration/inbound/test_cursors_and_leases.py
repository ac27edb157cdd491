"""The IMAP cursor across a UIDVALIDITY change, and the per-mailbox lease."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sequencer.engine.worker import inbound_handler
from sequencer.mail import inbound_store
from sequencer.mail.models import InboundMessage, SyncCursor
from sequencer.mail.sync import imap, leases, runner
from sequencer.sequences.models import EnrollmentEvent
from tests.integration.engine.conftest import make_person
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE
FOLDER = "Replies"


@pytest.fixture
def ingested(monkeypatch):
    """The Message-IDs of every message handed to ingest (downloaded and looked at)."""
    seen: list[str] = []
    real = inbound_store.ingest

    def spy(mailbox, raw, **kwargs):
        stored = real(mailbox, raw, **kwargs)
        seen.append(messages.message_id_of(raw) if b"Message-ID: " in raw else "")
        return stored

    monkeypatch.setattr(inbound_store, "ingest", spy)
    return seen


def test_a_new_uidvalidity_neither_reprocesses_nor_loses_mail(
    admin, publish, mailbox, clock, worker, dovecot, ingested
):
    sequence = publish()
    ada = enroll_one(admin, sequence, mailbox, make_person("Ada", "ada@initech.test"), clock)
    bob = enroll_one(admin, sequence, mailbox, make_person("Bob", "bob@initech.test"), clock)
    worker.tick()
    ada_reply = messages.reply(sent_email(ada).message_id)
    bob_reply = messages.reply(
        sent_email(bob).message_id, sender="Bob <bob@initech.test>", subject="Re: Hello Bob"
    )
    with dovecot.imap(ALICE) as client:
        client.create_folder(FOLDER)
        client.append(FOLDER, ada_reply)
        before = client.select_folder(FOLDER)[b"UIDVALIDITY"]
    assert (
        imap.sync_once(
            mailbox, owner="reader", clock=clock, act=inbound_handler(clock), folder=FOLDER
        )
        == 1
    )
    cursor = SyncCursor.objects.get(mailbox=mailbox, folder=FOLDER)
    assert (cursor.uidvalidity, cursor.last_uid) == (before, 1)

    # The folder is deleted and made again: the server numbers everything anew, and
    # the old message comes back with a new UID, next to one that arrived meanwhile.
    with dovecot.imap(ALICE) as client:
        client.delete_folder(FOLDER)
        client.create_folder(FOLDER)
        client.append(FOLDER, b"Subject: unrelated\r\nFrom: x@y.test\r\n\r\nhello\r\n")
        client.append(FOLDER, bob_reply)
        client.append(FOLDER, ada_reply)
        after = client.select_folder(FOLDER)[b"UIDVALIDITY"]
    assert after != before
    clock.advance(timedelta(minutes=5))
    ingested.clear()
    assert (
        imap.sync_once(
            mailbox, owner="reader", clock=clock, act=inbound_handler(clock), folder=FOLDER
        )
        == 2
    )

    # Ada's reply was recognised by its Message-ID and not even downloaded again.
    ada_id = messages.message_id_of(ada_reply)
    assert ada_id not in ingested
    assert messages.message_id_of(bob_reply) in ingested
    cursor.refresh_from_db()
    assert (cursor.uidvalidity, cursor.last_uid) == (after, 3)
    assert InboundMessage.objects.filter(message_id=ada_id).count() == 1
    assert EnrollmentEvent.objects.filter(enrollment=ada).count() == 1
    for enrolled in (ada, bob):
        enrolled.refresh_from_db()
        assert enrolled.exit_reason == "replied"

    # And the cursor goes on from there under the new UIDVALIDITY.
    with dovecot.imap(ALICE) as client:
        client.append(FOLDER, messages.reply(None, subject="Later", sender="c@initech.test"))
    ingested.clear()
    assert (
        imap.sync_once(
            mailbox, owner="reader", clock=clock, act=inbound_handler(clock), folder=FOLDER
        )
        == 1
    )
    assert len(ingested) == 1
    cursor.refresh_from_db()
    assert cursor.last_uid == 4


def test_a_mailbox_leased_by_one_reader_is_left_alone_by_the_others(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()  # the worker's own tick read the (empty) inbox and let the lease go
    dovecot.deliver(ALICE, messages.reply(sent_email(enrolled).message_id))

    held = leases.acquire(mailbox.pk, "reader-a", clock.now())
    assert held is not None
    assert leases.acquire(mailbox.pk, "reader-b", clock.now()) is None
    assert read_inbox(clock, owner="reader-b") == 0
    assert (
        imap.sync_once(mailbox, owner="reader-b", clock=clock, act=inbound_handler(clock)) is None
    )
    enrolled.refresh_from_db()
    assert enrolled.status == "active"

    # reader-a stalls past its lease: reader-b takes over and reads the reply...
    clock.advance(leases.DEFAULT_TTL + timedelta(seconds=1))
    assert read_inbox(clock, owner="reader-b") == 1
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    # ...and reader-a, waking up, can no longer move the cursor.
    leases.acquire(mailbox.pk, "reader-b", clock.now())
    with pytest.raises(leases.LeaseLost):
        leases.save_cursor(held.pk, "reader-a", last_uid=0)
    assert not leases.renew(held.pk, "reader-a", clock.now())


def test_a_lease_is_given_back_after_each_tick_and_taken_again_after_the_interval(
    admin, mailbox, clock, dovecot
):
    assert (
        runner.sync_mailboxes(clock.now(), owner="w1", clock=clock, act=inbound_handler(clock)) == 1
    )
    cursor = SyncCursor.objects.get(mailbox=mailbox, folder="INBOX")
    assert (cursor.lease_owner, cursor.lease_until, cursor.synced_at) == ("", None, clock.now())
    # Not again before the interval, by anyone.
    assert (
        runner.sync_mailboxes(clock.now(), owner="w2", clock=clock, act=inbound_handler(clock)) == 0
    )
    # Each mailbox's turn comes once per interval, at a moment of its own within it
    # (sequencer.domain.poll_spread): at most one and a half intervals after this read.
    clock.advance(runner.DEFAULT_INTERVAL * 3 / 2)
    assert (
        runner.sync_mailboxes(clock.now(), owner="w2", clock=clock, act=inbound_handler(clock)) == 1
    )
