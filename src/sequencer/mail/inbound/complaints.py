"""Feedback reports: a receiver telling the sender that someone reported its message.

**ARF** (RFC 5965), as Yahoo, AOL, Outlook.com's feedback loop, Comcast, Fastmail and
others send it, is a ``multipart/report; report-type=feedback-report`` whose
``message/feedback-report`` part holds fields such as ``Feedback-Type: abuse``,
``User-Agent``, ``Original-Rcpt-To`` and ``Original-Mail-From``, followed by the reported
message (``message/rfc822``) or its headers (``text/rfc822-headers``). RFC 6591 uses the
same form for authentication failure reports (``Feedback-Type: auth-failure``): those
are kept apart by their type, since no person complained.

**Microsoft's older JMRP form** sends the reported message as a ``message/rfc822``
attachment whose headers carry ``X-HmXmrOriginalRecipient``: the person who complained.

**Amazon SES** forwards complaints as a JSON notification (``"notificationType":
"Complaint"``), read in :mod:`.notifications`.

The complained-about address is ``Original-Rcpt-To`` (or the older
``Removal-Recipient``), else the reported message's ``To``; the Message-ID is the
reported message's.
"""

from __future__ import annotations

import re
from email.message import Message

from sequencer.mail.inbound import mime
from sequencer.mail.inbound.events import ComplaintInfo

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
_KNOWN_TYPES = frozenset({"abuse", "fraud", "virus", "other", "not-spam", "auth-failure"})
#: Most fields read from one report.
MAX_FIELDS = 200


def report_fields(text: str) -> list[tuple[str, str]]:
    """``(lower-case name, value)`` of each ``Name: value`` line in ``text`` (folded
    continuation lines joined), at most :data:`MAX_FIELDS`; other lines are skipped."""
    fields: list[tuple[str, str]] = []
    for line in text[: mime.MAX_TEXT].split("\n"):
        if line[:1] in (" ", "\t") and fields and line.strip():
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
            continue
        match = _FIELD.match(line.strip())
        if match:
            fields.append((match.group(1).lower(), match.group(2).strip()))
            if len(fields) >= MAX_FIELDS:
                break
    return fields


def part_text(part: Message) -> str:
    """The text of a report part, whether the parser split it into header blocks (as
    it does ``message/*`` types) or left it as a body."""
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for block in payload[:MAX_FIELDS]:
            if not isinstance(block, Message):
                continue
            lines = [f"{k}: {mime.decode_header_value(v)}" for k, v in block.items()]
            inner = block.get_payload()
            if isinstance(inner, str):
                lines.append(inner)
            chunks.append("\n".join(lines))
        return "\n\n".join(chunks)[: mime.MAX_TEXT]
    return mime.normalise_newlines(mime.payload_text(part))


def returned_headers(msg: mime.Parsed) -> Message | None:
    """The headers of the message a report returns: its ``message/rfc822`` part (or
    ``text/rfc822-headers`` part, parsed), if any."""
    for part, ctype in msg.parts:
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return inner
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            # Only a few fields are ever read: picked out of the text, which is much
            # cheaper than parsing it again as a message.
            headers = Message()
            for name, value in report_fields(part_text(part)):
                if name in ("message-id", "to", "from", "subject") and name not in headers:
                    headers[name] = value
            return headers
    return None


def _first_id(original: Message | None) -> str | None:
    if original is None:
        return None
    ids = mime.message_ids(mime.header(original, "Message-ID"))
    return ids[0] if ids else None


def _to_of(original: Message | None) -> list[str]:
    if original is None:
        return []
    return mime.addresses(mime.header(original, "To"))[:10]


_JMRP_LINE = re.compile(r"^x-hmxmroriginalrecipient[ \t]*:", re.IGNORECASE | re.MULTILINE)
_FEEDBACK_TYPE_LINE = re.compile(r"^feedback-type[ \t]*:[ \t]*[a-z]", re.IGNORECASE | re.MULTILINE)


def _complaint(
    fields: list[tuple[str, str]], original: Message | None, reporter: str | None = None
) -> ComplaintInfo:
    values: dict[str, list[str]] = {}
    for name, value in fields:
        values.setdefault(name, []).append(value)
    kind = (values.get("feedback-type", ["abuse"])[0].split() or ["abuse"])[0].lower()
    recipients: list[str] = []
    for name in ("original-rcpt-to", "removal-recipient"):
        for value in values.get(name, []):
            recipients += mime.addresses(value.split(";", 1)[-1])
    if not recipients:
        recipients = _to_of(original)
    return ComplaintInfo(
        feedback_type=kind if kind in _KNOWN_TYPES else "other",
        recipients=tuple(dict.fromkeys(recipients)),
        original_message_id=_first_id(original),
        reporter=reporter or (values.get("user-agent", [""])[0][:200] or None),
    )


def _from_text(text: str) -> ComplaintInfo | None:
    """A report whose MIME structure was lost (a dropped Content-Type leaves its parts
    as one text): the fields after ``Feedback-Type``, and the first ``To`` and
    ``Message-ID`` after them, the reported message's; or a JMRP report's returned
    headers."""
    lowered = text.lower()
    if "feedback-type" not in lowered and "x-hmxmroriginalrecipient" not in lowered:
        return None  # the common case, found without the regular expressions
    match = _FEEDBACK_TYPE_LINE.search(text)
    if match is None:
        jmrp = _JMRP_LINE.search(text)
        if jmrp is None:
            return None
        fields = report_fields(text[jmrp.start() :].partition("\n\n")[0])
        values = dict(reversed(fields))
        ids = mime.message_ids(values.get("message-id", ""))
        return ComplaintInfo(
            feedback_type="abuse",
            recipients=tuple(
                mime.addresses(values.get("x-hmxmroriginalrecipient", ""))
                or mime.addresses(values.get("to", ""))
            ),
            original_message_id=ids[0] if ids else None,
            reporter="JMRP",
        )
    rest = text[match.start() :]
    report, _, returned = rest.partition("\n\n")
    original = Message()
    for name, value in report_fields(returned):
        if name in ("message-id", "to") and name not in original:
            original[name] = value
    return _complaint(report_fields(report), original)


def find_complaint(msg: mime.Parsed) -> ComplaintInfo | None:
    """The feedback report ``msg`` is, or ``None`` when it is none (see the module)."""
    parts = msg.parts_of_type("message/feedback-report")
    # The substring test first: reading a parameter properly is the slow part.
    content_type = str(msg.msg.get("Content-Type", "")).lower()
    is_arf = bool(parts) or (
        "feedback-report" in content_type
        and mime.param(msg.msg, "report-type").lower() == "feedback-report"
    )
    if is_arf:
        fields = report_fields(part_text(parts[0])) if parts else []
        if not fields:
            # A report part of the wrong type: its fields are in the first text part.
            fields = report_fields(msg.body())
        return _complaint(fields, returned_headers(msg))
    for part in msg.parts_of_type("message/rfc822"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message) and mime.has_header(inner, "X-HmXmrOriginalRecipient"):
            recipients = mime.addresses(mime.header(inner, "X-HmXmrOriginalRecipient"))
            return ComplaintInfo(
                feedback_type="abuse",
                recipients=tuple(recipients or _to_of(inner)),
                original_message_id=_first_id(inner),
                reporter="JMRP",
            )
    return _from_text(msg.body()[:20_000])
