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
RFC 5322 §2.1.1, so such headers are written as they are. Bodies are encoded 7-bit clean,
quoted-printable and base64 in lines of at most 76 characters (RFC 2045 §6.7, §6.8; see
:mod:`sequencer.mail.mime_parts`).

Every header that carries text from people is written by :mod:`sequencer.mail.headers`
(the email package would decode encoded words in it into real line breaks), and every
header is stored as written (``set_raw``), so that :mod:`sequencer.mail.wire_writer`
writes the bytes without reading the headers back through the header registry; they are
the bytes the email package's generator writes. The finished bytes are checked by
:mod:`sequencer.mail.wire_check` before anything is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from io import BytesIO

from sequencer.domain.text import html_to_text
from sequencer.mail import headers, mime_parts, wire_writer
from sequencer.mail.headers import HeaderError
from sequencer.mail.wire_check import Addressing, check_wire
from sequencer.stepwise import Steps, stepwise

__all__ = ["Attachment", "ComposedMessage", "HeaderError", "InlineImage", "build_message"]

# How the whole message is written to the wire (CRLF line ends, 998-character headers).
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)

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


class ComposedMessage(EmailMessage):
    """A message from :func:`build_message`, which remembers whom it was addressed to
    so that :func:`wire_bytes` can check the bytes against it, and the bytes it checked
    last with the exact state they were written from (see :func:`_state`)."""

    addressing: Addressing | None = None
    checked: tuple[tuple[object, ...], bytes] | None = None


def build_message_in_steps(
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
) -> Steps[ComposedMessage]:
    """The complete message; ``from_`` and ``to`` are ``(display name, address)``. Built
    in two steps (see :mod:`sequencer.stepwise`; :func:`build_message` in one go): the
    message, then the check of its bytes.

    ``date`` comes from the caller's clock (services never read the wall clock here).
    ``references`` lists the Message-IDs of the earlier messages of the thread, oldest
    first; ``in_reply_to`` is the one this message answers (RFC 5322 §3.6.4).

    Display names and the subject may hold any text: control characters are dropped and
    anything that could be read as an encoded word is encoded (see
    :mod:`sequencer.mail.headers`). An address, a Message-ID or an unsubscribe URI that
    cannot be written safely raises :class:`HeaderError` (a ``ValueError``) naming it.
    """
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    images = [i if isinstance(i, InlineImage) else InlineImage(*i) for i in inline_images]
    files = [a if isinstance(a, Attachment) else Attachment(*a) for a in attachments]
    body = _with_attachments(_with_inline_images(_alternative(html, text), images), files)

    message = ComposedMessage(policy=WIRE_POLICY)
    _set_origin_headers(message, from_=from_, to=to, subject=subject, date=date)
    _set_thread_headers(message, message_id, in_reply_to, references)
    _set_unsubscribe_headers(message, unsubscribe_url, unsubscribe_mailto)
    _set_extra_headers(message, extra_headers or {})
    message.set_raw("MIME-Version", "1.0")
    _adopt_body(message, body)
    message.addressing = Addressing(
        from_=from_[1], to=(to[1],), from_name=from_[0], to_names=(to[0],)
    )
    yield
    wire_bytes(message)  # refuse now, before any provider sees it (also fixes boundaries)
    return message


build_message = stepwise(build_message_in_steps)


# -- body ------------------------------------------------------------------------------


def _alternative(html: str, text: str | None) -> MIMEPart:
    """Plain text first, HTML last (RFC 2046 §5.1.4: the preferred form comes last)."""
    plain = mime_parts.text_part(text if text is not None else html_to_text(html), "plain")
    return mime_parts.multipart("alternative", [plain, mime_parts.text_part(html, "html")])


def _with_inline_images(body: MIMEPart, images: list[InlineImage]) -> MIMEPart:
    if not images:
        return body
    parts = [body]
    for image in images:
        maintype, subtype = headers.media_type(image.content_type)
        inline = [
            ("Content-Disposition", "inline"),
            ("Content-ID", headers.content_id(image.content_id)),
        ]
        parts.append(mime_parts.data_part(image.content, maintype, subtype, inline))
    # RFC 2387 §3.1: multipart/related names the type of its root part.
    return mime_parts.multipart("related", parts, '; type="multipart/alternative"')


def _with_attachments(body: MIMEPart, files: list[Attachment]) -> MIMEPart:
    if not files:
        return body
    parts = [body]
    for file in files:
        maintype, subtype = headers.media_type(file.content_type)
        # Written by hand: the email package would read encoded words inside the quoted
        # file name (see sequencer.mail.headers).
        disposition = ("Content-Disposition", headers.disposition("attachment", file.filename))
        parts.append(mime_parts.data_part(file.content, maintype, subtype, [disposition]))
    return mime_parts.multipart("mixed", parts)


def _adopt_body(message: EmailMessage, body: MIMEPart) -> None:
    # The body was assembled as parts; its top part's content headers and sub-parts
    # become the message's own, as they were written.
    for name, value in body.raw_items():
        message.set_raw(name, value)
    message.set_payload(body.get_payload())


# -- headers ---------------------------------------------------------------------------


def _set_origin_headers(
    message: EmailMessage,
    *,
    from_: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    date: datetime,
) -> None:
    message.set_raw("From", headers.mailbox("From", *from_))
    message.set_raw("To", headers.mailbox("To", *to))
    message.set_raw("Subject", headers.unstructured("Subject", subject))
    message.set_raw("Date", format_datetime(date))


def _set_thread_headers(
    message: EmailMessage, message_id: str, in_reply_to: str | None, references: Sequence[str]
) -> None:
    message.set_raw("Message-ID", headers.message_id("Message-ID", message_id))
    if in_reply_to:
        message.set_raw("In-Reply-To", headers.message_id("In-Reply-To", in_reply_to))
    if references:
        message.set_raw("References", headers.message_ids("References", list(references)))


def _set_unsubscribe_headers(message: EmailMessage, url: str | None, mailto: str | None) -> None:
    uris: list[str] = []
    if url:
        if not url.lower().startswith(("https://", "http://")):
            raise HeaderError("List-Unsubscribe", "unsubscribe_url must be an http(s) URL")
        uris.append(_unsubscribe_uri(url, "unsubscribe_url"))
    if mailto:
        if not mailto.lower().startswith("mailto:"):
            mailto = f"mailto:{mailto}"
        uris.append(_unsubscribe_uri(mailto, "unsubscribe_mailto"))
    if not uris:
        return
    message.set_raw("List-Unsubscribe", headers.uri_list("List-Unsubscribe", uris))
    # RFC 8058 §3.1: one-click needs an HTTPS URI in List-Unsubscribe; the receiver
    # then POSTs "List-Unsubscribe=One-Click" to it without cookies.
    if url and url.lower().startswith("https://"):
        message.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


def _unsubscribe_uri(uri: str, field: str) -> str:
    try:
        headers.bracketable("List-Unsubscribe", uri)
    except HeaderError:
        raise HeaderError(
            "List-Unsubscribe", f"{field} must be a URI without spaces or angle brackets"
        ) from None
    return uri


def _set_extra_headers(message: EmailMessage, extra: Mapping[str, str]) -> None:
    for name, value in extra.items():
        if name.lower() in _RESERVED_HEADERS:
            raise HeaderError(name, f"extra_headers may not set {name}; use the parameter for it")
        message.set_raw(headers.field_name(name), headers.unstructured(name, value))


# -- the bytes -------------------------------------------------------------------------


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, no ``Bcc``, 998-character header lines.

    The bytes are parsed back before they are returned: a header line that nothing set
    on purpose, or recipients other than those :func:`build_message` was asked for,
    raise :class:`~sequencer.mail.wire_check.WireCheckError` naming the header.
    """
    # build_message checks the bytes, then the provider asks for them again: the same
    # message is not written and parsed back twice unless something in it changed.
    composed = message if isinstance(message, ComposedMessage) else None
    if composed is not None and composed.checked is not None:
        state, checked = composed.checked
        if state == _state(composed):
            return checked
    sent = message
    if message.get("Bcc") is not None:
        sent = copy.deepcopy(message)
        del sent["Bcc"]
    data = wire_writer.flatten(sent, WIRE_POLICY)
    if data is None:  # header objects (set by a caller), or a structure it does not know
        buffer = BytesIO()
        BytesGenerator(buffer, mangle_from_=False, policy=WIRE_POLICY).flatten(sent)
        data = buffer.getvalue()
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    check_wire(data, sent, getattr(message, "addressing", None))
    if composed is not None and sent is message:
        # Taken after writing: the generator sets missing MIME boundaries as it goes.
        composed.checked = (_state(composed), data)
    return data


def _state(message: EmailMessage) -> tuple[object, ...]:
    """Everything the generator writes a message from, part by part: its header list
    (name and value objects), its payload, policy and the rest of its attributes.

    Equal states give equal bytes. Header values and string payloads are immutable, so
    a header set, replaced or removed anywhere, a new payload or a part added changes
    the state; comparing it costs a walk over a handful of parts.
    """
    state: list[object] = [message.addressing if isinstance(message, ComposedMessage) else None]
    for part in message.walk():
        payload = part._payload  # type: ignore[attr-defined]
        state.append(
            (
                id(part),
                tuple(part._headers),  # type: ignore[attr-defined]
                payload if not isinstance(payload, list) else tuple(map(id, payload)),
                part.policy,
                part.preamble,
                part.epilogue,
                part._charset,  # type: ignore[attr-defined]
                part._default_type,  # type: ignore[attr-defined]
                part._unixfrom,  # type: ignore[attr-defined]
            )
        )
    return tuple(state)
