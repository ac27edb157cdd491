"""The bytes of a built message: the structure RFC 2046 asks for, 7-bit bodies that
decode to exactly the text given, and the bytes the email package itself would write.

The composer builds its parts from header values it writes itself and writes the bytes
without the email package's generator (sequencer.mail.wire_writer); these tests read
the bytes back as a receiver would and compare them with the generator's.
"""

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from io import BytesIO

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sequencer.mail import wire_writer
from sequencer.mail.compose import WIRE_POLICY, build_message, wire_bytes
from sequencer.mail.headers import visible_text
from sequencer.mail.wire_check import WireCheckError, check_wire

WHEN = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
EXPLOIT = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?="
FOLLOW_UP_HEADERS = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
]


def follow_up(**overrides):
    args = {
        "from_": ("Alice Example", "alice@example.test"),
        "to": ("Bob Prospect", "bob@prospect.test"),
        "subject": "RE: Quick question",
        "html": "<p>Hi Bob,</p><p>Just following up.</p>",
        "date": WHEN,
        "message_id": "<third@example.test>",
        "in_reply_to": "<second@example.test>",
        "references": ["<first@example.test>", "<second@example.test>"],
        "unsubscribe_url": "https://app.example.test/u/abc",
        "unsubscribe_mailto": "unsubscribe@example.test",
    }
    return build_message(**{**args, **overrides})


def generated(message) -> bytes:
    """The bytes the email package's own generator writes for ``message``."""
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=WIRE_POLICY).flatten(message)
    return buffer.getvalue()


def canonical(text: str) -> str:
    """Text as it is sent: its lines (split at CR, LF or CR LF), each ended by one."""
    return (b"\n".join(text.encode("utf-8").splitlines()) + b"\n").decode("utf-8")


def body_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")


# -- bodies that are hard to encode ----------------------------------------------------

_BODY_FRAGMENTS = st.sampled_from(
    [
        "\r\n",
        "\n",
        "\r",
        "\n\n",
        " ",
        "\t",
        " \n",
        "=",
        "=3D",
        ".",
        "\n.\n",
        "From me\n",
        "--",
        "\n--===============0000000000000000001==\n",
        "\n--===============0000000000000000001==--\n",
        "x" * 80,
        "é",
        "Grüße",
        "日本語",
        "\x00",
        "\x7f",
        "\u2028",
        "=?utf-8?q?x?=",
    ]
)
_BODY = st.lists(st.one_of(_BODY_FRAGMENTS, st.text(max_size=20)), max_size=25).map("".join)
_NAME = st.lists(
    st.one_of(st.sampled_from([EXPLOIT, "\r\nBcc: x@evil.test", '"', "\\", ",", "é"]), st.text()),
    max_size=6,
).map("".join)


@settings(deadline=None, max_examples=150)
@given(html=_BODY, text=st.one_of(st.none(), _BODY))
@example(html="<p>" + "word " * 300 + "</p>", text=None)
@example(html="日本語のテキスト" * 60, text="ü" * 200)
@example(html="\n--===============0000000000000000001==\n", text="\r\n.\r\n")
def test_any_body_goes_as_7_bit_lines_within_the_limits_and_decodes_to_the_text_given(html, text):
    data = wire_bytes(follow_up(html=html, text=text))
    assert max(data, default=0) < 128
    received = message_from_bytes(data, policy=policy.default)
    assert received.get_content_type() == "multipart/alternative"
    plain, rich = received.iter_parts()
    assert [plain.get_content_type(), rich.get_content_type()] == ["text/plain", "text/html"]
    for part, given_text in ((plain, text), (rich, html)):
        assert part.get_content_charset() == "utf-8"
        encoding = part["Content-Transfer-Encoding"]
        assert encoding in ("7bit", "quoted-printable", "base64")
        if given_text is not None:
            assert part.get_content().replace("\r\n", "\n") == canonical(given_text)
    # RFC 2045 §6.7 and §6.8: encoded lines hold at most 76 characters; RFC 5322
    # §2.1.1: other lines at most 78 (998 is the hard limit).
    assert all(len(line) <= 78 for line in body_lines(data))
    encoded = re.split(rb"\r\n--=+\d+==(?:--)?\r\n", data)
    for section in encoded[1:]:
        head, _, body = section.partition(b"\r\n\r\n")
        if b"quoted-printable" in head or b"base64" in head:
            assert all(len(line) <= 76 for line in body.split(b"\r\n"))


@settings(deadline=None, max_examples=150)
@given(subject=_NAME, sender=_NAME, recipient=_NAME, html=_BODY)
@example(subject=EXPLOIT, sender=EXPLOIT, recipient=EXPLOIT, html=EXPLOIT)
def test_a_follow_up_with_any_names_has_each_header_once_and_exactly_the_asked_addresses(
    subject, sender, recipient, html
):
    message = follow_up(
        subject=subject,
        from_=(sender, "alice@example.test"),
        to=(recipient, "bob@prospect.test"),
        html=html,
    )
    data = wire_bytes(message)
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    received = message_from_bytes(data, policy=policy.default)
    assert [name.lower() for name in received] == FOLLOW_UP_HEADERS
    assert [a.addr_spec for a in received["From"].addresses] == ["alice@example.test"]
    assert [a.addr_spec for a in received["To"].addresses] == ["bob@prospect.test"]
    assert str(received["Subject"]) == visible_text(subject)
    assert [[n.lower() for n in part] for part in received.iter_parts()] == [
        ["content-type", "content-transfer-encoding"]
    ] * 2


@settings(deadline=None, max_examples=100)
@given(
    html=_BODY,
    sender=_NAME,
    filename=_NAME,
    content=st.binary(max_size=300),
    with_image=st.booleans(),
    extra=st.one_of(st.none(), _NAME),
)
def test_the_bytes_are_exactly_those_the_email_packages_generator_writes(
    html, sender, filename, content, with_image, extra
):
    message = follow_up(
        html=html,
        from_=(sender, "alice@example.test"),
        attachments=[(filename, "application/pdf", content)] if filename else [],
        inline_images=[("logo@example.test", "image/png", content)] if with_image else [],
        extra_headers={"X-Sequencer-Step": extra} if extra is not None else None,
    )
    assert wire_writer.flatten(message, WIRE_POLICY) == generated(message)
    assert wire_bytes(message) == generated(message)


def test_every_boundary_is_found_only_where_it_separates_parts():
    message = follow_up(
        html="<p>Logo</p>",
        inline_images=[("logo", "image/png", b"png")],
        attachments=[("offer.pdf", "application/pdf", b"%PDF")],
    )
    data = wire_bytes(message)
    boundaries = re.findall(rb'boundary="([^"]+)"', data)
    assert len(set(boundaries)) == 3
    for boundary in boundaries:
        delimiters = re.findall(rb"^--" + re.escape(boundary) + rb"(?:--)?\r$", data, re.M)
        assert data.count(boundary) == len(delimiters) + 1  # and once in Content-Type


def test_a_message_the_writer_does_not_know_is_written_by_the_email_package():
    message = follow_up()
    message["X-Campaign"] = "spring"  # a header object, folded by the registry
    assert wire_writer.flatten(message, WIRE_POLICY) is None
    assert b"\r\nX-Campaign: spring\r\n" in wire_bytes(message)


def test_a_header_line_too_long_to_keep_is_left_to_the_email_package():
    message = follow_up()
    message.set_raw("X-Long", "x" * 1000)
    assert wire_writer.flatten(message, WIRE_POLICY) is None
    assert wire_bytes(message) == generated(message)


@pytest.mark.parametrize("character", ["\x00", "\x7f", "\x1b"])
@pytest.mark.parametrize("where", ["message", "part"])
def test_a_control_character_in_any_header_block_is_refused_naming_the_header(character, where):
    message = follow_up()
    target = message if where == "message" else next(message.iter_parts())
    target.set_raw("X-Note", f"fine{character}")
    with pytest.raises(WireCheckError, match="X-Note") as error:
        wire_bytes(message)
    assert error.value.header == "X-Note"


def test_bytes_with_a_bare_carriage_return_in_a_header_are_refused_naming_it():
    message = follow_up()
    data = wire_bytes(message).replace(b"Subject: RE:", b"Subject: RE:\r", 1)
    with pytest.raises(WireCheckError, match="Subject") as error:
        check_wire(data, message, message.addressing)
    assert error.value.header == "Subject"


def test_a_sender_changed_after_building_is_refused():
    message = follow_up()
    message.replace_header("From", "Mallory <mallory@evil.test>")
    with pytest.raises(WireCheckError, match="From header") as error:
        wire_bytes(message)
    assert error.value.header == "From"
