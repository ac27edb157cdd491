"""Delivery failure reports: standard DSNs and the well-known older formats.

**Standard DSNs** (RFC 3464 inside an RFC 6522 ``multipart/report;
report-type=delivery-status``), as Postfix, Exim, Exchange/Microsoft 365 and Gmail send
them, are read with the stdlib ``email`` package: the ``message/delivery-status`` part
holds one block of per-message fields and one block per recipient (``Final-Recipient``,
``Action``, ``Status``, ``Diagnostic-Code``). A recipient whose ``Action`` is ``failed``
or whose status is ``5.x.x`` failed permanently; ``delayed`` or ``4.x.x`` is transient.
A report whose every recipient was ``delivered``, ``relayed`` or ``expanded`` is a
delivery receipt, not a bounce. The bounced message's Message-ID comes from the
``message/rfc822`` or ``text/rfc822-headers`` part that carries its copy.

**Other bounce formats** (Exim's "This message was created automatically by mail
delivery software", qmail's "Hi. This is the qmail-send program", and many more) are
recognised when the message looks like a bounce (from MAILER-DAEMON or postmaster, an
empty Return-Path, or a subject such as "Undelivered Mail Returned to Sender") and read
with ``flufl.bounce``, which knows those formats. The status code, diagnostic and the
original Message-ID are then taken from the text and from the copy of the original
message most of these formats append.
"""

from __future__ import annotations

import email
import re
from email.message import Message

from flufl.bounce import all_failures

from sequencer.mail.inbound import mime
from sequencer.mail.inbound.events import BounceInfo

# An enhanced status code, not part of an IP address ("[192.0.2.1]").
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE = re.compile(r"\b([45])\d\d[ -]")
_CONTINUATION = re.compile(r"^\s*[245]\d\d-(?:[245]\.\d{1,3}\.\d{1,3}\s)?")
_CONTINUATION_ANYWHERE = re.compile(r"\s[245]\d\d[- ][245]\.\d{1,3}\.\d{1,3}\s")
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer|bounce[s]?)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|undeliverable mail|mail delivery failed|"
    r"delivery status notification|delivery failure|delivery has failed|failure notice|"
    r"returned mail|mail delivery failure|non[- ]?delivery|could not send message|"
    r"delivery notification|message not delivered|mail system error|"
    r"unzustellbar|nicht zustellbar|non remis|non distribuable|no se puede entregar|"
    r"onbestelbaar|non recapitabile|delivery delayed|warning: could not send|"
    r"delayed mail|delivery incomplete)",
    re.IGNORECASE,
)


def _status_of(text: str) -> str | None:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else None


def _field(block: Message, name: str) -> str:
    return mime.decode_header_value(block.get(name, ""))


def _typed_address(value: str) -> str | None:
    """``bob@example.test`` from ``rfc822; bob@example.test`` (or a bare address)."""
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    return value.lower() if "@" in value else None


def _original_message_id(msg: mime.Parsed) -> str | None:
    for part, ctype in msg.parts:
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                ids = mime.message_ids(mime.header(inner, "Message-ID"))
                if ids:
                    return ids[0]
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            text = mime.payload_text(part) if not part.is_multipart() else ""
            match = _MESSAGE_ID_LINE.search(text)
            if match:
                return match.group(1)
    return None


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    # Some senders base64-encode the part, which leaves it unparsed: parse it here.
    text = mime.payload_text(part) if isinstance(payload, str) else ""
    return [email.message_from_string(chunk) for chunk in re.split(r"\n\s*\n", text) if chunk]


def from_dsn(msg: mime.Parsed) -> BounceInfo | None:
    """The bounce a standard DSN reports, or ``None`` when ``msg`` has no
    ``message/delivery-status`` part or reports successful delivery only."""
    status_parts = msg.parts_of_type("message/delivery-status", "message/global-delivery-status")
    if not status_parts:
        return None
    status_part = status_parts[0]
    failed: list[tuple[str | None, str | None, str | None, bool]] = []
    for block in _blocks(status_part)[:100]:
        action = _field(block, "Action").lower()
        status = _status_of(_field(block, "Status"))
        diagnostic = _field(block, "Diagnostic-Code").split(";", 1)[-1].strip() or None
        recipient = _typed_address(_field(block, "Final-Recipient")) or _typed_address(
            _field(block, "Original-Recipient")
        )
        if not action and not status and recipient is None:
            continue  # the per-message block
        if status is None and diagnostic:
            status = _status_of(diagnostic)
        if action in ("delivered", "relayed", "expanded") or (status or "").startswith("2"):
            continue
        if status is None:
            status = "4.0.0" if action == "delayed" else "5.0.0"
        permanent = action == "failed" or status.startswith("5")
        if action == "delayed" or status.startswith("4"):
            permanent = False
        failed.append((recipient, status, diagnostic, permanent))
    if not failed:
        return None
    recipient, status, diagnostic, permanent = next((f for f in failed if f[3]), failed[0])
    if diagnostic is None:
        # Some (Exchange's delay notices) explain only in the human-readable part.
        diagnostic = _diagnostic_line(mime.body_text(msg.msg), status)
    if status and status.endswith(".0.0") and diagnostic:
        # A generic "5.0.0" (Exim) next to the remote server's specific code.
        specific = _status_of(diagnostic)
        if specific and specific[0] == status[0]:
            status = specific
    return BounceInfo(
        permanent=permanent,
        status=status,
        recipients=tuple(dict.fromkeys(r for r, _, _, _ in failed if r)),
        original_message_id=_original_message_id(msg),
        diagnostic=_tidy_diagnostic(diagnostic),
    )


def _tidy_diagnostic(text: str | None) -> str | None:
    """One line, without the repeated reply codes of a multi-line SMTP answer
    (``550-5.1.1 … 550-5.1.1 … 550 5.1.1 …``)."""
    if not text:
        return None
    first = _CONTINUATION.match(text)
    if first:
        head = text[: first.end()].replace("-", " ", 1)
        text = head + _CONTINUATION_ANYWHERE.sub(" ", text[first.end() :])
    return " ".join(text.split())[:1000] or None


def looks_like_bounce(msg: mime.Parsed, from_address: str | None, subject: str) -> bool:
    """Whether ``msg`` comes from a mail system reporting a failure (see the module)."""
    if from_address and _BOUNCE_SENDER.match(from_address):
        return True
    if msg.header("Return-Path").strip() == "<>" and _BOUNCE_SUBJECT.match(subject):
        return True
    return bool(_BOUNCE_SUBJECT.match(subject)) and msg.has("X-Failed-Recipients")


def _diagnostic_line(text: str, status: str | None = None) -> str | None:
    """The line of a human-readable report that quotes the remote server."""
    for line in text[: mime.MAX_TEXT].splitlines():
        stripped = line.strip()
        if status is not None:
            if status in stripped:
                return stripped[:500]
            continue
        if _STATUS.search(stripped) or _SMTP_CODE.match(stripped):
            return stripped[:500]
    if status is not None:
        return None
    for line in text[: mime.MAX_TEXT].splitlines():
        if "remote host said" in line.lower() or "smtp error" in line.lower():
            return line.strip()[:500]
    return None


def _for_flufl(msg: mime.Parsed) -> Message:
    """The message read again so that every header is a plain string, as
    ``flufl.bounce`` expects: ``compat32`` hands back raw 8-bit header bytes as
    ``Header`` objects, on which its detectors fail (and log the failure)."""
    if msg.raw.isascii():
        return msg.msg
    return email.message_from_string(msg.raw.decode("latin-1"))


def from_other_formats(msg: mime.Parsed, body: str) -> BounceInfo | None:
    """The bounce reported by a non-DSN bounce message (see the module), or ``None``
    when no failed recipient can be found."""
    temporary: frozenset[bytes] = frozenset()
    permanent: frozenset[bytes] = frozenset()
    # One of its detectors fails on a From without an address; without one, only
    # X-Failed-Recipients names the failed recipients.
    if mime.address(msg.header("From"))[1] is not None:
        try:
            temporary, permanent = all_failures(_for_flufl(msg))
        except Exception:
            temporary, permanent = frozenset(), frozenset()
    recipients = [a.decode("ascii", "replace").lower() for a in sorted(permanent)]
    recipients += [a.decode("ascii", "replace").lower() for a in sorted(temporary)]
    for value in msg.headers("X-Failed-Recipients"):
        recipients += mime.addresses(value)
    if not recipients:
        return None
    text = body[: mime.MAX_TEXT]
    diagnostic = _diagnostic_line(text)
    status = _status_of(diagnostic or "") or _status_of(text)
    if status is None and diagnostic and (code := _SMTP_CODE.match(diagnostic)):
        status = f"{code.group(1)}.0.0"
    if permanent:
        is_permanent = True
    elif temporary:
        is_permanent = False
    else:
        lowered = text.lower()
        transient = "temporary" in lowered or "delayed" in lowered or "will retry" in lowered
        is_permanent = not (status or "").startswith("4") and not transient
    if status is None:
        status = "5.0.0" if is_permanent else "4.0.0"
    match = _MESSAGE_ID_LINE.search(text)
    return BounceInfo(
        permanent=is_permanent,
        status=status,
        recipients=tuple(dict.fromkeys(recipients)),
        original_message_id=match.group(1) if match else _original_message_id(msg),
        diagnostic=_tidy_diagnostic(diagnostic),
    )
