"""Inbound messages as a prospect's mail client, an auto-responder or an MTA writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

# The engine tests' start: a Monday, 10:00 UTC (tests.integration.engine.conftest.START).
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ALICE = "alice@example.test"
ADA = "ada@initech.test"


def _message(
    *,
    sender: str,
    subject: str,
    text: str,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    to: str = ALICE,
    date: datetime = START,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2])
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(references or [in_reply_to])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message


def reply(
    in_reply_to: str | None,
    *,
    sender: str = f"Ada Lovelace <{ADA}>",
    subject: str = "Re: Hello Ada",
    text: str = "Thanks Alice, happy to talk next week.\n\nAda",
    **kwargs: object,
) -> bytes:
    quoted = "\n\nOn Mon, Alice wrote:\n> Hi Ada, first.\n"
    return _message(
        sender=sender,
        subject=subject,
        text=text + quoted,
        in_reply_to=in_reply_to,
        **kwargs,  # type: ignore[arg-type]
    ).as_bytes()


def out_of_office(in_reply_to: str | None, *, text: str, sender: str = ADA) -> bytes:
    return _message(
        sender=sender,
        subject="Automatic reply: Hello Ada",
        text=text,
        in_reply_to=in_reply_to,
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    ).as_bytes()


def mailto_unsubscribe(sender: str = ADA) -> bytes:
    return _message(sender=sender, subject="unsubscribe", text="").as_bytes()


def dsn(
    original_message_id: str,
    *,
    recipient: str = ADA,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 <ada@initech.test>: Recipient address rejected",
) -> bytes:
    """A delivery status notification (RFC 3464 in an RFC 6522 report)."""
    boundary = "dsn-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"
        f"To: {ALICE}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(START)}\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.test')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Alice <{ALICE}>\r\n"
        f"To: {recipient}\r\n"
        "Subject: Hello Ada\r\n"
        f"Message-ID: {original_message_id}\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def spam_complaint(
    original_message_id: str | None,
    *,
    recipient: str = ADA,
    feedback_type: str = "abuse",
    subject: str = "FW: Hello Ada",
) -> bytes:
    """A feedback report (ARF, RFC 5965) about a message sent to ``recipient``, whose
    text opens as kindly as a reply would. Without ``original_message_id`` the returned
    headers carry none (a receiver that strips it), so only ``recipient`` can match."""
    boundary = "arf-boundary-1"
    original_id = f"Message-ID: {original_message_id}\r\n" if original_message_id else ""
    return (
        "From: Feedback Loop <fbl@mailbox-provider.test>\r\n"
        f"To: {ALICE}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {format_datetime(START)}\r\n"
        f"Message-ID: {make_msgid(domain='mailbox-provider.test')}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "Thanks, sounds interesting! This is an email abuse report.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        "User-Agent: Provider-FBL/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Rcpt-To: {recipient}\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Alice <{ALICE}>\r\n"
        f"To: {recipient}\r\n"
        "Subject: Hello Ada\r\n"
        f"{original_id}"
        f"--{boundary}--\r\n"
    ).encode()


def meeting_request(*, organizer: str = ADA, attendee: str = ALICE) -> bytes:
    """An iCalendar invitation (iTIP REQUEST) from the prospect to the sender."""
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tests//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:intro-call-1@initech.test\r\nDTSTAMP:20260302T100000Z\r\n"
        "DTSTART:20260305T150000Z\r\nDTEND:20260305T153000Z\r\nSUMMARY:Intro call\r\n"
        f"ORGANIZER:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}\r\n"
        "STATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = _message(sender=organizer, subject="Invitation: Intro call", text="Join me.")
    message.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    return message.as_bytes()


def message_id_of(raw: bytes) -> str:
    return raw.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()
