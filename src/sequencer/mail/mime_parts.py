"""The parts of a MIME message, built from header values written here.

``set_content`` stores each content header through the header registry (a parse per
header) and leaves the boundary to the generator, which then reads ``Content-Type``
through the registry again. The composer knows every value in advance, so the parts
are built with ``set_raw`` and encoded bodies instead: the same headers, in the same
order, as ``set_content`` writes them, and bytes that a parser reads back the same.

Bodies are 7-bit clean (not every server offers 8BITMIME, RFC 6152): text whose lines
are ASCII and short goes as it is, anything else as quoted-printable or, when that
would be longer, base64, both in lines of at most 76 characters (RFC 2045 §6.7 rule 5,
§6.8). Text is encoded from its canonical form, CRLF line ends (RFC 2045 §6.8, RFC 2046
§4.1.1), which is what a receiver decodes.
"""

from __future__ import annotations

import binascii
import secrets
import sys
from collections.abc import Iterator, Sequence
from email import policy, quoprimime
from email.message import MIMEPart

# The policy of every part: a caller that changes a part later (``set_content``) gets
# 7-bit encodings and CRLF line ends, as for the parts built here.
BODY_POLICY = policy.SMTP.clone(cte_type="7bit")

# RFC 2045 §6.7 rule 5 and §6.8: encoded lines hold at most 76 characters.
_ENCODED_LINE = 76
# A text line longer than this is encoded even when it is ASCII: RFC 5322 §2.1.1 asks
# for lines within 78 characters.
_PLAIN_LINE = 78
# Bytes per base64 line: 57 bytes give 76 characters.
_BASE64_CHUNK = _ENCODED_LINE // 4 * 3
# Random digits in a boundary, as the email package's generator writes them.
_BOUNDARY_DIGITS = len(str(sys.maxsize))


def text_part(content: str, subtype: str) -> MIMEPart:
    """A ``text/<subtype>`` part in UTF-8. MIMEPart, not EmailMessage: only the top
    level carries MIME-Version (RFC 2045 §4)."""
    encoding, payload = encode_text(content)
    part = MIMEPart(policy=BODY_POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", encoding)
    part.set_payload(payload)
    return part


def data_part(
    content: bytes, maintype: str, subtype: str, headers: Sequence[tuple[str, str]] = ()
) -> MIMEPart:
    """A base64 part of ``maintype/subtype`` (RFC 2045 tokens, see
    :func:`sequencer.mail.headers.media_type`), then ``headers`` as given (already in
    their wire form)."""
    part = MIMEPart(policy=BODY_POLICY)
    part.set_raw("Content-Type", f"{maintype}/{subtype}")
    part.set_raw("Content-Transfer-Encoding", "base64")
    for name, value in headers:
        part.set_raw(name, value)
    part.set_payload(_base64_lines(content))
    return part


def multipart(subtype: str, parts: list[MIMEPart], params: str = "") -> MIMEPart:
    """A ``multipart/<subtype>`` of ``parts``; ``params`` are written before the
    boundary (``; type="..."``)."""
    part = MIMEPart(policy=BODY_POLICY)
    boundary = _boundary(parts)
    part.set_raw("Content-Type", f'multipart/{subtype}{params}; boundary="{boundary}"')
    part.set_payload(parts)  # type: ignore[arg-type]  # a list of parts is a multipart payload
    return part


def encode_text(content: str) -> tuple[str, str]:
    """``(Content-Transfer-Encoding, payload)`` of ``content`` in UTF-8; the payload's
    lines end in LF (the writer puts CRLF on the wire)."""
    lines = content.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if body.isascii() and all(len(line) <= _PLAIN_LINE for line in lines):
        return "7bit", body.decode("ascii")
    quoted = quoprimime.body_encode(body.decode("latin-1"), _ENCODED_LINE)
    canonical = b"\r\n".join(lines) + b"\r\n"
    # Quoted-printable stays readable, so it is preferred unless base64 is shorter
    # (mostly non-Latin text): 4 characters per 3 bytes and a line end per line.
    base64_length = (len(canonical) + 2) // 3 * 4 + -(-len(canonical) // _BASE64_CHUNK)
    if len(quoted) > base64_length:
        return "base64", _base64_lines(canonical)
    return "quoted-printable", quoted


def _base64_lines(data: bytes) -> str:
    return "".join(
        binascii.b2a_base64(data[i : i + _BASE64_CHUNK]).decode("ascii")
        for i in range(0, len(data), _BASE64_CHUNK)
    )


def _boundary(parts: list[MIMEPart]) -> str:
    """A boundary that occurs nowhere in ``parts`` (RFC 2046 §5.1.1: it must not
    appear inside the encapsulated parts), in the email package's form: ``=`` cannot
    appear unencoded in quoted-printable or base64 text, and the digits are random."""
    inside = "\n".join(_texts(parts))
    while True:
        digits = str(secrets.randbelow(sys.maxsize)).zfill(_BOUNDARY_DIGITS)
        boundary = f"{'=' * 15}{digits}=="
        if boundary not in inside:
            return boundary


def _texts(parts: list[MIMEPart]) -> Iterator[str]:
    """Every header value and body of ``parts`` and of the parts inside them."""
    for top in parts:
        for part in top.walk():
            yield from (str(value) for _, value in part.raw_items())
            # The payload as stored (get_payload would read Content-Transfer-Encoding
            # through the header registry first).
            payload = part._payload  # type: ignore[attr-defined]
            if isinstance(payload, str):
                yield payload
