"""No text from people can add a header line or a recipient to a sent email.

CPython's email package decodes RFC 2047 encoded words in header values and writes the
decoded CR LF back to the wire; these tests send the exploit through every header that
carries such text and read the bytes back as a receiver would.
"""

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sequencer.mail.compose import HeaderError, build_message, wire_bytes
from sequencer.mail.headers import visible_text
from sequencer.mail.wire_check import WireCheckError

WHEN = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
EXPLOIT = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?="
BODY_EXPLOIT = "=?utf-8?q?Eve=0D=0A=0D=0AThis_replaced_the_body?="
HEADER_NAMES = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"]
HTML = "<p>The real body.</p>"


def compose(**overrides):
    args = {
        "from_": ("Alice Example", "alice@example.test"),
        "to": ("Bob Prospect", "bob@prospect.test"),
        "subject": "Quick question",
        "html": HTML,
        "date": WHEN,
        "message_id": "<first@example.test>",
    }
    return build_message(**{**args, **overrides})


def on_the_wire(message):
    return message_from_bytes(wire_bytes(message), policy=policy.default)


def raw_header(data: bytes, name: str) -> str:
    """The header as written, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(
        rf"^{name}: ?([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.MULTILINE | re.IGNORECASE
    )
    assert match, f"{name} missing"
    return match.group(1).replace("\r\n", "")


def display_name(data: bytes, name: str) -> str:
    """The display name of an address header, decoded as RFC 2047 §6.2 says (the space
    between two encoded words is not part of the text)."""
    match = re.fullmatch(r"(.*?) *<[^<>]*>", raw_header(data, name))
    phrase = match.group(1) if match else ""
    if phrase.startswith('"'):
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(make_header(decode_header(phrase)))


def assert_only_the_intended_headers_and_recipients(message):
    received = on_the_wire(message)
    assert [name.lower() for name in received] == HEADER_NAMES
    assert [a.addr_spec for a in received["To"].addresses] == ["bob@prospect.test"]
    assert [a.addr_spec for a in received["From"].addresses] == ["alice@example.test"]
    assert received.get_all("Bcc") is None and received.get_all("Cc") is None
    assert "The real body." in received.get_body(("html",)).get_content()


def test_an_encoded_line_break_in_the_subject_adds_no_bcc_and_reads_as_typed():
    message = compose(subject=f"Hi {EXPLOIT}")
    assert_only_the_intended_headers_and_recipients(message)
    assert on_the_wire(message)["Subject"] == f"Hi {EXPLOIT}"
    assert b"\r\nBcc" not in wire_bytes(message)


def test_an_encoded_line_break_in_the_senders_name_adds_no_bcc_and_reads_as_typed():
    message = compose(from_=(EXPLOIT, "alice@example.test"))
    assert_only_the_intended_headers_and_recipients(message)
    assert display_name(wire_bytes(message), "From") == EXPLOIT


def test_an_encoded_line_break_in_the_recipients_name_adds_no_bcc_and_reads_as_typed():
    message = compose(to=(EXPLOIT, "bob@prospect.test"))
    assert_only_the_intended_headers_and_recipients(message)
    assert display_name(wire_bytes(message), "To") == EXPLOIT


def test_an_encoded_blank_line_in_the_subject_does_not_replace_the_body():
    message = compose(subject=BODY_EXPLOIT)
    assert_only_the_intended_headers_and_recipients(message)
    assert "This replaced the body" not in wire_bytes(message).split(b"\r\n\r\n", 1)[1].decode()


def test_raw_control_characters_in_names_and_subject_are_dropped_or_become_spaces():
    message = compose(
        subject="Hi\r\nBcc: x@evil.test\x00\u2028there",
        to=("Bob\nCc: carl@evil.test", "bob@prospect.test"),
    )
    assert_only_the_intended_headers_and_recipients(message)
    data = wire_bytes(message)
    assert on_the_wire(message)["Subject"] == "Hi Bcc: x@evil.test there"
    assert display_name(data, "To") == "Bob Cc: carl@evil.test"


def test_a_name_with_commas_and_quotes_stays_one_recipient():
    message = compose(to=('Prospect, "Bob" <carl@evil.test>', "bob@prospect.test"))
    assert_only_the_intended_headers_and_recipients(message)
    assert display_name(wire_bytes(message), "To") == 'Prospect, "Bob" <carl@evil.test>'


def test_an_attachment_name_with_an_encoded_line_break_adds_no_header_to_its_part():
    message = compose(attachments=[(f"{EXPLOIT}.pdf", "application/pdf", b"%PDF-1.4")])
    received = on_the_wire(message)
    _, attachment = received.iter_parts()
    assert list(attachment.keys()) == [
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
    ]
    assert attachment.get_filename() == f"{EXPLOIT}.pdf"
    assert attachment.get_content() == b"%PDF-1.4"


def test_a_media_type_that_is_not_a_type_is_sent_as_plain_data():
    message = compose(attachments=[("a.bin", "text/plain\r\nBcc: x@evil.test", b"data")])
    _, attachment = on_the_wire(message).iter_parts()
    assert attachment.get_content_type() == "application/octet-stream"


def test_an_inline_image_id_that_could_break_a_header_is_refused_naming_it():
    with pytest.raises(HeaderError, match="inline image") as error:
        compose(inline_images=[(f"{EXPLOIT}\r\nBcc: x", "image/png", b"png")])
    assert error.value.header == "Content-ID"


def test_an_address_that_is_not_an_address_is_refused_naming_the_header():
    with pytest.raises(HeaderError, match="To address") as error:
        compose(to=("Bob", "bob@prospect.test>, carl@evil.test"))
    assert error.value.header == "To"


def test_an_extra_header_value_is_neutralised_like_the_subject():
    message = compose(extra_headers={"X-Sequencer-Step": f"2 {EXPLOIT}"})
    received = on_the_wire(message)
    assert received["X-Sequencer-Step"] == f"2 {EXPLOIT}"
    assert received.get_all("Bcc") is None


def test_the_wire_check_refuses_a_header_line_that_nothing_set():
    message = compose()
    message.set_raw("X-Note", "fine\r\nBcc: x@evil.test")
    with pytest.raises(WireCheckError, match="Bcc") as error:
        wire_bytes(message)
    assert error.value.header.lower() == "bcc"


def test_the_wire_check_refuses_a_recipient_other_than_the_one_asked_for():
    message = compose()
    message.replace_header("To", "carl@evil.test")
    with pytest.raises(WireCheckError, match="To header") as error:
        wire_bytes(message)
    assert error.value.header == "To"


def test_the_wire_check_refuses_a_line_break_inside_a_header():
    message = compose()
    message.set_raw("X-Note", "fine\rstill fine?")
    with pytest.raises(WireCheckError, match="X-Note"):
        wire_bytes(message)


def test_visible_text_drops_controls_and_turns_line_breaks_into_one_space():
    assert visible_text("  a\r\n\tb\x00c\x85\u2029d\x7f\x9b ") == "a bc d"


# -- property: any text at all ----------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "=?utf-8?q?",
        "=?utf-8?b?",
        "=?iso-8859-1?q?",
        "?=",
        "=0D=0A",
        "=0A",
        "DQo=",
        "Bcc:_x@evil.test",
        "Bcc: x@evil.test",
        "\r\n",
        "\n\n",
        " ",
        '"',
        "\\",
        "<x@evil.test>",
        ",",
        "Grüße",
        "日本",
        "\u2028",
        "\x00",
    ]
)
_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=12).map("".join)


@settings(deadline=None)
@given(subject=_TEXT, sender=_TEXT, recipient=_TEXT)
@example(subject=EXPLOIT, sender=EXPLOIT, recipient=EXPLOIT)
@example(subject=BODY_EXPLOIT, sender="x" * 200 + EXPLOIT, recipient="é" * 120)
def test_any_subject_and_names_give_exactly_the_intended_headers_and_read_back_as_visible(
    subject, sender, recipient
):
    message = compose(
        subject=subject,
        from_=(sender, "alice@example.test"),
        to=(recipient, "bob@prospect.test"),
    )
    data = wire_bytes(message)
    assert max(data) < 128
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert_only_the_intended_headers_and_recipients(message)
    assert str(on_the_wire(message)["Subject"]) == visible_text(subject)
    assert display_name(data, "From") == visible_text(sender)
    assert display_name(data, "To") == visible_text(recipient)


@settings(deadline=None)
@given(filename=_TEXT)
@example(filename=EXPLOIT + ".pdf")
@example(filename="ü" * 400)
def test_any_attachment_name_keeps_the_parts_headers_and_reads_back_as_visible(filename):
    message = compose(attachments=[(filename, "application/pdf", b"%PDF")])
    received = on_the_wire(message)
    _, attachment = received.iter_parts()
    assert [n.lower() for n in attachment] == [
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    ]
    expected = visible_text(filename).replace("\\", "").replace('"', "")[:255].strip()
    # The parameter as a receiver reads it (get_filename() would also strip "<...>").
    assert attachment["Content-Disposition"].params.get("filename", "") == expected
