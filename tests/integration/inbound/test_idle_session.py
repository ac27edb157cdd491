"""An IDLE session against the real Dovecot, run in the test's own thread (so it uses the
test's database); a timer thread delivers mail over LMTP and ends the session."""

from __future__ import annotations

import threading

import imapclient
import pytest

from sequencer.engine.worker import inbound_handler
from sequencer.mail.models import SyncCursor
from sequencer.mail.sync.imap import IdleSession
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, sent_email

pytestmark = pytest.mark.django_db

ALICE = messages.ALICE


def run_session(mailbox, clock, dovecot, raw, **options):
    stop = threading.Event()
    session = IdleSession(
        mailbox.pk,
        owner="idle-owner",
        stop=stop,
        clock=clock,
        act=inbound_handler(clock),
        **options,
    )

    def deliver_when_waiting():
        if session.idling.wait(10):
            dovecot.deliver(ALICE, raw)
        threading.Timer(2.0, stop.set).start()

    threading.Thread(target=deliver_when_waiting, daemon=True).start()
    session.run()
    return session


def test_an_idle_session_reads_a_reply_as_it_arrives(
    admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    run_session(
        mailbox,
        clock,
        dovecot,
        messages.reply(sent_email(enrolled).message_id),
        check_seconds=0.1,
        reissue_seconds=0.3,  # IDLE is re-issued several times meanwhile
    )
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    cursor = SyncCursor.objects.get(mailbox=mailbox, folder="INBOX")
    assert (cursor.lease_owner, cursor.lease_until) == ("", None)  # given back at the end


def test_without_idle_the_session_polls(
    admin, publish, mailbox, person, clock, worker, dovecot, monkeypatch
):
    real = imapclient.IMAPClient.has_capability
    monkeypatch.setattr(
        imapclient.IMAPClient,
        "has_capability",
        lambda self, name: False if name.upper() == "IDLE" else real(self, name),
    )
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    run_session(
        mailbox,
        clock,
        dovecot,
        messages.reply(sent_email(enrolled).message_id),
        poll_seconds=0.2,
    )
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"


def test_a_session_does_not_start_while_another_worker_holds_the_mailbox(
    admin, mailbox, clock, dovecot
):
    from sequencer.mail.sync import leases

    leases.acquire(mailbox.pk, "someone-else", clock.now())
    session = IdleSession(
        mailbox.pk,
        owner="idle-owner",
        stop=threading.Event(),
        clock=clock,
        act=inbound_handler(clock),
    )
    session.run()  # returns at once
    assert SyncCursor.objects.get(mailbox=mailbox).lease_owner == "someone-else"
