"""Delivery failure reports: standard DSNs and the many shapes mail systems write.

**Is it a bounce?** Evidence is weighed, and two points make a bounce:

- a ``message/delivery-status`` part (RFC 3464) reporting a failure, or the same fields
  (``Final-Recipient``, ``Action: failed``, ``Status: 5.1.1``) in the text, as Amazon
  WorkMail writes them: decisive;
- the sender is a mail system: ``MAILER-DAEMON``, ``postmaster``, ``Mail Delivery
  System``… in the address or the display name (DragonFly Mail Agent sends
  ``From: MAILER-DAEMON <>``, with no address at all): 2 points;
- ``X-Failed-Recipients`` (Exim): 2 points;
- a sentence only mail software writes ("This is the mail system at host",
  "Hi. This is the qmail-send program", "The following addresses had permanent fatal
  errors", "Remote host said", "Message headers follow"…): 2 points; a failure phrase a
  person could also write ("could not be delivered", "user unknown"): 1 point;
- an SMTP reply with an enhanced status code (``550 5.1.1``): 1 point;
- a bounce subject ("Undeliverable:", "Returned mail", "Mail System Error"…): 1 point;
- an empty or daemon ``Return-Path``: 1 point;
- a returned original (a ``message/rfc822`` or ``text/rfc822-headers`` part): 1 point.

So a person's reply that mentions a failed delivery stays a reply, while a bounce with
a human-looking first line is still a bounce: the structure outweighs the text. A
report whose recipients were all delivered, relayed or expanded is a delivery receipt
(``other``), unless the text around it reports a failure.

**What failed**: the DSN's fields; else ``X-Failed-Recipients``; else
``flufl.bounce``'s detectors (which know many older formats); else the addresses the
text names next to a failure ("could not be delivered to: <x>", "x... User unknown");
else, when the bounce names no recipient, the ``To`` of the returned original. Hard or
soft comes from the status code (5.x.x or 4.x.x), then the SMTP reply code, then words
such as "will retry" or "temporary"; a failure that says nothing is hard.

Everything here reads at most :data:`~.mime.MAX_TEXT` characters with regular
expressions that do not backtrack, so the cost stays linear in the message's size.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

from sequencer.mail.inbound import complaints, mime
from sequencer.mail.inbound.events import BounceInfo

#: Characters of a bounce's text searched for addresses and codes.
SCAN_CHARS = 30_000
#: Bytes of a message handed to ``flufl.bounce`` (see :func:`_for_flufl`).
FLUFL_BYTES = 64 * 1024
#: Characters at the start of a message's text searched for a mail system's phrases:
#: a report says what failed before it quotes anything, and a long reply or newsletter
#: should not cost the phrase search its whole length.
PHRASE_CHARS = 6_000

# An enhanced status code, not part of an IP address or a version ("15.0.918.8").
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE = re.compile(r"\b([45])\d\d[ -]")
_SMTP_WITH_STATUS = re.compile(r"(?<!\d)[45]\d\d[ -]{1,3}[45]\.\d{1,3}\.\d{1,3}(?!\d)")
_CONTINUATION = re.compile(r"^\s*[245]\d\d-(?:[245]\.\d{1,3}\.\d{1,3}\s)?")
_CONTINUATION_ANYWHERE = re.compile(r"\s[245]\d\d[- ][245]\.\d{1,3}\.\d{1,3}\s")
_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]*message-id:[ \t]*\n?[ \t]*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE
)
_TO_LINE = re.compile(r"^[ \t>]*to:[ \t]*(.{3,500})$", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)

_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|post_master|double-bounce|"
    r"mail[-_.]?delivery[-_.]?(?:system|subsystem)|mail[-_.]?administrator|"
    r"mdaemon|bounces?|nobody-bounce)$",
    re.IGNORECASE,
)
_DAEMON_NAME = re.compile(
    r"^[\W_]*(?:mailer[-_ ]?daemon|mail[-_ ]daemon|postmaster|post_master|"
    r"mail delivery (?:sub)?system|mail delivery service|mail administrator|"
    r"mail system|interscan mss|mailmarshal)[\W_]*$",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|undeliverable mail|mail delivery failed|"
    r"delivery status notification|mail delivery status notification|delivery failure|"
    r"delivery has failed|failure notice|returned mail|mail delivery failure|"
    r"non[- ]?delivery|could not send message|delivery notification|"
    r"message not delivered|mail system error|undeliverable message|"
    r"unzustellbar|nicht zustellbar|non remis|non distribuable|no se puede entregar|"
    r"onbestelbaar|non recapitabile|delivery delayed|warning: could not send|"
    r"delayed mail|delivery incomplete|delivery failed|failed delivery|"
    r"mail could not be delivered|message delivery failure|returned mail|"
    r"error sending message|mail returned|delivery error|"
    r"unable to deliver|bounced mail|message you sent|problem with delivery|"
    r"you .{1,80} are not member|"
    "\u30e1\u30fc\u30eb\u914d\u4fe1\u30a8\u30e9\u30fc|"  # メール配信エラー
    "\u4e0d\u9054|\u30a8\u30e9\u30fc\u30e1\u30fc\u30eb|\u9001\u4fe1\u30a8\u30e9\u30fc)",
    re.IGNORECASE,
)
# Sentences that mail software writes and people do not, in lower case. Plain
# substrings: one ``in`` test each is many times faster than a regular expression
# with as many alternatives, and this runs on every message.
_MACHINE_PHRASES = (
    "this is the mail system at host",
    "this is the qmail-send program",
    "created automatically by mail delivery",
    "automatically generated delivery status notification",
    "this is the dragonfly mail agent",
    "this is the mailer-daemon",
    "following addresses had",
    "following address had",
    "following addresses have",
    "transcript of session follows",
    "transcript of the session follows",
    "unsent message follows",
    "the original message was received at",
    "message headers follow",
    "original message headers",
    "below this line is a copy of the message",
    "diagnostic information for administrators",
    "generating server:",
    "remote host said",
    "remote server returned",
    "smtp error from remote",
    "did not like our",
    "delivery to the following recipient",
    "delivery has failed to these recipients",
    "did not reach the intended recipient",
    "did not reach some or all of the intended recipients",
    "could not be delivered to one or more recipients",
    "occurred while trying to deliver",
    "occurred while attempting to deliver",
    "there was an error delivering your mail",
    "your message could not be delivered",
    "your message cannot be delivered",
    "your message couldn't be delivered",
    "message could not be delivered to",
    "following recipient(s) could not be reached",
    "following recipients could not be reached",
    "following recipients were affected",
    "following recipients failed",
    "unable to deliver message to the following",
    "unable to deliver your message to the following",
    "we were unable to deliver your message",
    "wasn't able to deliver",
    "to inform you that your message",
    "to inform you that the message",
    "your delivery to the following address has been failed",
    "each of the following recipients was rejected",
    "failure reasons",
    "returned message",
    "original message follows",
    "----- original message",
    "-------original message",
    "-------server message",
    "error message below",
    "message details:",
    "original mail as follows",
    "not a member of this mailing list",
    "not a member of this list",
    "delivery status notification",
    "message will be retried",
    "could not be delivered to:",
    "your mail sent on:",
    "was not delivered to:",
    "** message not delivered **",
    "** address not found **",
    "** delivery incomplete **",
    "reporting-mta:",
    "final-recipient:",
    "\u9001\u4fe1\u3067\u304d\u307e\u305b\u3093\u3067\u3057\u305f",  # 送信できませんでした
    "\u914d\u9001\u3067\u304d\u307e\u305b\u3093",  # 配送できません
    "\u5c4a\u304d\u307e\u305b\u3093\u3067\u3057\u305f",  # 届きませんでした
    "\u9001\u4fe1\u306b\u5931\u6557",  # 送信に失敗
)
# Failure phrases a person could also write (lower case): one point at most.
_FAILURE_PHRASES = (
    "could not be delivered",
    "couldn't be delivered",
    "not delivered",
    "undeliverable",
    "delivery failed",
    "delivery has failed",
    "failed permanently",
    "delivery failure",
    "unable to deliver",
    "could not deliver",
    "user unknown",
    "unknown user",
    "no such user",
    "recipient not found",
    "address rejected",
    "mailbox full",
    "mailbox is full",
    "mailbox unavailable",
    "does not exist",
    "host not found",
    "domain not found",
    "mail loop",
    "quota exceeded",
    "rejected",
    "blocked",
    "unzustellbar",
    "nicht zugestellt",
    "non remis",
    "no se pudo entregar",
    "non recapitat",
    "niet worden bezorgd",
    "foi entregue",
)


def _says(lowered: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in lowered for phrase in phrases)


_TRANSIENT_WORDS = re.compile(
    r"temporar|delayed|will retry|will be retried|will keep trying|still trying|"
    r"warning message only|do not need to resend|deferred|try again later|"
    r"has not yet been delivered|\bdelay\b",
    re.IGNORECASE,
)
_FULL_MAILBOX = re.compile(
    r"mailbox (?:is )?full|mailbox is over quota|over quota|quota exceeded|"
    r"exceeded (?:the|their|its) (?:storage )?quota|"
    "\u30e1\u30fc\u30eb\u30dc\u30c3\u30af\u30b9\u304c\u4e00\u676f",  # メールボックスが一杯
    re.IGNORECASE,
)
_SUCCESS_WORDS = re.compile(
    r"successfully delivered|was delivered|has been delivered|delivery succeeded|"
    r"delivery to the following recipients? (?:succeeded|was complete)|relayed",
)
# Words on a line (lower case) that say it is about a failure or its recipients.
_FAILURE_NEAR = (
    "fail",
    "could not",
    "couldn't",
    "unable",
    "error",
    "unknown",
    "reject",
    "refus",
    "not found",
    "no such",
    "undeliver",
    "invalid",
    "does not exist",
    "doesn't exist",
    "denied",
    "full",
    "quota",
    "not reach",
    "recipient",
    "address",
    "disabled",
    "inactive",
    "blocked",
    "bounce",
    "retry",
    "delay",
    "not a member",
    "\u5b9b\u5148",  # 宛先
    "\u9001\u4fe1",  # 送信
    "\u5931\u6557",  # 失敗
    "\u30a8\u30e9\u30fc",  # エラー
)
# Where the copy of the original message starts in a text-only bounce: a line that
# announces it (lower case), or the first header line of the copy itself.
_ORIGINAL_MARKERS = (
    "----- original message",
    "------ original message",
    "returned message",
    "unsent message follows",
    "message headers follow",
    "original message headers",
    "original message follows",
    "original mail as follows",
    "below this line is a copy",
    "copy of the original message",
    "copy of your message",
    "copy of the message",
    "-------original message",
)
_ORIGINAL_HEADER_LINE = re.compile(
    r"^[ \t>]*(?:received|return-path|x-original-to|delivered-to):", re.MULTILINE
)
_DSN_FIELD = re.compile(
    r"^[ \t]*(?:final-recipient|original-recipient|action|status|diagnostic-code)[ \t]*:",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Finding:
    """What the bounce checks made of a message: a bounce (``info``), or a report from
    a mail system that is no bounce, such as a delivery receipt (``info`` is ``None``:
    ``other``); ``reasons`` names the evidence."""

    info: BounceInfo | None
    reasons: tuple[str, ...]


def _status_of(text: str) -> str | None:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else None


def _failure_status_of(text: str) -> str | None:
    """The first 4.x.x or 5.x.x code in ``text`` (a transcript also shows 2.x.x ones)."""
    for match in _STATUS.finditer(text):
        if match.group(1) != "2":
            return ".".join(match.groups())
    return None


def _typed_address(value: str) -> str | None:
    """``bob@example.test`` from ``rfc822; bob@example.test`` (or a bare address)."""
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    match = _ADDRESS.search(value)
    return match.group(0).lower() if match else None


def _sender_is_daemon(msg: mime.Parsed) -> bool:
    name, address = msg.sender()
    if address and _DAEMON_LOCAL.match(address.split("@", 1)[0]):
        return True
    if name and _DAEMON_NAME.match(name):
        return True
    # DragonFly Mail Agent writes "From: MAILER-DAEMON <>": a name and no address.
    return address is None and bool(_DAEMON_NAME.match(msg.header("From").split("<", 1)[0]))


def _return_path_is_empty(msg: mime.Parsed) -> bool:
    """An empty Return-Path (``<>``, the null sender of every bounce) or one naming
    a mail system (``<MAILER-DAEMON>``)."""
    if not msg.has("Return-Path"):
        return False
    value = msg.header("Return-Path").strip().strip("<>").strip()
    return not value or bool(_DAEMON_LOCAL.match(value.split("@", 1)[0]))


def _has_returned_original(msg: mime.Parsed) -> bool:
    return any(
        ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
        for _, ctype in msg.parts[1:]
    )


def report_text(msg: mime.Parsed) -> str:
    """The human-readable report of a bounce: its first text part. When there is none
    (a multipart whose boundary does not match its parts, a garbled Content-Type),
    the whole body as text, so that a broken bounce is still read."""
    text = msg.body()[:SCAN_CHARS]
    if text.strip():
        return text
    _, _, body = msg.raw.partition(b"\n\n")
    return mime.decode_bytes(body[: SCAN_CHARS * 2], None)[:SCAN_CHARS]


def _evidence(msg: mime.Parsed, subject: str, lowered: str) -> tuple[int, list[str]]:
    score = 0
    reasons: list[str] = []

    def add(points: int, reason: str) -> None:
        nonlocal score
        score += points
        reasons.append(reason)

    if _sender_is_daemon(msg):
        add(2, "from:mail-system")
    if msg.has("X-Failed-Recipients"):
        add(2, "header:x-failed-recipients")
    if _BOUNCE_SUBJECT.match(subject):
        add(1, "subject:bounce")
    if _return_path_is_empty(msg):
        add(1, "header:return-path")
    if _has_returned_original(msg):
        add(1, "returned-original")
    # The text last, and only as far as it can still decide: most messages are
    # people's, and the phrase searches are the costly part.
    if _says(lowered, _MACHINE_PHRASES):
        add(2, "text:mail-system")
    elif _says(lowered, _FAILURE_PHRASES):
        add(1, "text:failure")
    elif score == 0:
        return score, reasons
    if _SMTP_WITH_STATUS.search(lowered):
        add(1, "text:smtp-reply")
    return score, reasons


# -- reading a delivery-status report ---------------------------------------------------


def _dsn_blocks(text: str) -> list[dict[str, str]]:
    """The field blocks of a delivery-status text (RFC 3464), each as lower-case name
    to value; blocks are separated by blank lines. Lenient: ``Action : failed`` (a
    space before the colon) and stray lines are accepted."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for chunk in re.split(r"\n[ \t]*\n", text[: mime.MAX_TEXT])[:200]:
        current = {}
        for name, value in complaints.report_fields(chunk):
            current.setdefault(name, value)
        if current:
            blocks.append(current)
    return blocks


@dataclass(frozen=True)
class _Recipient:
    address: str | None
    status: str | None
    diagnostic: str | None
    permanent: bool


def _read_dsn(text: str) -> tuple[list[_Recipient], bool]:
    """The failed recipients of a delivery-status text, and whether any recipient was
    reported delivered (relayed, expanded)."""
    failed: list[_Recipient] = []
    delivered = False
    for block in _dsn_blocks(text):
        action = block.get("action", "").split()[0].lower() if block.get("action") else ""
        status = _status_of(block.get("status", ""))
        diagnostic = block.get("diagnostic-code", "").split(";", 1)[-1].strip() or None
        recipient = _typed_address(block.get("final-recipient", "")) or _typed_address(
            block.get("original-recipient", "")
        )
        if not action and not status and recipient is None:
            continue  # the per-message block
        if status is None and diagnostic:
            status = _status_of(diagnostic)
        if action in ("delivered", "relayed", "expanded", "deliverable") or (
            (status or "").startswith("2") and action not in ("failed", "delayed")
        ):
            delivered = True
            continue
        if recipient is None and not action and not status:
            continue
        if status is None or status.startswith("2"):
            status = "4.0.0" if action == "delayed" else "5.0.0"
        permanent = status.startswith("5")
        if action == "delayed" or status.startswith("4"):
            permanent = False
        failed.append(_Recipient(recipient, status, diagnostic, permanent))
    return failed, delivered


def _status_part_text(msg: mime.Parsed) -> str:
    parts = msg.parts_of_type("message/delivery-status", "message/global-delivery-status")
    return "\n\n".join(complaints.part_text(part) for part in parts[:5])


# -- the returned original --------------------------------------------------------------


def _split_original(text: str) -> tuple[str, str]:
    """The report's own text and the copy of the original message that follows it."""
    lowered = text.lower()
    starts = [at for at in (lowered.find(marker) for marker in _ORIGINAL_MARKERS) if at >= 0]
    header = _ORIGINAL_HEADER_LINE.search(lowered)
    if header is not None:
        starts.append(header.start())
    if not starts:
        return text, ""
    cut = lowered.rfind("\n", 0, min(starts)) + 1  # from the start of that line
    return text[:cut], text[cut:]


def _original_message_id(msg: mime.Parsed, text: str) -> str | None:
    original = complaints.returned_headers(msg)
    if original is not None:
        ids = mime.message_ids(mime.header(original, "Message-ID"))
        if ids:
            return ids[0]
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else None


def _original_recipients(msg: mime.Parsed, text: str) -> list[str]:
    original = complaints.returned_headers(msg)
    if original is not None:
        found = mime.addresses(mime.header(original, "To"))
        if found:
            return found[:5]
    _, copy = _split_original(text)
    match = _TO_LINE.search(copy)
    if match:
        return [a.lower() for a in _ADDRESS.findall(match.group(1))][:5]
    return []


# -- recipients named in the text -------------------------------------------------------


def _named_recipients(report: str, excluded: set[str]) -> list[str]:
    """The addresses the report names next to a failure: on a line that says so, or in
    the list that follows one ("The following addresses failed:" then the addresses).
    The first such list is taken: what follows it is explanation, not recipients."""
    found: list[str] = []
    failure_seen_at = -100
    for index, line in enumerate(report.split("\n")[:2000]):
        if _says(line.lower(), _FAILURE_NEAR):
            failure_seen_at = index
        if "@" not in line:
            if found and line.strip():
                break  # the end of the list of recipients
            continue
        lowered = line.lstrip(" \t>").lower()
        if lowered.startswith(("from:", "reply-to:", "sender:", "mail from:", "return-path:")):
            continue
        if index - failure_seen_at > 6 and not lowered.startswith("rcpt to:"):
            continue
        for address in _ADDRESS.findall(line):
            address = address.lower().strip(".-_")
            local = address.split("@", 1)[0]
            if address in excluded or _DAEMON_LOCAL.match(local):
                continue
            found.append(address)
        if len(found) >= 20:
            break
    return list(dict.fromkeys(found))


def _for_flufl(msg: mime.Parsed) -> Message:
    """The message as ``flufl.bounce`` is given it: at most :data:`FLUFL_BYTES` of it
    (some of its detectors take time quadratic in the number of lines, and what they
    look for comes first), read again so that every header is a plain string, as it
    expects: ``compat32`` hands back raw 8-bit header bytes as ``Header`` objects, on
    which its detectors fail (and log the failure)."""
    if len(msg.raw) <= FLUFL_BYTES and msg.raw.isascii():
        return msg.msg
    return email.message_from_string(msg.raw[:FLUFL_BYTES].decode("latin-1"))


def _flufl_failures(msg: mime.Parsed) -> tuple[list[str], list[str]]:
    """The permanent and temporary failures ``flufl.bounce`` finds. One of its
    detectors fails on a From without an address, so such messages are not given
    to it."""
    if msg.sender()[1] is None:
        return [], []
    try:
        temporary, permanent = all_failures(_for_flufl(msg))
    except Exception:
        return [], []

    def decoded(found: frozenset[bytes]) -> list[str]:
        out = []
        for item in sorted(found)[:50]:
            text = item.decode("ascii", "replace").lower() if isinstance(item, bytes) else ""
            match = _ADDRESS.search(text)
            if match:
                out.append(match.group(0).lower())
        return out

    return decoded(permanent), decoded(temporary)


# -- putting it together ----------------------------------------------------------------


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


def _diagnostic_line(text: str, status: str | None = None) -> str | None:
    """The line of a human-readable report that quotes the remote server."""
    lines = text.split("\n")[:2000]
    if status is not None:
        for line in lines:
            if status in line:
                return line.strip()[:500]
        return None
    for line in lines:
        stripped = line.strip()
        if _SMTP_WITH_STATUS.search(stripped) or _failure_status_of(stripped):
            return stripped[:500]
    for line in lines:
        stripped = line.strip()
        if _SMTP_CODE.match(stripped):
            return stripped[:500]
    for line in lines:
        lowered = line.lower()
        if "remote host said" in lowered or "smtp error" in lowered or "said:" in lowered:
            return line.strip()[:500]
    return None


def _from_dsn(failed: list[_Recipient], msg: mime.Parsed, text: str) -> BounceInfo:
    chosen = next((f for f in failed if f.permanent), failed[0])
    status, diagnostic = chosen.status, chosen.diagnostic
    if diagnostic is None:
        # Some (Exchange's delay notices) explain only in the human-readable part.
        diagnostic = _diagnostic_line(text, status)
    if status and status.endswith(".0.0") and diagnostic:
        # A generic "5.0.0" (Exim) next to the remote server's specific code.
        specific = _status_of(diagnostic)
        if specific and specific[0] == status[0]:
            status = specific
    recipients = [f.address for f in failed if f.address]
    if not recipients:
        recipients = _original_recipients(msg, text)
    return BounceInfo(
        permanent=chosen.permanent,
        status=status,
        recipients=tuple(dict.fromkeys(recipients)),
        original_message_id=_original_message_id(msg, text),
        diagnostic=_tidy_diagnostic(diagnostic),
    )


def _from_text(
    msg: mime.Parsed, text: str, excluded: set[str], *, use_flufl: bool = True
) -> BounceInfo:
    report, _ = _split_original(text)
    recipients = mime.addresses(", ".join(msg.headers("X-Failed-Recipients")))
    if not recipients:
        recipients = _named_recipients(report, excluded)
    if not recipients:
        # When the bounce names no recipient: the one the returned original was for.
        recipients = [a for a in _original_recipients(msg, text) if a not in excluded]
    permanent_found: list[str] = []
    temporary_found: list[str] = []
    if not recipients and use_flufl:
        # flufl.bounce knows many older formats, but tries each in turn: the slowest
        # step here, so only when nothing else named the recipient.
        permanent_found, temporary_found = _flufl_failures(msg)
        recipients = permanent_found + temporary_found
    diagnostic = _diagnostic_line(report)
    status = _failure_status_of(diagnostic or "") or _failure_status_of(report)
    if status is None and diagnostic and (code := _SMTP_CODE.match(diagnostic)):
        status = f"{code.group(1)}.0.0"
    if status is None and _FULL_MAILBOX.search(report):
        status = "4.2.2"  # a full mailbox may empty: a temporary failure
    if status is not None:
        permanent = status.startswith("5")
    elif permanent_found:
        permanent = True
    elif temporary_found:
        permanent = False
    else:
        permanent = not _TRANSIENT_WORDS.search(report)
    if permanent and _TRANSIENT_WORDS.search(report) and (status or "").endswith(".0.0"):
        permanent = False
    if status is None:
        status = "5.0.0" if permanent else "4.0.0"
    return BounceInfo(
        permanent=permanent,
        status=status,
        recipients=tuple(dict.fromkeys(recipients)),
        original_message_id=_original_message_id(msg, text),
        diagnostic=_tidy_diagnostic(diagnostic),
    )


def find(msg: mime.Parsed, subject: str, mailbox_address: str) -> Finding | None:
    """Whether ``msg`` reports on a delivery (see the module): a :class:`Finding` for
    a bounce or a delivery receipt, ``None`` for anything else."""
    text = report_text(msg)
    status_text = _status_part_text(msg)
    lowered = text[:PHRASE_CHARS].lower()
    if not status_text and len(_DSN_FIELD.findall(lowered)) >= 2:
        status_text = text  # the DSN's fields written into the text (Amazon WorkMail)
    failed, delivered = _read_dsn(status_text) if status_text else ([], False)
    if failed:
        return Finding(_from_dsn(failed, msg, text), ("dsn",))
    score, reasons = _evidence(msg, subject, lowered)
    if delivered and (score < 4 or _SUCCESS_WORDS.search(lowered)):
        return Finding(None, ("delivery-receipt",))
    if score < 2:
        return None
    if _SUCCESS_WORDS.search(lowered) and not _says(lowered, _FAILURE_PHRASES):
        return Finding(None, ("delivery-receipt", *reasons))
    excluded = {mailbox_address.strip().lower()}
    _, sender = msg.sender()
    if sender:
        excluded.add(sender)
    reports_failure = any(r.startswith(("text:", "header:x-failed")) for r in reasons)
    info = _from_text(msg, text, excluded, use_flufl=reports_failure)
    if not info.recipients and info.original_message_id is None and not reports_failure:
        # A mail system's notice that reports no failure (a quota warning): not a
        # bounce, and not a person either.
        return Finding(None, tuple(reasons))
    return Finding(info, tuple(reasons))
