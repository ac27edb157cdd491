"""How the emails of one conversation refer to each other: subjects and Message-IDs.

One reply-prefix rule serves both directions: :func:`reply_subject` writes the subject
of a follow-up, and :func:`normalise_subject` recognises a reply to it, whatever the
recipient's mail client put in front (``RE:``, ``AW:``, ``SV:``, ``Fwd:``, ``Re[2]:``,
an out-of-office ``Automatic reply:``...).
"""

from __future__ import annotations

import re
import secrets

# "RE: ", "Re[2]: ", "AW: ", "SV: ", "Fwd: ", "TR: " ... and the usual auto-reply
# prefixes, which some servers put before the original subject. The colon may be the
# full-width one East Asian clients write.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|fw|fwd|wg|tr|rv|antw|ref|odp)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]"
    r"|(?:automatic reply|auto[- ]?reply|out of office(?: autoreply)?|autosvar|"
    r"abwesenheitsnotiz|réponse automatique)\s*:)\s*",
    re.IGNORECASE,
)


def strip_reply_prefixes(subject: str | None) -> str:
    """``subject`` without any leading reply, forward or auto-reply prefixes."""
    text = (subject or "").strip()
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def reply_subject(first_subject: str) -> str:
    """``RE: <first subject>``, never ``RE: RE: ...`` however often it is applied."""
    return f"RE: {strip_reply_prefixes(first_subject)}"


def normalise_subject(subject: str | None) -> str:
    """The subject without prefixes, whitespace collapsed and case folded: two subjects
    of one conversation normalise to the same text."""
    return " ".join(strip_reply_prefixes(" ".join((subject or "").split())).split()).casefold()


def make_message_id(sender_email: str) -> str:
    """A new, globally unique ``<random@sender-domain>`` (RFC 5322 §3.6.4).

    The right side is the sender's domain, as mail clients do; the left side is 128
    random bits, so two workers can never choose the same id.
    """
    domain = sender_email.rpartition("@")[2].strip().lower() or "localhost"
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"
