"""With SEQUENCER_BLOCK_PRIVATE_HOSTS on, a mailbox cannot make the server connect to
loopback or private addresses: not in the connection test, not when sending or reading."""

from datetime import UTC, datetime

import pytest

from sequencer.clock import system_clock
from sequencer.domain.threading import make_message_id
from sequencer.mail import mailboxes
from sequencer.mail.compose import build_message
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.mail.sync import imap as imap_sync
from sequencer.netguard import BlockedHost
from tests.integration.mail.test_mailbox_api import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocking(settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = True


def test_the_connection_test_refuses_a_loopback_smtp_and_imap_server_naming_the_setting(
    api, smtp_server, dovecot, blocking
):
    created = api.post("mailboxes", body(smtp_server, dovecot)).data
    smtp_server.reset()

    result = api.post(f"mailboxes/{created['id']}/test")

    assert result.status_code == 200
    for kind in ("smtp", "imap"):
        assert result.data[kind]["ok"] is False
        assert result.data[kind]["message"].startswith("127.0.0.1 is a loopback")
        assert "SEQUENCER_BLOCK_PRIVATE_HOSTS" in result.data[kind]["message"]


def test_sending_from_a_mailbox_on_a_private_host_stops_the_mailbox(api, smtp_server, blocking):
    created = api.post("mailboxes", body(smtp_server)).data
    mailbox = Mailbox.objects.get(pk=created["id"])
    message = build_message(
        from_=("Alice", mailbox.email),
        to=("Bob", "bob@prospect.test"),
        subject="Hello",
        html="<p>Hello</p>",
        date=datetime.now(UTC),
        message_id=make_message_id(mailbox.email),
    )
    with pytest.raises(MailboxFailure) as failed:
        mailboxes.provider_for(mailbox, clock=system_clock).send(message)
    # A person must change the host: the engine disconnects the mailbox, never retries.
    assert failed.value.problem == "connection"
    assert smtp_server.messages == []


def test_reading_replies_from_a_private_imap_host_is_refused(api, smtp_server, dovecot, blocking):
    created = api.post("mailboxes", body(smtp_server, dovecot)).data
    with pytest.raises(BlockedHost):
        imap_sync.connect(Mailbox.objects.get(pk=created["id"]))


def test_with_the_setting_off_local_servers_still_work(api, smtp_server, dovecot, settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = False
    created = api.post("mailboxes", body(smtp_server, dovecot)).data
    result = api.post(f"mailboxes/{created['id']}/test").data
    assert result["smtp"]["ok"] is True
    assert result["imap"]["ok"] is True
