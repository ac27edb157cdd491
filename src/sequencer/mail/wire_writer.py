"""The bytes of a message whose headers were all stored as written (``set_raw``).

``BytesGenerator`` reads each part's ``Content-Type`` through the header registry to
choose how to write it, again for its boundary, and its ``Content-Transfer-Encoding``
to hand out the payload: about nine header parses for a two-part message, most of the
cost of writing it. When every header value is a plain string, the bytes follow from
the values alone, so :func:`flatten` writes them directly: exactly the bytes that
``BytesGenerator(fp, mangle_from_=False, policy=policy)`` writes, or ``None`` when it
cannot be sure of that (a header object, a header line the policy would fold again,
non-ASCII text, a media type or a structure it does not know), and the caller uses the
generator. ``tests/unit/mail/test_compose_bytes.py`` compares the two.
"""

from __future__ import annotations

import re
from email.message import Message
from email.policy import EmailPolicy
from typing import Any

# The line ends the generator turns into the policy's (Generator._write_lines).
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
# The multiparts the composer builds, with their boundary as the last parameter; the
# generator writes other subtypes differently (multipart/signed is not refolded).
_MULTIPART = re.compile(
    r'multipart/(?:alternative|mixed|related)(?:; type="multipart/alternative")?'
    r'; boundary="([0-9A-Za-z=._-]{1,70})"'
)
# A single part the generator writes as text: any media type but multipart and message
# (RFC 2045 §5.1 tokens, lower case), optionally with the charset the composer writes.
_SINGLE = re.compile(
    r"(?:text|image|audio|video|application|font|model)/[!#$%&'*+\-.0-9^_`a-z{|}~]+"
    r'(?:; charset="utf-8")?'
)


def flatten(message: Message, policy: EmailPolicy[Any]) -> bytes | None:
    """``message`` as ``BytesGenerator(fp, mangle_from_=False, policy=policy)`` writes
    it, or ``None`` if it is not a message this function knows to write the same way."""
    if (
        policy.refold_source != "long"
        or policy.utf8
        or not policy.max_line_length
        or policy.linesep not in ("\r\n", "\n")
    ):
        return None
    out: list[str] = []
    if not _write(message, out, policy.max_line_length, policy.linesep):
        return None
    return "".join(out).encode("ascii")


def _write(part: Message, out: list[str], limit: int, linesep: str) -> bool:
    content_type: str | None = None
    for name, value in part.raw_items():
        if type(value) is not str or not (name.isascii() and value.isascii()):
            return False  # a header object is folded by the registry, not as stored
        lines = value.splitlines()
        # EmailPolicy._fold: a header whose lines fit is written line by line, as stored
        # (a value that fits as a whole has no line to look at).
        if len(name) + 2 + len(value) > limit and (
            (lines and len(lines[0]) + len(name) + 2 > limit)
            or any(len(line) > limit for line in lines[1:])
        ):
            return False
        out.append(f"{name}: {linesep.join(lines)}{linesep}")
        if content_type is None and name.lower() == "content-type":
            content_type = value
    out.append(linesep)
    if content_type is None or part.preamble is not None or part.epilogue is not None:
        return False
    payload = part._payload  # type: ignore[attr-defined]  # as the generator reads it
    multipart = _MULTIPART.fullmatch(content_type)
    if isinstance(payload, list):
        if multipart is None:
            return False
        # RFC 2046 §5.1.1, as Generator._handle_multipart writes it.
        boundary = multipart.group(1)
        out.append(f"--{boundary}{linesep}")
        for index, inner in enumerate(payload):
            if index:
                out.append(f"{linesep}--{boundary}{linesep}")
            if not isinstance(inner, Message) or not _write(inner, out, limit, linesep):
                return False
        out.append(f"{linesep}--{boundary}--{linesep}")
        return True
    if multipart is not None or _SINGLE.fullmatch(content_type) is None:
        return False
    if not isinstance(payload, str) or not payload.isascii():
        return False
    out.append(_LINE_ENDS.sub(linesep, payload))
    return True
