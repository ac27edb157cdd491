"""The classification rules, one at a time, on small hand-built messages."""

from __future__ import annotations

import time
from datetime import date

import pytest

from sequencer.mail.inbound import classify

from .support import MAILBOX, RECEIVED, message


def kind_of(raw: bytes) -> str:
    return classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED).kind


def test_a_plain_answer_from_a_person_is_a_reply():
    assert kind_of(message("Sounds good, let's talk.")) == "reply"


def test_the_mailboxs_own_copy_is_never_a_reply_whatever_it_says():
    raw = message("Please remove me", from_="ALICE <Alice@Northwind.TEST>")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "own_message"
    assert not event.wants_to_stop


@pytest.mark.parametrize(
    "headers",
    [
        {"auto_submitted": "auto-replied"},
        {"auto_submitted": "auto-generated"},
        {"auto_submitted": "auto-notified; owner-email=x@y.test"},
        {"x_autoreply": "yes"},
        {"x_autorespond": "Vacation"},
        {"precedence": "auto_reply"},
        {"precedence": "bulk"},
        {"precedence": "junk"},
    ],
)
def test_auto_reply_headers_mark_an_auto_reply(headers):
    assert kind_of(message("I am away.", subject="Re: Quick question", **headers)) == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Quick question",
        "Auto Response: Quick question",
        "AutoReply: Quick question",
        "Out of Office: Quick question",
        "Out of Office AutoReply: Quick question",
        "Abwesenheitsnotiz: Kurze Frage",
        "Automatische Antwort: Kurze Frage",
        "Réponse automatique : Une question",
        "Respuesta automática: Una pregunta",
        "Risposta automatica: Una domanda",
        "Automatisch antwoord: Korte vraag",
        "Afwezig",
        "[EXTERNAL] Automatic reply: Quick question",
    ],
)
def test_a_localised_auto_reply_subject_marks_an_auto_reply_without_any_header(subject):
    assert kind_of(message("I am away.", subject=subject)) == "auto_reply"


def test_x_auto_response_suppress_is_not_evidence_of_an_auto_reply():
    raw = message("Yes, let's talk.", x_auto_response_suppress="All")
    assert kind_of(raw) == "reply"


def test_auto_submitted_no_is_not_evidence_of_an_auto_reply():
    assert kind_of(message("Yes, let's talk.", auto_submitted="no")) == "reply"


def test_a_reply_subject_that_mentions_out_of_office_later_on_is_a_reply():
    assert kind_of(message("Fine by me.", subject="Re: Out of office tomorrow?")) == "reply"


@pytest.mark.parametrize(
    "headers",
    [
        {"list_id": "<news.example.test>", "precedence": "bulk"},
        {"list_unsubscribe": "<https://example.test/u/1>", "precedence": "junk"},
        {"feedback_id": "1:news:esp", "auto_submitted": "auto-generated"},
        {"list_id": "<users.lists.example.test>", "precedence": "list"},
        {"list_unsubscribe": "<mailto:leave@example.test>"},
    ],
)
def test_list_and_newsletter_mail_is_other(headers):
    assert kind_of(message("This week's news. Unsubscribe here.", **headers)) == "other"


def test_a_real_auto_reply_relayed_through_a_list_is_still_an_auto_reply():
    raw = message("Away.", auto_submitted="auto-replied", list_id="<team.example.test>")
    assert kind_of(raw) == "auto_reply"


def test_an_auto_reply_reads_its_return_date_from_the_subject_too():
    raw = message("I have limited access to email.", subject="Out of office until 5 January")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "auto_reply"
    assert event.return_date == date(2026, 1, 5)


def test_the_callers_date_order_is_used_for_ambiguous_numeric_dates():
    raw = message("Back on 01/02/2026.", subject="Automatic reply: Quick question")
    day_first = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED, day_first=True)
    month_first = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED, day_first=False)
    assert day_first.return_date == date(2026, 2, 1)
    assert month_first.return_date == date(2026, 1, 2)


def test_a_message_declaring_us_english_reads_numeric_dates_month_first():
    raw = message("Back on 01/02/2026.", subject="Automatic reply: Hi", content_language="en-US")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.return_date == date(2026, 1, 2)


def test_matching_ids_list_in_reply_to_then_references_from_the_most_recent():
    raw = message(
        "Yes.",
        in_reply_to="<s3@northwind.test>",
        references="<s1@northwind.test> <s2@northwind.test>\n <s3@northwind.test>",
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.in_reply_to == "<s3@northwind.test>"
    assert event.references == ("<s1@northwind.test>", "<s2@northwind.test>", "<s3@northwind.test>")
    assert event.matching_ids() == (
        "<s3@northwind.test>",
        "<s2@northwind.test>",
        "<s1@northwind.test>",
    )


def test_message_ids_written_without_brackets_are_still_matched():
    event = classify(
        message("Yes.", in_reply_to="s1@northwind.test"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.matching_ids() == ("<s1@northwind.test>",)


def test_encoded_headers_are_decoded():
    raw = message("Ja.", subject="=?utf-8?q?AW=3A_Kurze_Frage_=C3=BCber_Sie?=")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.subject == "AW: Kurze Frage über Sie"


def test_raw_utf8_in_a_header_is_read_as_utf8():
    raw = message("Sí.").replace(b"Subject: Re: Quick question", "Subject: Re: ¿Qué tal?".encode())
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.subject == "Re: ¿Qué tal?"


def test_an_html_only_reply_is_read_as_text_with_its_blockquote_dropped():
    html = (
        "<html><body><p>Yes &amp; thanks!</p><div>On Tue, Alice wrote:</div>"
        "<blockquote><p>Would a call work? Unsubscribe here.</p></blockquote></body></html>"
    )
    raw = message(html).replace(b"text/plain", b"text/html")
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "reply"
    assert event.reply_text == "Yes & thanks!"


def test_a_delivery_report_of_successful_delivery_is_not_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.northwind.test\nTo: alice@northwind.test\n"
        b"Subject: Delivery report\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nDelivered.\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        b"Final-Recipient: rfc822; bob@example.test\nAction: delivered\nStatus: 2.0.0\n\n"
        b"--b--\n"
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "other"
    assert event.bounce is None


def _dsn(*blocks: str) -> bytes:
    report = "\n".join(blocks)
    return (
        "From: MAILER-DAEMON@mx.northwind.test\nTo: alice@northwind.test\n"
        "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nSorry.\n"
        f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n{report}\n"
        "--b--\n"
    ).encode()


def test_a_dsn_with_one_failed_and_one_delayed_recipient_is_a_permanent_bounce_for_both():
    raw = _dsn(
        "Final-Recipient: rfc822; slow@example.test\nAction: delayed\nStatus: 4.4.1\n",
        "Final-Recipient: rfc822; gone@example.test\nAction: failed\nStatus: 5.1.1\n",
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.bounce is not None
    assert event.bounce.permanent
    assert event.bounce.status == "5.1.1"
    assert event.bounce.recipients == ("slow@example.test", "gone@example.test")


def test_a_dsn_without_a_status_takes_it_from_the_diagnostic_or_the_action():
    raw = _dsn(
        "Final-Recipient: rfc822; gone@example.test\nAction: failed\n"
        "Diagnostic-Code: smtp; 550 5.7.1 Rejected by policy\n"
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.bounce is not None
    assert (event.bounce.status, event.bounce.permanent) == ("5.7.1", True)
    bare = classify(
        _dsn("Final-Recipient: rfc822; slow@example.test\nAction: delayed\n"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert bare.bounce is not None
    assert (bare.bounce.status, bare.bounce.permanent) == ("4.0.0", False)


def test_an_ip_address_in_a_bounce_is_not_read_as_a_status_code():
    raw = (
        b"From: MAILER-DAEMON@old.test\nTo: alice@northwind.test\nSubject: failure notice\n"
        b"X-Failed-Recipients: bob@example.test\n\n"
        b"Delivery to bob@example.test failed permanently.\n"
        b"host mx.example.test [5.6.7.8] refused the message\n"
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "bounce"
    assert event.bounce is not None
    assert event.bounce.recipients == ("bob@example.test",)
    assert event.bounce.status == "5.0.0"


def test_a_message_from_a_mail_system_that_names_no_recipient_is_not_a_bounce():
    raw = message(
        "Your mailbox is almost full.", subject="Quota warning", from_="postmaster@northwind.test"
    )
    assert kind_of(raw) != "bounce"


def test_a_message_from_the_mailboxs_own_mail_system_is_never_a_person():
    for text in ("Hi Alice, thanks! Let's talk on Tuesday.", "Please remove me from your list."):
        raw = message(text, subject="Re: Quick question", from_="MAILER-DAEMON@northwind.test")
        assert kind_of(raw) not in ("reply", "unsubscribe_request")


def test_a_mail_system_named_only_in_the_display_name_is_still_a_mail_system():
    raw = message(
        "There was an error delivering your mail to <gone@example.test>.\n"
        "550 5.1.1 <gone@example.test>: no such user\n",
        subject="Mail delivery failed",
        from_="MAILER-DAEMON <>",
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "bounce"
    assert event.bounce is not None
    assert (event.bounce.recipients, event.bounce.status) == (("gone@example.test",), "5.1.1")


def test_a_bounce_that_names_no_recipient_takes_it_from_the_returned_original():
    raw = message(
        "   ----- Transcript of session follows -----\n"
        "421 mx.example.test (smtp)... Deferred: Connection timed out\n\n"
        "   ----- Unsent message follows -----\n"
        "Received: by mx.northwind.test; Wed, 10 Dec 2025 08:00:00 +0000\n"
        "From: alice@northwind.test\nTo: Bob <bob@example.test>\n"
        "Message-ID: <seq.1.step1@northwind.test>\n\nHello Bob\n",
        subject="Returned mail: Cannot send message for 4 days",
        from_="Mail Delivery Subsystem <MAILER-DAEMON@mx.northwind.test>",
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.bounce is not None
    assert event.bounce.recipients == ("bob@example.test",)
    assert event.bounce.original_message_id == "<seq.1.step1@northwind.test>"
    assert (event.bounce.permanent, event.bounce.status) == (False, "4.0.0")


def test_a_person_who_mentions_a_failed_delivery_is_still_a_person():
    raw = message(
        "My old address bounced and your first email was not delivered. "
        "Happy to talk on Thursday though!",
        in_reply_to="<seq.1.step1@northwind.test>",
    )
    assert kind_of(raw) == "reply"


def test_a_full_mailbox_without_a_status_code_is_a_soft_bounce():
    raw = message(
        "Your mail sent on: Wed, 10 Dec 2025\n"
        "     Could not be delivered to: <kenji@example.test>\n"
        "     As their mailbox is full.\n",
        subject="Returned mail",
        from_="no-reply@mx.example.test",
        return_path="<>",
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.bounce is not None
    assert (event.bounce.permanent, event.bounce.status) == (False, "4.2.2")


def test_an_authentication_failure_report_is_a_complaint_but_not_a_spam_complaint():
    raw = (
        b"From: dmarc@mx.example.test\nTo: alice@northwind.test\nSubject: report\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; "
        b'boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nAn authentication failure report.\n"
        b"--b\nContent-Type: message/feedback-report\n\nFeedback-Type: auth-failure\n"
        b"Version: 1\nAuth-Failure: dkim\n\n"
        b"--b\nContent-Type: text/rfc822-headers\n\nFrom: alice@northwind.test\n"
        b"To: bob@example.test\nMessage-ID: <seq.2.step1@northwind.test>\n\n--b--\n"
    )
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "complaint"
    assert event.complaint is not None
    assert event.complaint.feedback_type == "auth-failure"
    assert not event.complaint.is_spam_complaint
    assert event.complaint.recipients == ("bob@example.test",)
    assert event.matching_ids() == ("<seq.2.step1@northwind.test>",)


def test_a_huge_bounce_is_read_in_time_linear_in_its_size():
    line = b"<user%d@example.test>: 550 5.1.1 user unknown, delivery failed\n"
    body = b"".join(line % i for i in range(200_000))
    raw = (
        b"From: MAILER-DAEMON@mx.example.test\nTo: alice@northwind.test\n"
        b"Subject: Undelivered Mail Returned to Sender\n\n"
        b"This is the mail system at host mx.example.test.\n\n" + body
    )
    started = time.perf_counter()
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert time.perf_counter() - started < 10
    assert event.kind == "bounce"
    assert event.bounce is not None
    assert 0 < len(event.bounce.recipients) <= 20
