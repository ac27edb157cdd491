"""Reading a raw message defensively with the stdlib ``email`` package.

Inbound mail is untrusted and often broken: wrong charsets, invalid base64, headers that
are megabytes long, MIME trees nested hundreds deep. Everything here degrades instead of
raising: a header that cannot be decoded is read as Latin-1, a body part that cannot be
decoded is skipped, and every walk over the MIME tree and every text it yields is
bounded, so the cost of a message is linear in its size.

Messages are parsed with the ``compat32`` policy, whose headers are plain strings: it is
several times faster than ``policy.default`` and never raises while reading a header.
Encoded words (RFC 2047) are then decoded here.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.utils
import re
from collections.abc import Iterator
from email.message import Message

from sequencer.domain.text import html_to_text

#: Most MIME parts looked at in one message.
MAX_PARTS = 200
#: Most characters of body text analysed (new text, phrases, dates).
MAX_TEXT = 100_000
#: Most characters of one header value decoded.
MAX_HEADER = 10_000
#: Most Message-IDs kept from a References header (the most recent ones).
MAX_REFERENCES = 100

_MSGID = re.compile(r"<([^<>\s]{1,500})>")
_ENCODED_WORD = "=?"


def parse(raw: bytes) -> Parsed:
    """The message tree of ``raw`` (``compat32``: defects are recorded, not raised).

    Line endings are made ``\n`` first: messages arrive with CRLF (as sent over SMTP
    and stored by most servers), LF (Unix mailboxes) or bare CR (old Mac tools), and
    the parser only splits headers from the body, and parts from each other, on the
    line endings it expects. Done once here, every later check sees the same text."""
    raw = normalise_line_endings(raw)
    return Parsed(email.message_from_bytes(raw), raw)


def normalise_line_endings(raw: bytes) -> bytes:
    """``raw`` with CRLF and bare CR line endings made LF (linear, no copy when it
    has no CR)."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class Parsed:
    """A parsed message with its parts listed once (with their content types) and its
    header names indexed, so the classifier's many checks do not walk the tree or the
    header list again and again."""

    __slots__ = ("_body", "_sender", "msg", "names", "parts", "raw")

    def __init__(self, msg: Message, raw: bytes = b"") -> None:
        self.msg = msg
        self.raw = raw
        self._body: str | None = None
        self._sender: tuple[str, str | None] | None = None
        self.parts: list[tuple[Message, str]] = [(p, content_type(p)) for p in walk(msg)]
        try:
            self.names = frozenset(str(k).lower() for k in msg)
        except Exception:
            self.names = frozenset()

    def has(self, name: str) -> bool:
        """Whether the top-level header ``name`` is present."""
        return name.lower() in self.names

    def header(self, name: str) -> str:
        """The first top-level ``name`` header, decoded; ``""`` when absent."""
        return header(self.msg, name) if name.lower() in self.names else ""

    def headers(self, name: str) -> list[str]:
        """Every top-level ``name`` header, decoded."""
        return headers(self.msg, name) if name.lower() in self.names else []

    def body(self) -> str:
        """:func:`body_text` of the message, read once."""
        if self._body is None:
            self._body = body_text(self.msg)
        return self._body

    def sender(self) -> tuple[str, str | None]:
        """:func:`address` of the From header, read once."""
        if self._sender is None:
            self._sender = address(self.header("From"))
        return self._sender

    def parts_of_type(self, *types: str) -> list[Message]:
        """The parts (at any depth) whose content type is one of ``types``."""
        return [part for part, ctype in self.parts if ctype in types]


def header(msg: Message, name: str) -> str:
    """The first ``name`` header, unfolded and decoded; ``""`` when absent."""
    try:
        value = msg.get(name)
    except Exception:
        return ""
    return decode_header_value(value)


def headers(msg: Message, name: str) -> list[str]:
    """Every ``name`` header, decoded, in order."""
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [decode_header_value(v) for v in values]


def has_header(msg: Message, name: str) -> bool:
    try:
        return msg.get(name) is not None
    except Exception:
        return False


def decode_header_value(value: object) -> str:
    """A header value as text: RFC 2047 encoded words decoded, folding removed."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        # compat32 hands back raw 8-bit header bytes (not allowed, but common) this way.
        try:
            chunks = email.header.decode_header(value)
            text = "".join(_decode_chunk(chunk, charset) for chunk, charset in chunks)
        except Exception:
            text = str(value)
    else:
        text = str(value)
    text = text[:MAX_HEADER]
    if _has_surrogates(text):
        # Raw 8-bit bytes in a header (not allowed, but common): compat32 keeps them as
        # surrogate escapes. They are nearly always UTF-8.
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None)
    if _ENCODED_WORD in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(_decode_chunk(chunk, charset) for chunk, charset in parts)
        except Exception:
            pass
    return " ".join(text.split())


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _decode_chunk(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    return decode_bytes(chunk, charset)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` decoded as ``charset``, falling back to UTF-8 then Latin-1; never raises.

    When neither decodes cleanly, text that is mostly valid UTF-8 (a damaged message:
    few bad bytes, or real multi-byte characters, which Latin-1 text hardly ever
    forms by chance) is read as UTF-8 with the bad bytes replaced; anything else as
    Latin-1, which reads every byte.
    """
    # Japanese mail systems write ISO-2022-JP, which is 7-bit: without a declared
    # charset it would pass as ASCII with its escape sequences left in.
    japanese = "iso-2022-jp" if not charset and b"\x1b$B" in data else None
    for candidate in (charset, japanese, "utf-8"):
        if not candidate:
            continue
        try:
            codec = codecs.lookup(candidate.strip().strip('"').lower())
        except (LookupError, ValueError, TypeError):
            continue
        try:
            return data.decode(codec.name)
        except (UnicodeError, ValueError, LookupError):
            continue
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for c in lenient if c > "\x7f") - bad
    if bad * 50 <= len(lenient) or (good > 0 and bad <= 2 * good):
        return lenient
    return data.decode("latin-1")


def address(value: str) -> tuple[str, str | None]:
    """``(display name, address)`` of the first mailbox in an address header; the
    address is lower-cased, ``None`` when there is none."""
    try:
        name, addr = email.utils.parseaddr(value)
    except Exception:
        return "", None
    addr = addr.strip().lower()
    if "@" not in addr:
        return name, None
    return name, addr


def addresses(value: str) -> list[str]:
    """Every address in an address-list header value, lower-cased."""
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return []
    return [a.strip().lower() for _, a in pairs if "@" in a]


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header value, in order, each in angle brackets. IDs written
    without brackets (some clients do) are accepted when they look like ``x@y``."""
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if found:
        return found
    return [f"<{token.strip('<>')}>" for token in value.split() if "@" in token][:MAX_REFERENCES]


def walk(msg: Message) -> Iterator[Message]:
    """The parts of ``msg`` depth first, at most :data:`MAX_PARTS`, without recursion
    (a hostile message can nest deeper than Python's recursion limit)."""
    stack = [msg]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        return "text/plain"
    # A Content-Type missing its ";" before a folded parameter reads as one token.
    return ctype.split(None, 1)[0] if " " in ctype or "\n" in ctype else ctype


def param(part: Message, name: str, header_name: str = "content-type") -> str:
    try:
        value = part.get_param(name, header=header_name)
    except Exception:
        return ""
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return str(value or "")


def filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return decode_header_value(name)


def is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get("Content-Disposition") or "").lower()
    except Exception:
        return False
    return disposition.startswith("attachment")


def payload_bytes(part: Message) -> bytes:
    """The decoded body of a leaf part (base64 and quoted-printable undone, leniently:
    broken base64 yields what could be read)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def payload_text(part: Message) -> str:
    """The body of a leaf part as text, in its declared charset when that works."""
    data = payload_bytes(part)
    if not data:
        return ""
    return decode_bytes(data[: MAX_TEXT * 4], param(part, "charset") or None)


def body_text(msg: Message) -> str:
    """The readable text of a message: its first ``text/plain`` body part, else its first
    ``text/html`` part turned into text. Attachments, calendar parts and embedded
    messages are not looked into. Bounded by :data:`MAX_TEXT` characters."""
    plain: Message | None = None
    html: Message | None = None
    stack: list[Message] = [msg]
    seen = 0
    while stack and seen < MAX_PARTS and plain is None:
        part = stack.pop()
        seen += 1
        ctype = content_type(part)
        if part.is_multipart():
            if ctype.startswith("multipart/"):
                payload = part.get_payload()
                if isinstance(payload, list):
                    stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        if is_attachment(part):
            continue
        if ctype == "text/plain":
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
    if plain is not None:
        return normalise_newlines(payload_text(plain))[:MAX_TEXT]
    if html is not None:
        # Links stay out: their URLs would only add words to what a reply is read for.
        return html_to_text(payload_text(html), links=False, max_chars=MAX_TEXT)[:MAX_TEXT]
    return ""


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
