"""The scripted SMTP peer is a real server: these tests talk to it with plain smtplib."""

import base64
import json
import mailbox
import smtplib

import pytest

from tests.peers.smtp import DROP, ScriptedSMTPServer

MESSAGE = (
    b"From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n"
    b"Message-ID: <m1@x>\r\n\r\nbody\r\n"
)


def connect(server: ScriptedSMTPServer) -> smtplib.SMTP:
    client = smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=5)
    client.ehlo()
    return client


def test_it_keeps_the_envelope_and_the_exact_bytes_of_an_accepted_message(smtp_server):
    with connect(smtp_server) as client:
        client.sendmail("a@example.test", ["b@example.test"], MESSAGE)
    [received] = smtp_server.messages
    assert received.mail_from == "a@example.test"
    assert received.rcpt_tos == ["b@example.test"]
    assert received.data == MESSAGE
    assert received.message_id == "<m1@x>"


def test_it_also_writes_accepted_messages_to_its_maildir(tmp_path):
    with ScriptedSMTPServer(maildir=tmp_path / "Maildir") as server, connect(server) as client:
        client.sendmail("a@example.test", ["b@example.test"], MESSAGE)
    stored = list(mailbox.Maildir(tmp_path / "Maildir"))
    assert [m["Message-ID"] for m in stored] == ["<m1@x>"]


def test_a_scripted_recipient_really_gets_550_5_1_1(smtp_server):
    smtp_server.reply_to("nouser@example.test", "550 5.1.1 No such user", at="rcpt")
    with connect(smtp_server) as client:
        client.mail("a@example.test")
        assert client.rcpt("nouser@example.test") == (550, b"5.1.1 No such user")
        assert client.rcpt("b@example.test")[0] == 250


def test_queued_replies_answer_the_next_commands_once_and_in_order(smtp_server):
    smtp_server.queue("452 4.5.3 Too many recipients", "550 5.4.5 Daily limit", at="data")
    with connect(smtp_server) as client:
        for expected in (452, 550, 250):
            client.mail("a@example.test")
            client.rcpt("b@example.test")
            assert client.data(MESSAGE)[0] == expected
    assert len(smtp_server.messages) == 1


def test_a_421_reply_is_followed_by_the_server_closing_the_connection(smtp_server):
    smtp_server.queue("421 4.3.2 Shutting down", at="data")
    client = connect(smtp_server)
    client.mail("a@example.test")
    client.rcpt("b@example.test")
    assert client.data(MESSAGE)[0] == 421
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.noop()
    client.close()


def test_drop_keeps_the_message_but_closes_before_answering_the_final_dot(smtp_server):
    smtp_server.queue(DROP, at="data")
    client = connect(smtp_server)
    client.mail("a@example.test")
    client.rcpt("b@example.test")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.data(MESSAGE)
    client.close()
    assert [m.message_id for m in smtp_server.messages] == ["<m1@x>"]


def test_reset_forgets_messages_and_scripts(smtp_server):
    smtp_server.reply_to("b@example.test", "550 5.1.1 No", at="rcpt")
    smtp_server.reset()
    with connect(smtp_server) as client:
        client.sendmail("a@example.test", ["b@example.test"], MESSAGE)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_password_authentication_accepts_the_right_password_only(smtp_server, mechanism):
    with connect(smtp_server) as client:
        client.user, client.password = "alice", "secret"
        client.ehlo()
        assert client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))[0] == 235
        client.sendmail("a@example.test", ["b@example.test"], MESSAGE)
    assert smtp_server.messages[0].authenticated_as == "alice"
    with connect(smtp_server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as err:
        client.login("alice", "wrong")
    assert err.value.smtp_code == 535


def xoauth2(user: str, token: str) -> str:
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def test_xoauth2_accepts_a_known_token_for_its_user(smtp_server):
    with connect(smtp_server) as client:
        client.ehlo()
        code, _ = client.docmd("AUTH", "XOAUTH2 " + xoauth2("alice@example.test", "ya29.good"))
    assert code == 235


def test_xoauth2_follows_googles_flow_for_a_bad_token_334_json_then_535(smtp_server):
    with connect(smtp_server) as client:
        client.ehlo()
        code, challenge = client.docmd("AUTH", "XOAUTH2 " + xoauth2("alice@example.test", "bad"))
        assert code == 334
        assert json.loads(base64.b64decode(challenge))["status"] == "401"
        code, reply = client.docmd("")
    assert code == 535
    assert reply.startswith(b"5.7.8")


def test_every_server_gets_its_own_free_port():
    with ScriptedSMTPServer() as one, ScriptedSMTPServer() as two:
        assert one.port != two.port


def test_local_delivery_hands_only_mail_for_local_addresses_over_before_answering(smtp_server):
    delivered: list[tuple[str, bytes]] = []
    smtp_server.deliver_locally(
        {"Alice@example.test"}, lambda to, data: delivered.append((to, data))
    )
    with connect(smtp_server) as client:
        client.sendmail("a@example.test", ["alice@example.test", "b@example.test"], MESSAGE)
        assert delivered == [("alice@example.test", MESSAGE)]
    smtp_server.reset()
    with connect(smtp_server) as client:
        client.sendmail("a@example.test", ["alice@example.test"], MESSAGE)
    assert len(delivered) == 1  # reset turned local delivery off


def test_the_dovecot_delivery_fixture_puts_mail_for_alice_in_her_inbox(
    smtp_server, smtp_delivers_to_dovecot
):
    with connect(smtp_server) as client:
        client.sendmail("a@example.test", ["alice@example.test"], MESSAGE)
    [stored] = smtp_delivers_to_dovecot.messages("alice@example.test", "INBOX")
    assert b"Message-ID: <m1@x>" in stored
    assert smtp_delivers_to_dovecot.messages("bob@example.test", "INBOX") == []
