"""The last look at a message before it leaves: its bytes say what the composer meant.

Header values are written so that no text from people can end a header line (see
:mod:`sequencer.mail.headers`), but the Gmail API and Microsoft Graph read the
recipients from the bytes themselves, so the bytes are checked once more, as a receiver
would parse them: every part has exactly the header lines that were set on purpose, in
order, none of them holding a control character or a bare line break, and
``From``/``To``/``Cc``/``Bcc`` name exactly the addresses that were asked for.
Anything else raises :class:`WireCheckError` naming the header, and nothing is sent.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from email import errors, policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any, cast

from sequencer.mail import headers
from sequencer.mail.headers import HeaderError

# In a header block only CR LF pairs and tabs may be control characters, and every byte
# is ASCII (RFC 5322 §2.2; no SMTPUTF8 here).
_UNSAFE_HEADER_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]|\r(?!\n)|(?<!\r)\n")
_HEADER_BYTES = bytes(range(0x20, 0x7F)) + b"\t\r\n"

# The same in a value parsed back (bytes beyond ASCII come back as surrogates); a line
# break in it is the fold before a continuation line.
_UNSAFE_HEADER_TEXT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\U0010ffff]|\r(?!\n[ \t])|(?<!\r)\n"
)

# RFC 5322 §2.2: a header line is "name:" or the continuation of a folded one.
_HEADER_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+):|[ \t]")
# A header block of such lines only (the usual case, checked in one match).
_HEADER_BLOCK = re.compile(
    rb"(?:[\x21-\x39\x3b-\x7e]+:|[ \t])[^\r\n]*(?:\r\n(?:[\x21-\x39\x3b-\x7e]+:|[ \t])[^\r\n]*)*"
)
_STRUCTURE_DEFECTS = (
    errors.MissingHeaderBodySeparatorDefect,
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
)
# The headers that name people, by their names in lower case.
_ADDRESS_FIELDS = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc"}

# The Content-Type of a multipart as the composer writes it (sequencer.mail.mime_parts),
# with a boundary in the email package's form: 15 "=", random digits, "==".
_COMPOSED_MULTIPART = re.compile(
    r'multipart/(?:alternative|mixed|related)(?:; type="multipart/alternative")?'
    r'; boundary="(={15}([0-9]+)==)"'
)
# The bytes such a boundary is made of. Every occurrence of a boundary that is renamed
# must be a whole run of them (see _with_canonical_boundaries).
_BOUNDARY_BYTES = frozenset(b"=0123456789")


class WireCheckError(HeaderError):
    """The bytes about to be sent differ from what the composer wrote."""


@dataclass(frozen=True)
class Addressing:
    """Who a message is from and for."""

    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    # The display names the composer wrote with ``from_`` and with each of ``to``
    # (None: not known). With them, a ``From``/``To`` value on the wire that is exactly
    # what the composer writes for them needs no parsing (see _known_addresses).
    from_name: str | None = None
    to_names: tuple[str, ...] | None = None


def header_names(message: Message) -> list[list[str]]:
    """The header names of every part of ``message``, depth first."""
    return [list(part.keys()) for part in message.walk()]


def check_wire(data: bytes, sent: EmailMessage, asked: Addressing | None) -> None:
    """Raise :class:`WireCheckError` unless ``data``, the bytes of ``sent``, parse back to
    parts with exactly the header names ``sent`` has, and to the same ``From``, ``To``
    and ``Cc`` addresses (``Bcc`` never goes on the wire). With ``asked``, ``From`` and
    ``To`` on the wire must be the asked addresses (and so must those of ``sent``,
    whose bytes these are)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    _check_head(head)
    canonical = _with_canonical_boundaries(data, sent)
    if canonical is not None:
        renamed, tokens = canonical
        # Parsed without a header registry: see _check_parsed.
        parsed = BytesParser(policy=policy.compat32).parsebytes(renamed)
        if _renamed_as_meant(parsed, tokens):
            try:
                _check_parsed(parsed, sent, asked)
            except WireCheckError:
                pass  # refused below from the bytes themselves, with the same error
            else:
                return
    _check_parsed(BytesParser(policy=policy.compat32).parsebytes(data), sent, asked)


def _check_parsed(parsed: Message, sent: EmailMessage, asked: Addressing | None) -> None:
    """The checks of :func:`check_wire` on the message its bytes parse back to."""
    # Parsed without a header registry: the structure, the header names and the defects
    # come out the same (the same parser, the same raw values), but no header object is
    # built for every header the parser merely looks at (Content-Type, again and again),
    # which was most of the cost of a send. The address headers are then read exactly as
    # policy.default reads them (_addresses_on_the_wire).
    for part in parsed.walk():
        broken = [d for d in part.defects if isinstance(d, _STRUCTURE_DEFECTS)]
        if broken:
            raise WireCheckError("Content-Type", f"The MIME structure is broken: {broken[0]!r}.")
        if part is not parsed:
            _check_part_head(part)
    _check_names(header_names(parsed), header_names(sent))
    if asked is None:
        meant_from, meant_to = ",".join(_addresses(sent, "From")), _addresses(sent, "To")
    else:
        # The bytes were written from ``sent``: bytes that name exactly the asked
        # addresses show that its headers do too, without reading them a second time.
        meant_from, meant_to = asked.from_, asked.to
    on_the_wire = _addresses_on_the_wire(parsed, _known_addresses(asked))
    _compare(
        {"From": (meant_from,), "To": meant_to, "Cc": _addresses(sent, "Cc"), "Bcc": ()},
        {
            "From": (",".join(on_the_wire["From"]),),
            "To": on_the_wire["To"],
            "Cc": on_the_wire["Cc"],
            "Bcc": on_the_wire["Bcc"],
        },
        "on the wire",
    )


def _with_canonical_boundaries(data: bytes, sent: EmailMessage) -> tuple[bytes, set[str]] | None:
    """``data`` with each multipart boundary of ``sent`` replaced by a fixed token of the
    same form and length, and those tokens; None when that is not plainly a renaming.

    Why: for every multipart the parser compiles a regular expression from its boundary
    (email.feedparser), and the composer's boundaries are random, so the ``re`` module's
    cache never holds it: that compilation was close to half the cost of the parse. With
    the same tokens in every message the pattern comes from the cache.

    Why the parse is the same: a boundary is an opaque token (RFC 2046 §5.1.1) that the
    parser only ever compares with whole lines. A token differs from its boundary only
    in its digits, which nothing else in a parse looks at (header names, line ends,
    ``From `` lines and ``;``/``=``/``"`` in parameters are not digits); it has the same
    length, so every line keeps its length. The renaming is a bijection of these bytes:
    every occurrence of a boundary is a whole run of ``=`` and digits (so occurrences
    never overlap, and a token never extends into neighbouring bytes), and no token
    occurs in ``data`` or in another token or boundary, so the tokens in the result are
    exactly the renamed boundaries. :func:`_renamed_as_meant` then makes sure the parser
    took each multipart's boundary from one of them."""
    boundaries: list[tuple[str, str]] = []
    for part in sent.walk():
        if not part.is_multipart():
            continue
        value = next((v for n, v in part.raw_items() if n.lower() == "content-type"), None)
        composed = _COMPOSED_MULTIPART.fullmatch(value) if isinstance(value, str) else None
        if composed is None:
            return None
        boundary, digits = composed.group(1, 2)
        number = str(len(boundaries))
        if len(number) > len(digits):
            return None
        boundaries.append((boundary, "=" * 15 + number.zfill(len(digits)) + "=="))
    if not boundaries or len({boundary for boundary, _ in boundaries}) != len(boundaries):
        return None
    texts = [text.encode("ascii") for pair in boundaries for text in pair]
    renamed = data
    for at in range(0, len(texts), 2):
        boundary, token = texts[at], texts[at + 1]
        if token in data or not _whole_runs(data, boundary):
            return None
        if any(token in other for other in texts[: at + 1] + texts[at + 2 :]):
            return None
        renamed = renamed.replace(boundary, token)
    return renamed, {token for _, token in boundaries}


def _whole_runs(data: bytes, boundary: bytes) -> bool:
    """Whether every occurrence of ``boundary`` in ``data`` is a whole run of ``=`` and
    digits (neither byte next to it is one)."""
    at = data.find(boundary)
    while at != -1:
        end = at + len(boundary)
        if (at and data[at - 1] in _BOUNDARY_BYTES) or (
            end < len(data) and data[end] in _BOUNDARY_BYTES
        ):
            return False
        at = data.find(boundary, at + 1)
    return True


def _renamed_as_meant(parsed: Message, tokens: set[str]) -> bool:
    """Whether every multipart of the bytes with canonical boundaries has the composer's
    Content-Type with one of the tokens as its boundary (then the original bytes have
    the same value with the boundary the token replaced), and no address header holds a
    token (a renamed boundary there would change the addresses read)."""
    for part in parsed.walk():
        if part.get_content_maintype() != "multipart":
            continue
        composed = _COMPOSED_MULTIPART.fullmatch(part.get("Content-Type", ""))
        if composed is None or composed.group(1) not in tokens:
            return False
    return not any(
        token in value
        for name, value in parsed.raw_items()
        if name.lower() in _ADDRESS_FIELDS
        for token in tokens
    )


def _check_head(head: bytes) -> None:
    """The message's header block: ASCII, no control characters but CR LF and tab,
    every line a header or the continuation of one."""
    # Counted first (C speed): nothing outside printable ASCII, tab, CR and LF, and as
    # many CR LF pairs as CRs and as LFs; only bytes that fail are searched for the header.
    clean = not head.translate(None, _HEADER_BYTES) and (
        head.count(b"\r") == head.count(b"\n") == head.count(b"\r\n")
    )
    bad = None if clean else _UNSAFE_HEADER_BYTES.search(head)
    if bad is not None:
        line = head[: bad.start()].rsplit(b"\r\n", 1)[-1].split(b":", 1)[0]
        name = line.decode("ascii", "replace")
        raise WireCheckError(
            name, f"The {name} header holds a control character or a bare line break."
        )
    if _HEADER_BLOCK.fullmatch(head) is not None:
        return
    current = "header block"
    for line in head.split(b"\r\n"):
        field = _HEADER_LINE.match(line)
        if field is None:
            raise WireCheckError(
                current, f"The {current} header is followed by a line that is not a header."
            )
        if field.group(1):
            current = field.group(1).decode("ascii")


def _check_part_head(part: Message) -> None:
    """A MIME part's header values as parsed back hold no control character and no line
    break but the folds. (A line that is not a header ends a part's header block, so
    the names of its headers then differ from those the composer set.)"""
    for name, value in part.raw_items():
        if _UNSAFE_HEADER_TEXT.search(value) is not None:
            raise WireCheckError(
                name, f"The {name} header holds a control character or a bare line break."
            )


def _check_names(found: list[list[str]], expected: list[list[str]]) -> None:
    if len(found) != len(expected):
        raise WireCheckError(
            "Content-Type",
            f"The message on the wire has {len(found)} MIME parts, not {len(expected)}.",
        )
    for part, (have, want) in enumerate(zip(found, expected, strict=True)):
        have_lower, want_lower = [n.lower() for n in have], [n.lower() for n in want]
        if have_lower == want_lower:
            continue
        where = "the message" if part == 0 else f"MIME part {part}"
        extra = [
            name for name in have if have_lower.count(name.lower()) > want_lower.count(name.lower())
        ]
        if extra:
            raise WireCheckError(
                extra[0], f"The {extra[0]} header in {where} was not added by the composer."
            )
        missing = [n for n in want if have_lower.count(n.lower()) < want_lower.count(n.lower())]
        name = missing[0] if missing else want[0]
        raise WireCheckError(name, f"The {name} header of {where} is missing or out of place.")


def _addresses_on_the_wire(
    parsed: Message, known: dict[str, tuple[str, tuple[str, ...]]]
) -> dict[str, tuple[str, ...]]:
    """The ``From``, ``To``, ``Cc`` and ``Bcc`` addresses of a message parsed without
    a header registry, read from its raw values as ``policy.default`` reads them.
    ``known``: by field, a value (unfolded) and the addresses it is known to name."""
    found: dict[str, tuple[str, ...]] = {field: () for field in _ADDRESS_FIELDS.values()}
    for name, value in parsed.raw_items():
        field = _ADDRESS_FIELDS.get(name.lower())
        if field is None:
            continue
        unfolded = value.replace("\r", "").replace("\n", "")
        if field in known and known[field][0] == unfolded:
            found[field] += known[field][1]
        else:
            found[field] += _read_addresses(field, unfolded)
    return found


def _known_addresses(asked: Addressing | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """By field, the value the composer writes for the asked ``From`` and ``To`` (one
    mailbox each, with its display name), unfolded, and the address it names.

    A value on the wire that is exactly this one names exactly that address: whatever
    the display name, :func:`sequencer.mail.headers.mailbox` writes a value that
    ``policy.default`` reads back as that one address (a property test holds it to
    this), so reading it again through the header registry would say nothing new."""
    known: dict[str, tuple[str, tuple[str, ...]]] = {}
    if asked is None:
        return known
    if asked.from_name is not None:
        rendered = _rendered("From", asked.from_name, asked.from_)
        if rendered is not None:
            known["From"] = (rendered, (asked.from_.lower(),))
    if asked.to_names is not None and len(asked.to) == len(asked.to_names) == 1:
        rendered = _rendered("To", asked.to_names[0], asked.to[0])
        if rendered is not None:
            known["To"] = (rendered, (asked.to[0].lower(),))
    return known


@functools.lru_cache(maxsize=64)
def _rendered(field: str, display_name: str, address: str) -> str | None:
    """``headers.mailbox`` of them, unfolded; None for an address that is not a plain
    dot-atom address (the property test covers those only). Remembered: a mailbox's
    ``From`` is the same in every email it sends."""
    if not headers.is_plain_address(address):
        return None
    try:
        value = headers.mailbox(field, display_name, address)
    except HeaderError:
        return None
    return value.replace("\r", "").replace("\n", "")


@functools.lru_cache(maxsize=512)
def _read_addresses(field: str, unfolded: str) -> tuple[str, ...]:
    """The addresses of one raw header value, unfolded, as ``policy.default`` reads
    them: its ``header_fetch_parse`` joins the folded lines (removes CR and LF) and
    builds the registry's header. Remembered by value: the reading depends on nothing
    else, and a mailbox's ``From`` is the same in every email it sends."""
    return _addresses_of([_header_class(field)(field, unfolded)], field)


@functools.cache
def _header_class(field: str) -> type[BaseHeader]:
    # The registry builds this class anew on every call; it is the same class each time.
    return cast(HeaderRegistry, policy.default.header_factory)[field]


def _addresses(message: Message, field: str) -> tuple[str, ...]:
    return _addresses_of(message.get_all(field, []), field)


def _addresses_of(values: list[Any], field: str) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        addresses = getattr(value, "addresses", None)
        if addresses is None:  # a message not read with a header registry (compat32)
            found += [addr.lower() for _, addr in getaddresses([str(value)]) if addr]
            continue
        if not addresses and getattr(value, "defects", None):
            raise WireCheckError(field, f"The {field} header cannot be read.")
        found += [a.addr_spec.lower() for a in addresses]
    return tuple(found)


def _compare(
    want: dict[str, tuple[str, ...]], have: dict[str, tuple[str, ...]], where: str
) -> None:
    for field, addresses in want.items():
        wanted = tuple(a.lower() for a in addresses)
        if have[field] != wanted:
            raise WireCheckError(
                field,
                f"The {field} header {where} names {', '.join(have[field]) or 'nobody'}, "
                f"not {', '.join(wanted) or 'nobody'}.",
            )
