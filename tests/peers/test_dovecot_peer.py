"""The Dovecot peer: a real IMAP/LMTP/submission server, started and stopped by the tests."""

import smtplib
import socket

import imapclient
import pytest
from imapclient.exceptions import LoginError
from imapclient.imapclient import SENT

from tests.peers.dovecot import Dovecot, find_dovecot

MESSAGE = (
    b"From: x@else.test\r\nTo: alice@example.test\r\nSubject: hi\r\n"
    b"Message-ID: <in1@else.test>\r\n\r\nhello\r\n"
)


def test_lmtp_delivers_into_the_users_inbox(dovecot):
    dovecot.deliver("alice@example.test", MESSAGE)
    [stored] = dovecot.messages("alice@example.test", "INBOX")
    assert b"Message-ID: <in1@else.test>" in stored


def test_a_wrong_password_is_refused(dovecot):
    client = imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5)
    with pytest.raises(LoginError):
        client.login("alice@example.test", "wrong")
    client.shutdown()


def test_xoauth2_logs_in_with_a_token_the_token_info_stand_in_knows(dovecot):
    client = imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5)
    client.oauth2_login("alice@example.test", "ya29.good")
    client.logout()
    client = imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5)
    with pytest.raises(LoginError):
        client.oauth2_login("alice@example.test", "ya29.bad")
    client.shutdown()


def test_the_sent_folders_are_marked_with_the_special_use_attribute(dovecot):
    with dovecot.imap("alice@example.test") as client:
        assert client.find_special_folder(SENT) == "Sent"
    with dovecot.imap("carol@example.test") as client:
        flags = {name: f for f, _, name in client.list_folders()}
        assert SENT in flags["Sent Items"]
    with dovecot.imap("bob@example.test") as client:
        assert client.find_special_folder(SENT) is None


def test_submission_relays_to_the_smtp_peer(dovecot, smtp_server):
    with smtplib.SMTP(
        dovecot.host, dovecot.submission_port, local_hostname="client.test", timeout=5
    ) as client:
        client.login("alice@example.test", "secret")
        client.sendmail("alice@example.test", ["zoe@else.test"], MESSAGE)
    [relayed] = smtp_server.wait_for(1)
    assert relayed.rcpt_tos == ["zoe@else.test"]
    assert relayed.message_id == "<in1@else.test>"


def test_the_fixture_empties_folders_between_tests_part_one(dovecot):
    dovecot.deliver("alice@example.test", MESSAGE)
    with dovecot.imap("bob@example.test") as client:
        client.create_folder("Leftover")


def test_the_fixture_empties_folders_between_tests_part_two(dovecot):
    assert dovecot.messages("alice@example.test", "INBOX") == []
    with dovecot.imap("bob@example.test") as client:
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]


@pytest.mark.skipif(find_dovecot() is None, reason="Dovecot is not installed")
def test_stopping_by_pid_frees_the_ports_and_removes_the_directory(smtp_server_session):
    server = Dovecot(users={"dan@example.test": "pw"}, relay_port=smtp_server_session.port)
    server.start()
    root, port = server.root, server.imap_port
    with server.imap("dan@example.test") as client:
        assert client.list_folders()
    server.stop()
    assert not root.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
