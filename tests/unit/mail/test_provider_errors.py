import pytest

from sequencer.mail.providers.errors import (
    QUOTA_PAUSE_SECONDS,
    MailboxFailure,
    MessageRejected,
    RecipientRejected,
    TransientFailure,
)
from sequencer.mail.providers.smtp_imap.replies import classify_smtp_reply, enhanced_code


def test_the_enhanced_status_code_is_read_from_the_start_of_the_reply_text():
    assert enhanced_code("5.1.1 <x@y>: Recipient address rejected") == (5, 1, 1)
    assert enhanced_code("  4.7.28 rate limited") == (4, 7, 28)
    assert enhanced_code("Mailbox unavailable 5.1.1") is None
    assert enhanced_code("5.1.1234 nope") is None


@pytest.mark.parametrize(
    ("code", "text", "stage", "expected"),
    [
        (421, "4.3.2 Service shutting down", "end_of_data", TransientFailure),
        (450, "4.2.1 Mailbox busy", "rcpt", TransientFailure),
        (451, "Local error in processing", "end_of_data", TransientFailure),
        (452, "4.5.3 Too many recipients", "rcpt", TransientFailure),
        (550, "4.7.0 odd but transient by its enhanced code", "rcpt", TransientFailure),
        (550, "5.1.1 No such user", "rcpt", RecipientRejected),
        (553, "5.1.3 Bad destination address syntax", "rcpt", RecipientRejected),
        (550, "5.1.10 Null MX", "rcpt", RecipientRejected),
        (552, "5.2.2 Mailbox full", "end_of_data", RecipientRejected),
        (550, "5.4.4 Unable to route", "rcpt", RecipientRejected),
        (501, "5.5.4 Invalid address", "rcpt", RecipientRejected),
        (550, "No such user here", "rcpt", RecipientRejected),
        (535, "5.7.8 Authentication credentials invalid", "auth", MailboxFailure),
        (535, "Authentication failed", "auth", MailboxFailure),
        (530, "5.7.0 Authentication required", "mail", MailboxFailure),
        (550, "5.4.5 Daily user sending limit exceeded", "end_of_data", MailboxFailure),
        (554, "5.7.1 Message rejected by policy", "end_of_data", MailboxFailure),
        (550, "5.7.1 Relaying denied", "rcpt", MailboxFailure),
        (553, "5.1.8 Sender address rejected", "mail", MailboxFailure),
        (554, "Transaction failed", "end_of_data", MailboxFailure),
        (554, "5.6.0 Message content rejected", "end_of_data", MessageRejected),
        (552, "5.3.4 Message too big", "end_of_data", MessageRejected),
        (552, "Message size exceeds limit", "end_of_data", MessageRejected),
    ],
)
def test_each_smtp_reply_maps_to_what_the_engine_must_do(code, text, stage, expected):
    error = classify_smtp_reply(code, text, stage=stage, recipient="bob@x.test")
    assert type(error) is expected
    assert error.reply_code == code
    assert str(code) in error.message


def test_a_quota_failure_pauses_the_mailbox_for_a_day():
    error = classify_smtp_reply(550, "5.4.5 Daily user sending limit exceeded", stage="end_of_data")
    assert isinstance(error, MailboxFailure)
    assert error.problem == "quota"
    assert error.pause_seconds == QUOTA_PAUSE_SECONDS
    assert error.enhanced_code == "5.4.5"


def test_bad_credentials_disconnect_the_mailbox_rather_than_pause_it():
    error = classify_smtp_reply(535, "5.7.8 Authentication credentials invalid", stage="auth")
    assert isinstance(error, MailboxFailure)
    assert error.problem == "auth"
    assert error.pause_seconds is None


def test_a_rejected_recipient_names_the_address():
    error = classify_smtp_reply(550, "5.1.1 No such user", stage="rcpt", recipient="bob@x.test")
    assert isinstance(error, RecipientRejected)
    assert error.recipient == "bob@x.test"
    assert "bob@x.test" in error.message
