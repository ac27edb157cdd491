"""Build the MIME message of one email, ready for any provider.

The structure is the one mail clients produce, with empty layers left out::

    multipart/mixed                      (only with attachments)
      multipart/related                  (only with inline images, RFC 2387)
        multipart/alternative            (RFC 2046 §5.1.4: plain text first, HTML last)
          text/plain
          text/html
        image/... Content-ID: <cid>      (referenced from the HTML as "cid:...", RFC 2392)
      application/... attachment

Python's ``email`` package RFC 2047-encodes a header longer than the policy's line
length when it cannot fold it, which turns a long ``List-Unsubscribe`` URL into
``=?utf-8?q?...?=`` and breaks it (python/cpython#85725). Messages are therefore
serialised with ``policy.SMTP.clone(max_line_length=998)``: 998 is the hard line limit of
RFC 5322 §2.1.1, so such headers are written as they are. Body parts are encoded with the
78-character policy, because quoted-printable and base64 lines must stay within 76
characters (RFC 2045 §6.7, §6.8).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from io import BytesIO

from sequencer.domain.text import html_to_text

# How the whole message is written to the wire (CRLF line ends, 998-character headers).
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
# How body parts are encoded: 7-bit clean, so non-ASCII text becomes quoted-printable or
# base64 rather than 8bit (not every server offers 8BITMIME, RFC 6152).
_BODY_POLICY = policy.SMTP.clone(cte_type="7bit")

# Headers the builder sets itself; letting ``extra_headers`` set them would produce two
# of a header that RFC 5322 §3.6 allows once, or a broken MIME structure.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InlineImage:
    content_id: str  # without angle brackets; the HTML refers to it as "cid:<content_id>"
    content_type: str
    content: bytes


def _address(name: str, address: str) -> Address:
    return Address(display_name=name or "", addr_spec=address)


def _text_part(content: str, subtype: str) -> MIMEPart:
    # MIMEPart, not EmailMessage: only the top level carries MIME-Version (RFC 2045 §4).
    part = MIMEPart(policy=_BODY_POLICY)
    part.set_content(content, subtype=subtype, charset="utf-8")
    return part


def _bracketed(uri: str, field: str) -> str:
    # RFC 2369 §2: each URI is enclosed in angle brackets; a bracket or whitespace inside
    # would end it early (and CR/LF would inject a header).
    if not uri or re.search(r"[\s<>]", uri):
        raise ValueError(f"{field} must be a URI without spaces or angle brackets")
    return f"<{uri}>"


def _unsubscribe_headers(url: str | None, mailto: str | None) -> dict[str, str]:
    uris: list[str] = []
    if url:
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("unsubscribe_url must be an http(s) URL")
        uris.append(_bracketed(url, "unsubscribe_url"))
    if mailto:
        if not mailto.lower().startswith("mailto:"):
            mailto = f"mailto:{mailto}"
        uris.append(_bracketed(mailto, "unsubscribe_mailto"))
    if not uris:
        return {}
    headers = {"List-Unsubscribe": ", ".join(uris)}
    # RFC 8058 §3.1: one-click needs an HTTPS URI in List-Unsubscribe; the receiver
    # then POSTs "List-Unsubscribe=One-Click" to it without cookies.
    if url and url.lower().startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def build_message(
    *,
    from_: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    html: str,
    date: datetime,
    message_id: str,
    text: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: Iterable[Attachment | tuple[str, str, bytes]] = (),
    inline_images: Iterable[InlineImage | tuple[str, str, bytes]] = (),
    unsubscribe_url: str | None = None,
    unsubscribe_mailto: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The complete message; ``from_`` and ``to`` are ``(display name, address)``.

    ``date`` comes from the caller's clock (services never read the wall clock here).
    ``references`` lists the Message-IDs of the earlier messages of the thread, oldest
    first; ``in_reply_to`` is the one this message answers (RFC 5322 §3.6.4).
    """
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    images = [i if isinstance(i, InlineImage) else InlineImage(*i) for i in inline_images]
    files = [a if isinstance(a, Attachment) else Attachment(*a) for a in attachments]

    body = _text_part(text if text is not None else html_to_text(html), "plain")
    body.add_alternative(html, subtype="html", charset="utf-8")

    if images:
        related = MIMEPart(policy=_BODY_POLICY)
        related.make_related()
        related.attach(body)
        # RFC 2387 §3.1: multipart/related names the type of its root part.
        related.set_param("type", "multipart/alternative")
        for image in images:
            maintype, _, subtype = image.content_type.partition("/")
            related.add_related(
                image.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                cid=f"<{image.content_id.strip('<>')}>",
                disposition="inline",
            )
        body = related

    if files:
        mixed = MIMEPart(policy=_BODY_POLICY)
        mixed.make_mixed()
        mixed.attach(body)
        for file in files:
            maintype, _, subtype = file.content_type.partition("/")
            mixed.add_attachment(
                file.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
        body = mixed

    message = EmailMessage(policy=WIRE_POLICY)
    message["From"] = _address(*from_)
    message["To"] = _address(*to)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in _unsubscribe_headers(unsubscribe_url, unsubscribe_mailto).items():
        message[name] = value
    for name, value in (extra_headers or {}).items():
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"extra_headers may not set {name}; use the parameter for it")
        message[name] = value
    message["MIME-Version"] = "1.0"
    # The body was assembled as parts; its top part's content headers and sub-parts
    # become the message's own.
    for name, value in body.items():
        message[name] = value
    message.set_payload(body.get_payload())
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, no ``Bcc``, 998-character header lines."""
    if message.get("Bcc") is not None:
        message = copy.deepcopy(message)
        del message["Bcc"]
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=WIRE_POLICY).flatten(message)
    data = buffer.getvalue()
    return data if data.endswith(b"\r\n") else data + b"\r\n"
