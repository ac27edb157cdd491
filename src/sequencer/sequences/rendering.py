"""One email of one enrollment, rendered for its recipient.

Used twice, the same way: by the preview a member looks at before enrolling, and by the
worker right before sending, so what is previewed is what is sent.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sequencer.crm.catalog import render_context
from sequencer.crm.models import Person
from sequencer.domain.schedule import SchedulePolicy
from sequencer.domain.sequence_rules import threaded_subject, unsubscribe_phrase
from sequencer.domain.text import html_to_text
from sequencer.mail.models import Mailbox, Signature
from sequencer.sequences import suppression
from sequencer.sequences.models import Attachment
from sequencer.sequences.templating import render_html_body, render_subject


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    inline_images: list[tuple[str, str, bytes]] = field(default_factory=list)


def policy_for(settings: Mapping[str, Any], zone_name: str) -> SchedulePolicy:
    """The sending rules of a version's settings, in the recipient's resolved zone."""
    window = settings["window"]
    return SchedulePolicy.from_settings(
        time_zone=zone_name,
        window_start=window["start"],
        window_end=window["end"],
        business_days_only=bool(settings.get("business_days_only")),
        holiday_country=settings.get("holiday_country"),
    )


def recipient_zone(settings: Mapping[str, Any], person: Person) -> str:
    """The recipient's own zone when the sequence asks for it and it is known."""
    if settings.get("use_recipient_time_zone") and person.time_zone:
        return person.time_zone
    return str(settings["time_zone"])


def recipient_data(person: Person, address: str) -> dict[str, dict[str, object]]:
    data = render_context(person)
    # The address being written to, which may not be the person's primary one.
    data["person"]["email"] = address
    return data


def _signature_html(mailbox: Mailbox) -> str:
    signature = (
        Signature.objects.filter(mailbox=mailbox).order_by("-is_default", "name", "id").first()
    )
    return f'<div class="signature">{signature.body_html}</div>' if signature else ""


def _footer_html(phrase_id: str, url: str) -> str:
    phrase = unsubscribe_phrase(phrase_id)
    text = html_lib.escape(phrase.text)
    link = html_lib.escape(phrase.link_text)
    anchor = f'<a href="{html_lib.escape(url)}">{link}</a>'
    # The link text is part of the phrase; link it where it stands, or append it.
    body = text.replace(link, anchor, 1) if link in text else f"{text} {anchor}"
    return f'<p style="font-size:12px;color:#6b7280">{body}</p>'


def render_step(
    *,
    snapshot: Mapping[str, Any],
    step: int,
    person: Person,
    address: str,
    mailbox: Mailbox,
    enrollment_id: int | None,
    first_subject: str | None = None,
    strict: bool = True,
    preview: bool = False,
) -> RenderedEmail:
    """Step ``step`` of a version ``snapshot`` for ``person`` at ``address``.

    ``first_subject`` is the first email's subject as it was sent; a threaded follow-up
    answers it (``RE: ...``) rather than re-rendering it, so that it matches exactly.
    Raises :class:`~sequencer.sequences.templating.MissingVariable` when ``strict`` and
    a printed value is empty with no fallback. A ``preview`` gets a placeholder
    unsubscribe link, never a working token: whoever looks at a preview is not the
    recipient.
    """
    settings = snapshot["settings"]
    steps = snapshot["steps"]
    source = steps[step]
    data = recipient_data(person, address)
    if step > 0 and settings.get("thread_emails"):
        first = first_subject
        if first is None:
            first = render_subject(steps[0]["subject"], data, strict=strict)
        subject = threaded_subject(first)
    else:
        subject = render_subject(source["subject"], data, strict=strict)
    body = render_html_body(source["body_html"], data, strict=strict)
    url = (
        suppression.preview_unsubscribe_url()
        if preview
        else suppression.unsubscribe_url(mailbox.email, address, enrollment_id, mailbox.owner_id)
    )
    parts = [body]
    if settings.get("include_signature"):
        parts.append(_signature_html(mailbox))
    parts.append(_footer_html(settings["unsubscribe_phrase"], url))
    html = "\n".join(p for p in parts if p)
    ids = list(source.get("attachment_ids", [])) + list(source.get("inline_image_ids", []))
    files = {a.pk: a for a in Attachment.objects.filter(pk__in=ids)} if ids else {}
    return RenderedEmail(
        subject=subject,
        html=html,
        text=html_to_text(html),
        unsubscribe_url=url,
        unsubscribe_mailto=suppression.unsubscribe_mailto(mailbox.email),
        attachments=[
            (files[i].name, files[i].content_type, bytes(files[i].data))
            for i in source.get("attachment_ids", [])
            if i in files
        ],
        inline_images=[
            (files[i].content_id, files[i].content_type, bytes(files[i].data))
            for i in source.get("inline_image_ids", [])
            if i in files
        ],
    )
