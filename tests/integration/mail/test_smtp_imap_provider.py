"""The SMTP+IMAP provider against real peers: aiosmtpd (scripted) and Dovecot."""

from datetime import UTC, datetime

import pytest

from sequencer.domain.threading import make_message_id
from sequencer.mail.compose import build_message, wire_bytes
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.mail.providers.smtp_imap import ServerSettings, SmtpImapProvider
from tests.peers.smtp import DROP, HANG

ALICE = "alice@example.test"


def message(to="bob@prospect.test", **overrides):
    args = {
        "from_": ("Alice", ALICE),
        "to": ("Bob", to),
        "subject": "Quick question",
        "html": "<p>Hi Bob,</p>\n.\n<p>.a line starting with a dot</p>",
        "date": datetime(2026, 3, 6, 16, 30, tzinfo=UTC),
        "message_id": make_message_id(ALICE),
    }
    return build_message(**{**args, **overrides})


def test_a_sent_message_arrives_byte_for_byte_with_its_message_id(peer_provider, smtp_server):
    email = message()
    result = peer_provider(imap=False).send(email)
    [received] = smtp_server.messages
    assert received.data == wire_bytes(email)
    assert received.message_id == email["Message-ID"]
    assert received.mail_from == ALICE
    assert received.rcpt_tos == ["bob@prospect.test"]
    assert received.authenticated_as == "alice"
    assert result.server_reply.startswith("250")


def test_an_encoded_line_break_in_names_and_subject_reaches_the_server_as_one_rcpt(
    peer_provider, smtp_server
):
    exploit = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?="
    email = build_message(
        from_=(exploit, ALICE),
        to=(exploit, "bob@prospect.test"),
        subject=f"Hi {exploit}",
        html="<p>Hi Bob</p>",
        date=datetime(2026, 3, 6, 16, 30, tzinfo=UTC),
        message_id=make_message_id(ALICE),
    )
    peer_provider(imap=False).send(email)
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["bob@prospect.test"]
    head = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"evil.test" not in head  # the payload travels encoded, never as a header
    assert [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1] != b" "] == [
        b"From",
        b"To",
        b"Subject",
        b"Date",
        b"Message-ID",
        b"MIME-Version",
        b"Content-Type",
    ]


def test_a_message_whose_bytes_would_carry_an_extra_header_is_refused_unsent(
    peer_provider, smtp_server
):
    email = message()
    email.set_raw("X-Note", "fine\r\nBcc: x@evil.test")
    with pytest.raises(MessageRejected, match="Bcc"):
        peer_provider(imap=False).send(email)
    assert smtp_server.messages == []


def test_without_credentials_it_sends_without_auth(peer_provider, smtp_server):
    peer_provider(imap=False, password=None).send(message())
    assert smtp_server.messages[0].authenticated_as is None


def test_cc_and_bcc_are_recipients_but_bcc_is_not_in_the_bytes(peer_provider, smtp_server):
    email = message()
    email["Cc"] = "carl@prospect.test"
    email["Bcc"] = "hidden@example.test"
    peer_provider(imap=False).send(email)
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["bob@prospect.test", "carl@prospect.test", "hidden@example.test"]
    assert b"hidden@example.test" not in received.data


def test_work_lent_to_the_servers_waits_runs_once_per_command_and_the_message_arrives_intact(
    peer_provider, smtp_server
):
    email = message()
    email["Cc"] = "carl@prospect.test"
    lent = []
    peer_provider(imap=False).send(email, meanwhile=lambda: lent.append(len(lent)))
    # MAIL, RCPT for each of the two recipients, DATA and the final dot: five waits.
    assert lent == [0, 1, 2, 3, 4]
    [received] = smtp_server.messages
    assert received.data == wire_bytes(email)
    assert received.rcpt_tos == ["bob@prospect.test", "carl@prospect.test"]


def test_a_refused_recipient_ends_the_lent_work_with_the_transaction(peer_provider, smtp_server):
    smtp_server.reply_to("bob@prospect.test", "550 5.1.1 No such user here", at="rcpt")
    lent = []
    with pytest.raises(RecipientRejected):
        peer_provider(imap=False).send(message(), meanwhile=lambda: lent.append(1))
    assert lent == [1, 1]  # the waits for MAIL and RCPT, none after the refusal
    assert smtp_server.messages == []


def test_the_sent_copy_lands_in_the_sent_folder_marked_seen(peer_provider, dovecot):
    email = message()
    peer_provider().send(email)
    with dovecot.imap(ALICE) as client:
        client.select_folder("Sent", readonly=True)
        [uid] = client.search("ALL")
        fetched = client.fetch([uid], ["FLAGS", "BODY.PEEK[]"])[uid]
    assert b"\\Seen" in fetched[b"FLAGS"]
    assert fetched[b"BODY[]"] == wire_bytes(email)


def test_find_sent_finds_a_sent_message_and_not_an_unknown_one(peer_provider, dovecot):
    provider = peer_provider()
    email = message()
    provider.send(email)
    assert provider.find_sent(email["Message-ID"]) is True
    assert provider.find_sent(email["Message-ID"].strip("<>")) is True
    assert provider.find_sent(make_message_id(ALICE)) is False


def test_find_sent_cannot_search_without_imap(peer_provider):
    assert peer_provider(imap=False).find_sent("<x@example.test>") is None


def test_a_missing_sent_folder_is_created_on_first_append(peer_provider, dovecot):
    provider = peer_provider(imap_user="bob@example.test")
    email = message()
    provider.send(email)
    assert len(dovecot.messages("bob@example.test", "Sent")) == 1
    assert provider.find_sent(email["Message-ID"]) is True


def test_a_failing_append_does_not_fail_the_send(peer_provider, smtp_server, dovecot, caplog):
    peer_provider(imap_password="wrong").send(message())
    assert len(smtp_server.messages) == 1
    assert "could not file the copy" in caplog.text


def test_sending_through_dovecot_submission_relays_and_files_the_copy(dovecot, smtp_server):
    settings = ServerSettings(dovecot.host, dovecot.submission_port, "none", ALICE, "secret")
    imap = ServerSettings(dovecot.host, dovecot.imap_port, "none", ALICE, "secret")
    provider = SmtpImapProvider(email=ALICE, smtp=settings, imap=imap, timeout=5)
    email = message()
    provider.send(email)
    [relayed] = smtp_server.wait_for(1)
    assert relayed.message_id == email["Message-ID"]
    assert provider.find_sent(email["Message-ID"]) is True


def test_xoauth2_sends_and_searches_with_an_access_token(dovecot, smtp_server):
    provider = SmtpImapProvider(
        email=ALICE,
        smtp=ServerSettings(smtp_server.host, smtp_server.port, "none"),
        imap=ServerSettings(dovecot.host, dovecot.imap_port, "none", ALICE),
        access_token="ya29.good",
        timeout=5,
    )
    email = message()
    provider.send(email)
    assert smtp_server.messages[0].authenticated_as == ALICE
    assert provider.find_sent(email["Message-ID"]) is True


def test_a_bad_access_token_is_a_mailbox_failure(smtp_server):
    provider = SmtpImapProvider(
        email=ALICE,
        smtp=ServerSettings(smtp_server.host, smtp_server.port, "none"),
        access_token="ya29.expired",
    )
    with pytest.raises(MailboxFailure) as err:
        provider.send(message())
    assert err.value.problem == "auth"
    assert "535" in err.value.message


def send_expecting(peer_provider, error_class, **provider_kwargs):
    with pytest.raises(error_class) as err:
        peer_provider(imap=False, **provider_kwargs).send(message())
    return err.value


def test_550_5_1_1_at_rcpt_is_a_rejected_recipient(peer_provider, smtp_server):
    smtp_server.reply_to("bob@prospect.test", "550 5.1.1 No such user here", at="rcpt")
    error = send_expecting(peer_provider, RecipientRejected)
    assert error.recipient == "bob@prospect.test"
    assert error.enhanced_code == "5.1.1"
    assert smtp_server.messages == []


def test_452_4_5_3_is_transient(peer_provider, smtp_server):
    smtp_server.queue("452 4.5.3 Too many recipients", at="rcpt")
    assert send_expecting(peer_provider, TransientFailure).reply_code == 452


def test_421_at_the_end_of_data_is_transient(peer_provider, smtp_server):
    smtp_server.queue("421 4.3.2 Service shutting down", at="data")
    assert send_expecting(peer_provider, TransientFailure).reply_code == 421
    assert smtp_server.messages == []


def test_550_5_4_5_quota_pauses_the_mailbox(peer_provider, smtp_server):
    smtp_server.queue("550 5.4.5 Daily user sending limit exceeded", at="data")
    error = send_expecting(peer_provider, MailboxFailure)
    assert error.problem == "quota"
    assert error.pause_seconds == 24 * 3600


def test_554_5_7_1_policy_is_a_mailbox_failure(peer_provider, smtp_server):
    smtp_server.queue("554 5.7.1 Message refused by policy", at="data")
    assert send_expecting(peer_provider, MailboxFailure).problem == "policy"


def test_a_wrong_smtp_password_is_a_mailbox_failure_with_the_535_reply(peer_provider):
    error = send_expecting(peer_provider, MailboxFailure, password="wrong")
    assert error.problem == "auth"
    assert "Authentication rejected (535 5.7.8" in error.message


def test_a_dropped_connection_after_the_final_dot_is_an_unknown_outcome(peer_provider, smtp_server):
    smtp_server.queue(DROP, at="data")
    error = send_expecting(peer_provider, OutcomeUnknown)
    assert "may or may not have been accepted" in error.message
    assert len(smtp_server.messages) == 1  # the server did take it: settle via find_sent


def test_no_answer_to_the_final_dot_is_an_unknown_outcome_after_the_timeout(
    peer_provider, smtp_server
):
    smtp_server.queue(HANG, at="data")
    error = send_expecting(peer_provider, OutcomeUnknown, timeout=0.3, final_reply_timeout=0.3)
    assert "timed out after 0.3 s" in error.message


def test_a_refused_connection_is_transient(closed_port):
    provider = SmtpImapProvider(email=ALICE, smtp=ServerSettings("127.0.0.1", closed_port, "none"))
    with pytest.raises(TransientFailure, match=f"Connection refused at 127.0.0.1:{closed_port}"):
        provider.send(message())


def test_a_server_that_never_greets_times_out_as_transient(silent_port):
    provider = SmtpImapProvider(
        email=ALICE, smtp=ServerSettings("127.0.0.1", silent_port, "none"), timeout=0.3
    )
    with pytest.raises(TransientFailure, match=r"Timed out after 0\.3 s"):
        provider.send(message())


def test_starttls_with_a_trusted_certificate_sends(tls_smtp_servers, peer_certificate):
    starttls, _ = tls_smtp_servers
    starttls.reset()
    provider = SmtpImapProvider(
        email=ALICE,
        smtp=ServerSettings(starttls.host, starttls.port, "starttls", "alice", "secret"),
        ssl_context=peer_certificate.client_context(),
    )
    provider.send(message())
    assert starttls.messages[0].authenticated_as == "alice"


def test_implicit_tls_with_a_trusted_certificate_sends(tls_smtp_servers, peer_certificate):
    _, implicit = tls_smtp_servers
    implicit.reset()
    provider = SmtpImapProvider(
        email=ALICE,
        smtp=ServerSettings(implicit.host, implicit.port, "tls", "alice", "secret"),
        ssl_context=peer_certificate.client_context(),
    )
    provider.send(message())
    assert len(implicit.messages) == 1


def test_an_untrusted_certificate_fails_the_tls_handshake(tls_smtp_servers):
    _, implicit = tls_smtp_servers
    provider = SmtpImapProvider(
        email=ALICE, smtp=ServerSettings(implicit.host, implicit.port, "tls"), timeout=2
    )
    report = provider.test_connection()
    assert report.sending.ok is False
    assert report.sending.message.startswith("TLS handshake failed")
    assert "certificate is not trusted" in report.sending.message


class TestConnectionReport:
    def test_success_names_the_server_the_login_and_the_sent_folder(self, peer_provider):
        report = peer_provider().test_connection()
        assert report.sending.ok is True
        assert "signed in as alice" in report.sending.message
        assert report.reading.ok is True
        assert report.sent_folder == "Sent"
        assert report.ok

    def test_the_sent_folder_is_found_by_its_special_use_attribute(self, peer_provider):
        report = peer_provider(imap_user="carol@example.test").test_connection()
        assert report.reading.ok is True
        assert report.sent_folder == "Sent Items"

    def test_a_mailbox_without_a_sent_folder_is_reported(self, peer_provider):
        report = peer_provider(imap_user="bob@example.test").test_connection()
        assert report.reading.ok is False
        assert "no Sent folder found" in report.reading.message

    def test_a_wrong_imap_password_says_imap_login_failed(self, peer_provider):
        report = peer_provider(imap_password="wrong").test_connection()
        assert report.sending.ok is True
        assert report.reading.ok is False
        assert report.reading.message.startswith("IMAP login failed for user 'alice@example.test'")
        assert "AUTHENTICATIONFAILED" in report.reading.message

    def test_without_imap_the_imap_check_is_not_applicable(self, peer_provider):
        report = peer_provider(imap=False).test_connection()
        assert report.reading.ok is None
        assert "No IMAP server is configured" in report.reading.message
        assert report.ok

    def test_tls_against_a_plain_server_says_the_handshake_failed(self, smtp_server):
        provider = SmtpImapProvider(
            email=ALICE, smtp=ServerSettings(smtp_server.host, smtp_server.port, "tls")
        )
        message = provider.test_connection().sending.message
        assert message.startswith(f"TLS handshake failed with the SMTP server {smtp_server.host}")

    def test_a_server_requiring_auth_is_reported_at_the_sender_check(self, smtp_server):
        smtp_server.queue("530 5.7.0 Authentication required", at="mail")
        provider = SmtpImapProvider(
            email=ALICE, smtp=ServerSettings(smtp_server.host, smtp_server.port, "none")
        )
        check = provider.test_connection().sending
        assert check.ok is False
        assert "530 5.7.0 Authentication required" in check.message

    def test_an_imap_port_with_nothing_listening_is_refused(self, smtp_server, closed_port):
        provider = SmtpImapProvider(
            email=ALICE,
            smtp=ServerSettings(smtp_server.host, smtp_server.port, "none"),
            imap=ServerSettings("127.0.0.1", closed_port, "none", ALICE, "secret"),
        )
        check = provider.test_connection().reading
        assert check.ok is False
        assert check.message.startswith(f"Connection refused at 127.0.0.1:{closed_port}")
