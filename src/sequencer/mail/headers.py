"""Header values written by hand, so that what goes on the wire is exactly what was meant.

Why not leave it to the ``email`` package: its header parser (CPython 3.11) decodes
RFC 2047 encoded words wherever it meets ``=?...?=`` -- in a subject, inside a display
name, even inside a quoted MIME parameter -- and its folder then writes the decoded text
back as it is. A first name ``=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?=`` thus becomes a real
CR LF and a ``Bcc`` header on the wire. So every value that carries text from people
(subject, display names, extra headers, attachment names) is rendered here into its
final ASCII form and stored with ``set_raw``, which the generator writes unchanged:

* the text is first made *visible*: control characters are removed, and line breaks and
  tabs become a space (RFC 5322 §2.2: a header body holds no CR or LF of its own);
* text that is printable ASCII and holds no ``=?`` goes as it is;
* anything else goes as RFC 2047 encoded words that encode every character, ``=`` and
  ``?`` included, so a receiver decodes them exactly once, back to the visible text. On
  the wire the only ``=?`` are the ones written here.

Everything is pure string work, linear in the length of the value.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

# Line-breaking characters (those ``str.splitlines`` splits on) and tabs: a space each run.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
# Every other control character (C0, DEL, C1) and lone surrogates: removed.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# RFC 5322 §3.2.3 atext, for a display name that needs no quoting.
_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
# RFC 5322 §3.4.1 addr-spec with dot-atoms on both sides (no quoted local parts, no
# literals): what a mailbox or a recipient address may be.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_ADDR_SPEC = re.compile(rf"{_DOT_ATOM}@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
# The same with a domain of dot-separated labels (no ".."): the plain addresses whose
# wire forms readers agree on (see is_plain_address).
_PLAIN_ADDRESS = re.compile(rf"{_DOT_ATOM}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*")
# RFC 5322 §3.6.4 msg-id, printable ASCII without brackets or whitespace inside.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
# RFC 5322 §3.6.8 field name: printable ASCII except ":".
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
# RFC 2045 §5.1 token, for a media type's two halves.
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# RFC 2047 §5(3): the only characters a "Q" encoded word in a phrase may show as they
# are; using this restricted set everywhere keeps one encoder for every place.
_Q_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")

# RFC 5322 §2.1.1: lines SHOULD stay within 78 characters and MUST within 998.
SOFT_LINE = 78
HARD_LINE = 998
# RFC 2047 §2: an encoded word is at most 75 characters.
_MAX_WORD = 75
_CHROME = len("=?utf-8?q??=")
# Longer attachment names than file systems allow are cut.
_MAX_FILENAME = 255


class HeaderError(ValueError):
    """A header value that cannot be written safely; ``header`` names the field."""

    def __init__(self, header: str, message: str) -> None:
        super().__init__(message)
        self.header = header


def visible_text(value: str) -> str:
    """``value`` as a header may carry it: no control characters, each run of line
    breaks or tabs one space, no spaces at either end."""
    return _BREAKS.sub(" ", _CONTROLS.sub("", value)).strip(" ")


def _is_plain(text: str) -> bool:
    return _PRINTABLE_ASCII.fullmatch(text) is not None and "=?" not in text


def _q_char(char: str) -> str:
    if char == " ":
        return "_"
    return "".join(
        chr(byte) if byte in _Q_LITERAL else f"={byte:02X}" for byte in char.encode("utf-8")
    )


def _encoded_chunks(text: str, first_room: int) -> list[str]:
    """``text`` as encoded words of at most ``_MAX_WORD`` characters, the first fitting
    in ``first_room`` characters and the others in a folded line. Each word holds whole
    characters (RFC 2047 §5: a multi-byte character is never split)."""
    q_length = sum(len(_q_char(c)) for c in text)
    b_length = (len(text.encode("utf-8")) + 2) // 3 * 4
    # "Q" stays readable in raw form; like the email package, prefer it unless it is
    # clearly longer.
    use_q = q_length - b_length < 5
    words: list[str] = []
    room = max(first_room, 0)
    current: list[str] = []
    used = 0  # payload characters in the current word
    pending = b""
    for char in text:
        if use_q:
            piece = _q_char(char)
            size = used + len(piece)
        else:
            raw = pending + char.encode("utf-8")
            size = (len(raw) + 2) // 3 * 4
        if current and size + _CHROME > min(room, _MAX_WORD):
            words.append(_word(current, pending, use_q))
            current, used, pending = [], 0, b""
            room = SOFT_LINE - 1  # a continuation line starts with one space
            if use_q:
                size = len(piece)
        current.append(char)
        if use_q:
            used = size
        else:
            pending += char.encode("utf-8")
    if current:
        words.append(_word(current, pending, use_q))
    return words


def _word(chars: list[str], raw: bytes, use_q: bool) -> str:
    if use_q:
        return "=?utf-8?q?" + "".join(_q_char(c) for c in chars) + "?="
    return "=?utf-8?b?" + base64.b64encode(raw).decode("ascii") + "?="


def _fold(words: list[str], start: int, limit: int) -> str:
    """Words joined by spaces, a line folded (CRLF SP, RFC 5322 §2.2.3) before a word
    that would pass ``limit`` characters. ``start``: characters already on the first
    line. Unfolding (removing each CRLF) gives the words joined by spaces back."""
    out: list[str] = []
    column = start
    for word in words:
        if out and column + 1 + len(word) > limit:
            out.append("\r\n ")
            column = 1
        elif out:
            out.append(" ")
            column += 1
        out.append(word)
        column += len(word)
    return "".join(out)


def _fold_words(words: list[str], start: int) -> str:
    """Encoded words folded to keep lines within 78 characters."""
    return _fold(words, start, SOFT_LINE)


def _fold_plain(text: str, start: int) -> str:
    """Plain text folded at its spaces only where a line would pass 998 characters."""
    if start + len(text) <= HARD_LINE:
        return text
    return _fold(text.split(" "), start, HARD_LINE)


def _fits_plain(text: str, start: int) -> bool:
    words = text.split(" ")
    return all(len(w) + 1 <= HARD_LINE for w in words) and start + len(words[0]) <= HARD_LINE


def unstructured(name: str, value: str) -> str:
    """The wire form of an unstructured header (``Subject``, RFC 5322 §3.2.5)."""
    text = visible_text(value)
    start = len(name) + 2
    if _is_plain(text) and _fits_plain(text, start):
        return _fold_plain(text, start)
    return _fold_words(_encoded_chunks(text, SOFT_LINE - start), start)


def address(name: str, value: str) -> str:
    """``value`` checked as a plain ASCII addr-spec; :class:`HeaderError` if not."""
    if _ADDR_SPEC.fullmatch(value) is None:
        raise HeaderError(
            name, f"The {name} address {value!r} is not a valid email address (user@domain)."
        )
    return value


def is_plain_address(value: str) -> bool:
    """Whether ``value`` is a dot-atom address on both sides of its "@" (RFC 5322
    §3.4.1, ASCII, no quoting, no ".."): one that smtplib quotes as ``<value>`` and that
    policy.default reads back from :func:`mailbox` as itself. :func:`address` accepts
    a little more (a domain holding ".."), which those readers do not agree on."""
    return _PLAIN_ADDRESS.fullmatch(value) is not None


def mailbox(name: str, display_name: str, addr_spec: str) -> str:
    """The wire form of one mailbox (``Alice <alice@x.test>``, RFC 5322 §3.4)."""
    addr = address(name, addr_spec)
    text = visible_text(display_name)
    if not text:
        return addr
    start = len(name) + 2
    tail = f" <{addr}>"
    if _is_plain(text) and start + len(text) + 2 + len(tail) <= HARD_LINE:
        if _ATOM_PHRASE.fullmatch(text):
            return text + tail
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' + tail
    # RFC 2047 §5(3): encoded words may stand for words of a phrase. A display name
    # that fits one encoded word gets one: decoders disagree about the space between
    # two (RFC 2047 §6.2 drops it, Python's parser keeps it).
    words = _encoded_chunks(text, SOFT_LINE - start)
    folded = _fold_words(words, start)
    last_line = folded.rsplit("\r\n", 1)[-1]
    column = len(last_line) + (start if "\r\n" not in folded else 0)
    return folded + ("\r\n" if column + len(tail) > SOFT_LINE else "") + tail


def message_id(name: str, value: str) -> str:
    """``value`` checked as one ``<id@domain>``; :class:`HeaderError` if not."""
    value = value.strip()
    if _MSG_ID.fullmatch(value) is None:
        raise HeaderError(name, f"{name} {value!r} is not a message id such as <id@domain>.")
    return value


def message_ids(name: str, values: list[str]) -> str:
    """Several message ids (``References``), folded at spaces when very long."""
    return _fold_plain(" ".join(message_id(name, v) for v in values), len(name) + 2)


def field_name(value: str) -> str:
    if _FIELD_NAME.fullmatch(value) is None:
        raise HeaderError(value, f"{value!r} is not a header name.")
    return value


def bracketable(name: str, uri: str) -> str:
    """``uri`` if it can stand in angle brackets (RFC 2369 §2): printable ASCII without
    spaces or angle brackets, which would end it early (and CR/LF would inject a
    header); else :class:`HeaderError` naming ``name``."""
    if not uri or re.fullmatch(r"[\x21-\x3b\x3d\x3f-\x7e]+", uri) is None:
        raise HeaderError(name, f"{name} needs URIs without spaces or angle brackets.")
    return uri


def uri_list(name: str, uris: list[str]) -> str:
    """``<uri>, <uri>`` (RFC 2369 §2), each URI :func:`bracketable`.

    On one line while the header fits in 998 characters, else folded between the URIs
    (RFC 2369 §2 lets whitespace stand there): a line the email package cannot fold it
    would RFC 2047-encode, which breaks the URIs. A URI that does not fit on a line of
    its own is refused, naming the header."""
    items = [f"<{bracketable(name, uri)}>" for uri in uris]
    start = len(name) + 2  # "Name: "
    if start + len(", ".join(items)) <= HARD_LINE:
        return ", ".join(items)
    # The first line holds the name and the first URI; each other one a space, a URI
    # and the comma before the next.
    room = HARD_LINE - start - 1
    longest = max(items, key=len)
    if len(longest) > room:
        raise HeaderError(
            name,
            f"{name} holds a URI of {len(longest) - 2} characters; at most {room - 2} fit "
            "in a header line.",
        )
    return ",\r\n ".join(items)


def media_type(value: str) -> tuple[str, str]:
    """``(maintype, subtype)`` of ``value``; ``application/octet-stream`` when either half
    is not an RFC 2045 token (an attachment is still sent, as plain data)."""
    maintype, _, subtype = value.strip().partition("/")
    if _TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype):
        return maintype.lower(), subtype.lower()
    return "application", "octet-stream"


def content_id(value: str) -> str:
    """``<id>`` for a Content-ID (RFC 2392); :class:`HeaderError` when the id holds
    anything but printable ASCII without brackets or spaces."""
    bare = value.strip().strip("<>")
    if not bare or re.fullmatch(r"[\x21-\x3b\x3d\x3f-\x7e]+", bare) is None:
        raise HeaderError("Content-ID", f"The inline image id {value!r} is not usable.")
    return f"<{bare}>"


def disposition(kind: str, filename: str) -> str:
    """``attachment; filename=...`` (RFC 2183 §2.3). A name that is not plain ASCII goes
    in RFC 2231 form, percent-encoded (split into continuations ``filename*0*=...`` when
    long): never a quoted string a parser would look into for encoded words, and never a
    line a generator would have to fold again."""
    name = visible_text(filename).replace("\\", "").replace('"', "")[:_MAX_FILENAME].strip()
    if not name:
        return kind
    if _is_plain(name):
        return f'{kind}; filename="{name}"'
    encoded = quote(name, safe="")
    if len(encoded) <= 900:
        return f"{kind}; filename*=utf-8''{encoded}"
    pieces: list[str] = []
    while encoded:
        cut = min(70, len(encoded))
        # Never split a %XX escape between two continuations.
        percent = encoded.rfind("%", max(cut - 2, 0), cut)
        if percent != -1 and cut < len(encoded):
            cut = percent
        pieces.append(encoded[:cut])
        encoded = encoded[cut:]
    pieces[0] = "utf-8''" + pieces[0]  # RFC 2231 §4: charset and language on the first
    parts = [f"filename*{i}*={piece}" for i, piece in enumerate(pieces)]
    return kind + ";\r\n " + ";\r\n ".join(parts)
