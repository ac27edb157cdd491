"""The wire check's two shortcuts check exactly what the full parse checks.

Boundaries are renamed to fixed tokens before the bytes are parsed back (the parser's
pattern for each boundary then comes from the ``re`` cache), and a ``From``/``To`` value
that is exactly what the composer writes for the asked mailbox is not read through the
header registry again. Any bytes are refused or accepted as the plain parse of the
bytes themselves refuses or accepts them, with the same error.
"""

import re
from email import policy
from email.headerregistry import HeaderRegistry
from email.parser import BytesParser

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sequencer.mail import headers, wire_check
from sequencer.mail.compose import wire_bytes
from sequencer.mail.wire_check import Addressing, WireCheckError, check_wire

from .test_compose_bytes import follow_up

TOKEN = b"=" * 15 + b"0" * 19 + b"=="


def compose(**overrides):
    """A follow-up with all three multiparts: mixed, related and alternative."""
    parts = {
        "inline_images": [("logo", "image/png", b"png")],
        "attachments": [("offer.pdf", "application/pdf", b"%PDF")],
    }
    return follow_up(**{**parts, **overrides})


def boundaries(data: bytes) -> list[bytes]:
    return re.findall(rb'boundary="([^"]+)"', data)


def plain_outcome(data, message):
    """What the check without shortcuts says: None, or the error's header and text."""
    parsed = BytesParser(policy=policy.compat32).parsebytes(data)
    return outcome_of_parse(parsed, message)


def outcome_of_parse(parsed, message):
    try:
        wire_check._check_parsed(parsed, message, None)
    except WireCheckError as error:
        return error.header, str(error)
    return None


def outcome(data, message):
    try:
        check_wire(data, message, None)
    except WireCheckError as error:
        return error.header, str(error)
    return None


@pytest.fixture
def parsed_bytes(monkeypatch):
    """The bytes the check hands to the parser, in order."""
    seen: list[bytes] = []

    class Recording(BytesParser):
        def parsebytes(self, text, headersonly=False):
            seen.append(text)
            return super().parsebytes(text, headersonly)

    monkeypatch.setattr(wire_check, "BytesParser", Recording)
    return seen


# -- canonical boundaries --------------------------------------------------------------


def test_the_bytes_are_parsed_once_with_canonical_boundaries(parsed_bytes):
    message = compose()
    message.checked = None
    parsed_bytes.clear()
    data = wire_bytes(message)
    assert len(set(boundaries(data))) == 3
    assert len(parsed_bytes) == 1
    renamed = parsed_bytes[0]
    assert len(renamed) == len(data)
    assert boundaries(renamed) == [
        b"=" * 15 + str(index).zfill(19).encode() + b"==" for index in range(3)
    ]
    for boundary in boundaries(data):
        assert boundary not in renamed


def test_bytes_that_hold_a_token_already_are_parsed_as_they_are(parsed_bytes):
    message = compose(html=f"<p>{TOKEN.decode()}</p>", text=f"see {TOKEN.decode()}")
    message.checked = None
    parsed_bytes.clear()
    data = wire_bytes(message)
    assert TOKEN in data
    assert parsed_bytes == [data]


def test_a_boundary_inside_a_longer_run_of_its_characters_leaves_the_bytes_as_they_are(
    parsed_bytes,
):
    message = compose()
    data = wire_bytes(message)
    first = boundaries(data)[0]
    broken = data.replace(b"\r\n\r\n--" + first, b"\r\n\r\n--=" + first + b"0", 1)
    parsed_bytes.clear()
    assert outcome(broken, message) == plain_outcome(broken, message)
    assert broken in parsed_bytes


def test_a_boundary_with_another_content_type_leaves_the_renamed_parse_unused(parsed_bytes):
    message = compose()
    data = wire_bytes(message)
    changed = data.replace(b"multipart/mixed;", b"multipart/digest;", 1)
    parsed_bytes.clear()
    assert outcome(changed, message) == plain_outcome(changed, message)
    assert parsed_bytes[-1] == changed


def _changed(boundary: bytes) -> bytes:
    """The boundary with its last digit changed (the package's boundaries end in
    a digit and ``==``; a fixed digit would leave one boundary in ten as it was)."""
    digit = b"2" if boundary[-3:-2] == b"1" else b"1"
    return boundary[:-3] + digit + b"=="


def _mutations(data: bytes) -> dict[str, bytes]:
    outer, related, alternative = boundaries(data)
    delimiter = b"\r\n--" + alternative + b"\r\n"
    first_body = data.index(b"\r\n\r\n", data.index(delimiter)) + 4
    return {
        "a delimiter line removed": data.replace(delimiter, b"\r\n", 1),
        "the close delimiter removed": data.replace(b"--" + outer + b"--", b"", 1),
        "the start delimiter removed": data.replace(b"--" + related + b"\r\n", b"", 1),
        "a delimiter inside a body part": (
            data[:first_body]
            + b"--"
            + alternative
            + b"\r\nContent-Type: text/plain\r\n\r\nextra\r\n"
            + data[first_body:]
        ),
        "a delimiter of the outer part inside an inner body part": (
            data[:first_body] + b"--" + outer + b"\r\n" + data[first_body:]
        ),
        "a boundary mid-line in a body": (
            data[:first_body] + b"see " + related + b" here\r\n" + data[first_body:]
        ),
        "a part header injected": data.replace(
            b"Content-Transfer-Encoding", b"Bcc: x@evil.test\r\nContent-Transfer-Encoding", 1
        ),
        "a blank line inside a part's headers": data.replace(
            b"Content-Transfer-Encoding", b"\r\nContent-Transfer-Encoding", 1
        ),
        "two boundaries swapped": data.replace(outer, b"\x00")
        .replace(related, outer)
        .replace(b"\x00", related),
        "a boundary changed in its Content-Type only": data.replace(
            b'boundary="' + related, b'boundary="' + _changed(related), 1
        ),
        "a boundary changed on its delimiter lines only": data.replace(
            b"--" + alternative, b"--" + _changed(alternative)
        ),
        "a boundary in the To header": data.replace(
            b"To: Bob Prospect <bob@prospect.test>",
            b"To: Bob Prospect <" + outer + b"@prospect.test>",
            1,
        ),
        "unchanged": data,
    }


@pytest.mark.parametrize("mutation", list(_mutations(wire_bytes(compose()))))
def test_changed_bytes_are_refused_or_accepted_exactly_as_the_plain_parse_says(
    mutation, parsed_bytes
):
    message = compose()
    data = _mutations(wire_bytes(message))[mutation]
    expected = plain_outcome(data, message)
    if mutation == "unchanged":
        assert expected is None
    elif mutation not in {
        "a boundary mid-line in a body",
        "a boundary in the To header",
        "two boundaries swapped",
    }:
        assert expected is not None  # the mutation does break the bytes
    parsed_bytes.clear()
    assert outcome(data, message) == expected
    # The renamed bytes alone, where the check uses their parse, say the same.
    renamed, tokens = wire_check._with_canonical_boundaries(data, message)
    parsed = BytesParser(policy=policy.compat32).parsebytes(renamed)
    if wire_check._renamed_as_meant(parsed, tokens):
        assert outcome_of_parse(parsed, message) == expected
    else:
        assert mutation in {
            "a boundary changed in its Content-Type only",
            "a boundary in the To header",
        }


# -- addresses the composer wrote ------------------------------------------------------


_NAME = st.lists(
    st.one_of(
        st.sampled_from(['"', "\\", ",", "@", "<", ">", "é", "日本", "=?utf-8?q?x?=", " "]),
        st.text(max_size=10),
    ),
    max_size=12,
).map("".join)
_ADDRESS = st.from_regex(headers._ADDR_SPEC, fullmatch=True)


@settings(deadline=None, max_examples=500)
@given(name=_NAME, address=_ADDRESS, field=st.sampled_from(["From", "To"]))
@example(name='Eve "x" \\ <a@b>, c@d', address="bob@prospect.test", field="To")
@example(name="=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?=", address="A.B@X-Y.test", field="From")
@example(name="é" * 200, address="x@y", field="To")
@example(name="", address="0@0..0", field="From")
def test_every_mailbox_the_check_knows_from_its_rendering_reads_back_as_its_one_address(
    name, address, field
):
    asked = Addressing(from_=address, to=(address,), from_name=name, to_names=(name,))
    known = wire_check._known_addresses(asked)
    rendered = headers.mailbox(field, name, address).replace("\r", "").replace("\n", "")
    if ".." in address.split("@")[1]:
        assert field not in known  # such a domain is not read back as an address
        return
    assert known[field] == (rendered, (address.lower(),))
    read = HeaderRegistry()(field, rendered)
    assert [a.addr_spec.lower() for a in read.addresses] == [address.lower()]
    assert wire_check._read_addresses(field, rendered) == (address.lower(),)


def test_the_composers_from_and_to_are_not_read_through_the_registry(monkeypatch):
    message = compose(to=('Bob "the builder", Prospect', "bob@prospect.test"))
    message.checked = None
    read: list[str] = []
    monkeypatch.setattr(wire_check, "_read_addresses", lambda field, value: read.append(field))
    wire_bytes(message)
    assert read == []


def test_a_to_value_other_than_the_composers_is_read_through_the_registry():
    message = compose()
    message.replace_header("To", '"Bob Prospect" <carl@evil.test>')
    with pytest.raises(WireCheckError, match="To header") as error:
        wire_bytes(message)
    assert error.value.header == "To"


def test_a_from_value_with_the_asked_address_written_differently_is_still_accepted():
    message = compose()
    message.replace_header("From", "Alice Example <ALICE@example.test>")
    assert b"From: Alice Example <ALICE@example.test>\r\n" in wire_bytes(message)
