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


class WireCheckError(HeaderError):
    """The bytes about to be sent differ from what the composer wrote."""


@dataclass(frozen=True)
class Addressing:
    """Who a message is from and for."""

    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()


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
    # Parsed without a header registry: the structure, the header names and the defects
    # come out the same (the same parser, the same raw values), but no header object is
    # built for every header the parser merely looks at (Content-Type, again and again),
    # which was most of the cost of a send. The address headers are then read exactly as
    # policy.default reads them (_addresses_on_the_wire).
    parsed = BytesParser(policy=policy.compat32).parsebytes(data)
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
    on_the_wire = _addresses_on_the_wire(parsed)
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


def _addresses_on_the_wire(parsed: Message) -> dict[str, tuple[str, ...]]:
    """The ``From``, ``To``, ``Cc`` and ``Bcc`` addresses of a message parsed without
    a header registry, read from its raw values as ``policy.default`` reads them."""
    found: dict[str, tuple[str, ...]] = {field: () for field in _ADDRESS_FIELDS.values()}
    for name, value in parsed.raw_items():
        field = _ADDRESS_FIELDS.get(name.lower())
        if field is not None:
            found[field] += _read_addresses(field, value)
    return found


@functools.lru_cache(maxsize=512)
def _read_addresses(field: str, value: str) -> tuple[str, ...]:
    """The addresses of one raw header value, as ``policy.default`` reads them: its
    ``header_fetch_parse`` joins the folded lines and builds the registry's header.
    Remembered by value: the reading depends on nothing else, and a mailbox's ``From``
    is the same in every email it sends."""
    unfolded = value.replace("\r", "").replace("\n", "")
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
