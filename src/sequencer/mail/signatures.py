"""Signatures: named HTML snippets per mailbox, one of them the default.

Signature HTML comes from members and ends up in mail to outsiders, so it is sanitised
with nh3 (an allow-list HTML sanitiser) when saved: scripts, event handlers, forms and
``javascript:`` links are removed. Inline ``style`` is kept, limited to presentational
properties, because mail clients ignore style sheets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nh3
from django.db import transaction
from django.db.models import QuerySet

from sequencer.domain.errors import InvalidInput
from sequencer.mail.models import Mailbox, Signature

_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "title", "dir", "lang", "align", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"cellpadding", "cellspacing", "border", "width", "align", "bgcolor"},
    "td": {"width", "valign", "align", "bgcolor", "colspan", "rowspan"},
}
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "text-align",
    "text-decoration",
    "vertical-align",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-collapse",
    "width",
    "height",
    "max-width",
    "display",
}
# cid: lets a signature show an image sent inline with the message (RFC 2392).
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
MAX_SIGNATURE_LENGTH = 100_000


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
    )


def signatures_of(mailbox: Mailbox) -> QuerySet[Signature]:
    return mailbox.signatures.all()


def default_signature(mailbox: Mailbox) -> Signature | None:
    return mailbox.signatures.filter(is_default=True).first()


def _checked(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("Give the signature a name.", field="name", code="required")
        if len(name.strip()) > 200:
            raise InvalidInput("name is longer than 200 characters.", field="name", code="too_long")
        values["name"] = name.strip()
    if "body_html" in data or not partial:
        body = data.get("body_html") or ""
        if not isinstance(body, str):
            raise InvalidInput(
                "body_html must be a string.", field="body_html", code="invalid_type"
            )
        if len(body) > MAX_SIGNATURE_LENGTH:
            raise InvalidInput(
                f"body_html is longer than {MAX_SIGNATURE_LENGTH} characters.",
                field="body_html",
                code="too_long",
            )
        values["body_html"] = sanitize_html(body)
    if "is_default" in data and data["is_default"] is not None:
        values["is_default"] = bool(data["is_default"])
    return values


def _make_default(signature: Signature) -> None:
    Signature.objects.filter(mailbox_id=signature.mailbox_id, is_default=True).exclude(
        pk=signature.pk
    ).update(is_default=False)
    signature.is_default = True


@transaction.atomic
def create_signature(mailbox: Mailbox, data: Mapping[str, Any]) -> Signature:
    """A new signature; the mailbox's first one becomes its default."""
    values = _checked(data, partial=False)
    wants_default = values.pop("is_default", None)
    signature = Signature(mailbox=mailbox, **values)
    has_default = (
        Signature.objects.select_for_update().filter(mailbox=mailbox, is_default=True).exists()
    )
    if wants_default or (wants_default is None and not has_default):
        _make_default(signature)
    signature.save()
    return signature


@transaction.atomic
def update_signature(signature: Signature, data: Mapping[str, Any]) -> Signature:
    values = _checked(data, partial=True)
    is_default = values.pop("is_default", None)
    for name, value in values.items():
        setattr(signature, name, value)
    if is_default is True:
        _make_default(signature)
    elif is_default is False:
        signature.is_default = False
    signature.save()
    return signature


@transaction.atomic
def delete_signature(signature: Signature) -> None:
    mailbox_id, was_default = signature.mailbox_id, signature.is_default
    signature.delete()
    if was_default:
        successor = Signature.objects.filter(mailbox_id=mailbox_id).order_by("id").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])
