"""One email of one enrollment, rendered for its recipient.

Used twice, the same way: by the preview a member looks at before enrolling, and by the
worker right before sending, so what is previewed is what is sent.

The sending mailbox arrives as a plain :class:`~sequencer.domain.sender.Sender`; a
mailbox object is still accepted and read through its attributes (``email``,
``display_name``, ``signatures``, ``owner``), so this package never imports ``mail``.
The same sender fills ``{{ sender.* }}``: the mailbox's owner, who for a delegated
sender is the delegate.

Everything that can go wrong for one recipient raises
:class:`~sequencer.sequences.templating.RenderError` (or a subclass) naming the step and
the field to fix; the caller fails or holds that one recipient and carries on.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sequencer.crm.catalog import AttributeDefinitions, render_context
from sequencer.crm.models import Person
from sequencer.domain.schedule import SchedulePolicy
from sequencer.domain.sender import (
    DEFAULT_SIGNATURE,
    Sender,
    SenderSignature,
    choose_signature,
    sender_values,
)
from sequencer.domain.sequence_rules import threaded_subject, unsubscribe_phrase
from sequencer.domain.text import html_to_text
from sequencer.sequences import suppression
from sequencer.sequences.models import Attachment
from sequencer.sequences.templating import (
    AiResolver,
    AiTextMissing,
    MissingVariable,
    RenderError,
    has_ai_slot_without_fallback,
    render_html_body,
    render_subject,
)
from sequencer.stepwise import Steps, stepwise


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


def recipient_data(
    person: Person, address: str, definitions: AttributeDefinitions | None = None
) -> dict[str, dict[str, object]]:
    # The address being written to, which may not be the person's primary one.
    return render_context(person, definitions, email=address)


class _SignatureRow(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def body_html(self) -> str: ...

    @property
    def is_default(self) -> bool: ...


class _SignatureRows(Protocol):
    def all(self) -> Any: ...


class _Member(Protocol):
    @property
    def name(self) -> str: ...


class MailboxLike(Protocol):
    """What rendering reads from a mailbox object when it is given one instead of a Sender."""

    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def signatures(self) -> _SignatureRows: ...

    @property
    def owner_id(self) -> int: ...

    @property
    def owner(self) -> _Member: ...


def sender_of(mailbox: MailboxLike, *, signatures: bool = True) -> Sender:
    """The plain :class:`Sender` of a mailbox object, with its signatures (one query,
    and one more for the owner unless it was loaded with the mailbox); without them
    when ``signatures`` is false (no query for them)."""
    rows: list[_SignatureRow] = list(mailbox.signatures.all()) if signatures else []
    return Sender.of(
        mailbox.email,
        mailbox.display_name,
        (SenderSignature(row.name, row.body_html, row.is_default) for row in rows),
        owner_id=mailbox.owner_id,
        owner_name=mailbox.owner.name,
    )


def _as_sender(sender: Sender | MailboxLike, *, signatures: bool) -> Sender:
    return sender if isinstance(sender, Sender) else sender_of(sender, signatures=signatures)


def _signature_html(sender: Sender, choice: str) -> str:
    signature = choose_signature(sender.signatures, choice)
    return f'<div class="signature">{signature.html}</div>' if signature else ""


def _footer_html(phrase_id: str, url: str) -> str:
    phrase = unsubscribe_phrase(phrase_id)
    text = html_lib.escape(phrase.text)
    link = html_lib.escape(phrase.link_text)
    anchor = f'<a href="{html_lib.escape(url)}">{link}</a>'
    # The link text is part of the phrase; link it where it stands, or append it.
    body = text.replace(link, anchor, 1) if link in text else f"{text} {anchor}"
    return f'<p style="font-size:12px;color:#6b7280">{body}</p>'


class AiTextSource(Protocol):
    """Where the text of a recipient's AI slots comes from (``sequencer.ai.variables``).

    Asked once per rendered field (``"subject"`` or ``"body"``) of a step, with the
    field's template and the data it is rendered with; the resolver it returns is called
    for each slot of that field in order, the n-th call being slot n of that field.
    """

    def resolver(
        self, *, step: int, field: str, source: str, data: Mapping[str, Any], html: bool
    ) -> AiResolver: ...

    def stored_only(self) -> AiTextSource:
        """The same texts, read as stored and never written: for emails already sent."""
        ...

    def fallback_reasons(self, step: int) -> list[str]:
        """Why a fallback stood in for model text in ``step``'s slots resolved so far
        (one reason per slot; empty when every slot had model text)."""
        ...


def steps_waiting_for_ai_text(snapshot: Mapping[str, Any]) -> list[int]:
    """The (0-based) steps that will wait: an AI slot with no fallback, no text yet.

    For enrollment and previews to warn before anyone waits; the send itself checks
    each recipient (:class:`AiTextMissing`).
    """
    threaded = bool(snapshot["settings"].get("thread_emails"))
    waiting = []
    for index, step in enumerate(snapshot["steps"]):
        own_subject = index == 0 or not threaded
        sources = [step["body_html"]] + ([step["subject"]] if own_subject else [])
        if any(has_ai_slot_without_fallback(source) for source in sources):
            waiting.append(index)
    return waiting


def render_step_in_steps(
    *,
    snapshot: Mapping[str, Any],
    step: int,
    person: Person,
    address: str,
    enrollment_id: int | None,
    sender: Sender | MailboxLike | None = None,
    mailbox: MailboxLike | None = None,
    first_subject: str | None = None,
    strict: bool = True,
    unsubscribe_url: str | None = None,
    preview: bool = False,
    ai_texts: AiTextSource | None = None,
    definitions: AttributeDefinitions | None = None,
) -> Steps[RenderedEmail]:
    """Step ``step`` of a version ``snapshot`` for ``person`` at ``address``, from ``sender``,
    rendered in two steps (see :mod:`sequencer.stepwise`; :func:`render_step` in one go):
    the templates, then the footer, the unsubscribe link and the plain text.

    ``sender`` is preferably a :class:`Sender`; ``mailbox=`` is the older spelling of the
    same argument. ``first_subject`` is the first email's subject as it was sent; a
    threaded follow-up answers it (``RE: ...``) rather than re-rendering it, so that it
    matches exactly. A ``preview`` gets ``unsubscribe_url`` or a placeholder link, never a
    working token: whoever looks at a preview is not the recipient. When ``strict``
    (sending, and the first try of a preview), an empty value printed without a fallback
    raises :class:`MissingVariable` and an AI slot without text raises
    :class:`AiTextMissing`; any other failure of the templates is a :class:`RenderError`
    naming the step and field. ``ai_texts`` gives the AI slots their text (without it,
    every slot shows its fallback). ``definitions``, the custom attributes read once for
    a batch of emails, spare a query per email.
    """
    given = sender if sender is not None else mailbox
    if given is None:
        raise TypeError("render_step needs the sender")
    settings = snapshot["settings"]
    # The mailbox's signatures are read only for an email that shows one.
    from_ = _as_sender(given, signatures=bool(settings.get("include_signature")))
    steps = snapshot["steps"]
    source = steps[step]
    data: dict[str, dict[str, object]] = {
        **recipient_data(person, address, definitions),
        "sender": dict(sender_values(from_)),
    }

    def slots(at: int, field: str, template: str, html: bool) -> AiResolver | None:
        if ai_texts is None:
            return None
        return ai_texts.resolver(step=at, field=field, source=template, data=data, html=html)

    with _about(step, "subject"):
        if step > 0 and settings.get("thread_emails"):
            first = first_subject
            if first is None:
                with _about(0, "subject"):
                    first_source = steps[0]["subject"]
                    first = render_subject(
                        first_source,
                        data,
                        ai_generator=slots(0, "subject", first_source, False),
                        strict=strict,
                    )
            subject = threaded_subject(first)
        else:
            subject = render_subject(
                source["subject"],
                data,
                ai_generator=slots(step, "subject", source["subject"], False),
                strict=strict,
            )
    with _about(step, "body"):
        body = render_html_body(
            source["body_html"],
            data,
            ai_generator=slots(step, "body", source["body_html"], True),
            strict=strict,
        )
    yield
    if preview:
        url = unsubscribe_url or suppression.preview_unsubscribe_url()
    else:
        url = suppression.unsubscribe_url(from_.email, address, enrollment_id, from_.owner_id)
    parts = [body]
    if settings.get("include_signature"):
        parts.append(_signature_html(from_, settings.get("signature", DEFAULT_SIGNATURE)))
    parts.append(_footer_html(settings["unsubscribe_phrase"], url))
    html = "\n".join(p for p in parts if p)
    ids = list(source.get("attachment_ids", [])) + list(source.get("inline_image_ids", []))
    files = {a.pk: a for a in Attachment.objects.filter(pk__in=ids)} if ids else {}
    return RenderedEmail(
        subject=subject,
        html=html,
        text=html_to_text(html),
        unsubscribe_url=url,
        unsubscribe_mailto=suppression.unsubscribe_mailto(from_.email),
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


render_step = stepwise(render_step_in_steps)


class StepRenderError(RenderError):
    """A template of one step failed to render; the message names the step and field."""

    def __init__(self, step: int, field: str, reason: str) -> None:
        super().__init__(
            f"Step {step + 1}'s {field} cannot be rendered: {reason}. Fix the template "
            "and publish the sequence again, then resume the recipient."
        )
        self.step = step
        self.field = field


@contextmanager
def _about(step: int, field: str) -> Iterator[None]:
    """Name the step and field in a render failure (values and AI slots name theirs)."""
    try:
        yield
    except AiTextMissing as exc:
        if exc.step is not None:
            raise
        raise AiTextMissing(step, exc.reason) from None
    except (MissingVariable, StepRenderError):
        raise
    except RenderError as exc:
        raise StepRenderError(step, field, str(exc)) from exc
