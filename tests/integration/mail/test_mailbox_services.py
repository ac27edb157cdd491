from datetime import timedelta

import pytest
from django.db import connection

from sequencer.clock import system_clock
from sequencer.domain.threading import make_message_id
from sequencer.mail import mailboxes
from sequencer.mail.compose import build_message
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.mail.providers.smtp_imap.replies import classify_smtp_reply
from sequencer.testing import FakeClock
from tests.peers.fixtures import mark_address_proven

pytestmark = pytest.mark.django_db


def raw_columns(mailbox_id: int) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT smtp_password, imap_password, oauth_tokens FROM mail_mailbox WHERE id = %s",
            [mailbox_id],
        )
        return cursor.fetchone()


def test_passwords_and_tokens_are_stored_only_as_ciphertext(admin):
    mailbox = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {
                "email": "alice@example.test",
                "smtp": {"host": "smtp.example.test", "username": "al", "password": "smtp-pw-123"},
                "imap": {"host": "imap.example.test", "password": "imap-pw-456"},
                "oauth": {"access_token": "ya29.access-789", "refresh_token": "1//refresh-000"},
            }
        ),
    )
    smtp_raw, imap_raw, oauth_raw = raw_columns(mailbox.pk)
    for raw, plaintext in [
        (smtp_raw, "smtp-pw-123"),
        (imap_raw, "imap-pw-456"),
        (oauth_raw, "ya29.access-789"),
        (oauth_raw, "1//refresh-000"),
    ]:
        assert raw and plaintext not in raw
        assert raw.startswith("gAAAAA")  # a Fernet token
    again = Mailbox.objects.get(pk=mailbox.pk)
    assert (again.smtp_password, again.imap_password) == ("smtp-pw-123", "imap-pw-456")
    assert again.oauth_tokens["refresh_token"] == "1//refresh-000"


def test_a_mailbox_without_secrets_stores_null(admin):
    mailbox = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {"email": "a@example.test", "smtp": {"host": "smtp.example.test"}}
        ),
    )
    assert raw_columns(mailbox.pk) == (None, None, None)


def test_only_one_default_mailbox_per_owner_is_possible_in_the_database(admin):
    from django.db import IntegrityError, transaction

    first = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {"email": "a@example.test", "smtp": {"host": "smtp.example.test"}}
        ),
    )
    second = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {"email": "b@example.test", "smtp": {"host": "smtp.example.test"}}
        ),
    )
    assert first.is_default and not second.is_default
    with pytest.raises(IntegrityError), transaction.atomic():
        Mailbox.objects.filter(pk=second.pk).update(is_default=True)


def test_a_quota_failure_pauses_the_mailbox_until_the_quota_resets(admin):
    clock = FakeClock()
    mailbox = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {"email": "a@example.test", "smtp": {"host": "smtp.example.test"}}
        ),
    )
    failure = classify_smtp_reply(
        550, "5.4.5 Daily user sending limit exceeded", stage="end_of_data"
    )
    assert isinstance(failure, MailboxFailure)
    mailboxes.record_mailbox_failure(mailbox, failure, clock=clock)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.PAUSED
    assert mailbox.paused_until == clock.now() + timedelta(hours=24)
    assert "5.4.5" in mailbox.status_reason
    mark_address_proven(mailbox)
    assert not mailboxes.can_send(mailbox, clock=clock)
    clock.advance(timedelta(hours=24))
    assert mailboxes.can_send(mailbox, clock=clock)


def test_an_auth_failure_disconnects_the_mailbox_until_a_passing_test(
    admin, peer_mailbox, smtp_server, dovecot
):
    mailbox = peer_mailbox(admin)
    failure = classify_smtp_reply(535, "5.7.8 Authentication credentials invalid", stage="auth")
    assert isinstance(failure, MailboxFailure)
    mailboxes.record_mailbox_failure(mailbox, failure, clock=system_clock)
    assert mailbox.status == MailboxStatus.DISCONNECTED
    assert not mailboxes.can_send(mailbox, clock=system_clock)
    assert "Disconnected" in mailboxes.mailbox_warnings(mailbox)[0]
    report = mailboxes.check_mailbox(mailbox, system_clock)
    assert report.ok
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.status_reason == ""


def test_the_provider_of_a_saved_mailbox_sends_and_finds_its_sent_copy(
    admin, peer_mailbox, smtp_server, dovecot
):
    mailbox = peer_mailbox(admin)
    provider = mailboxes.provider_for(mailbox, clock=system_clock)
    email = build_message(
        from_=(mailbox.display_name, mailbox.email),
        to=("Bob", "bob@prospect.test"),
        subject="Hello",
        html="<p>Hello</p>",
        date=FakeClock().now(),
        message_id=make_message_id(mailbox.email),
    )
    provider.send(email)
    assert smtp_server.messages[0].message_id == email["Message-ID"]
    assert provider.find_sent(email["Message-ID"]) is True
