"""Typed attributes of people and companies: their definitions.

Every member of the workspace sees and edits every record; the API's default
authentication is all the access control there is. The logic is in :mod:`sequencer.crm`;
this module only translates JSON to service calls and back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status

from sequencer.api.errors import NotFound
from sequencer.crm import attributes as attribute_service
from sequencer.crm.models import Attribute
from sequencer.inputs import Input

router = Router(tags=["CRM"])


class AttributeIn(Input):
    object: str
    slug: str
    title: str
    type: str
    options: list[str] | None = None
    target: str | None = None
    is_multiple: bool = False


class AttributePatch(Input):
    title: str | None = None
    options: list[str] | None = None


class AttributeOut(Schema):
    id: int
    object: str
    slug: str
    title: str
    type: str
    options: list[str]
    target: str | None
    is_multiple: bool
    created_at: datetime


def _attribute(a: Attribute) -> AttributeOut:
    return AttributeOut(
        id=a.pk,
        object=a.object,
        slug=a.slug,
        title=a.title,
        type=a.type,
        options=list(a.options or ()),
        target=a.target or None,
        is_multiple=a.is_multiple,
        created_at=a.created_at,
    )


def _get_attribute(attribute_id: int) -> Attribute:
    attribute = Attribute.objects.filter(pk=attribute_id).first()
    if attribute is None:
        raise NotFound("attribute")
    return attribute


@router.post("/attributes", response={201: AttributeOut})
def create_attribute(request: HttpRequest, payload: AttributeIn) -> Status[AttributeOut]:
    attribute = attribute_service.create_attribute(
        payload.object,
        payload.slug,
        payload.title,
        payload.type,
        options=payload.options,
        target=payload.target,
        is_multiple=payload.is_multiple,
    )
    return Status(201, _attribute(attribute))


@router.get("/attributes", response=list[AttributeOut])
def list_attributes(
    request: HttpRequest, object: Literal["people", "companies"] | None = None
) -> list[AttributeOut]:
    attributes = Attribute.objects.order_by("object", "id")
    if object is not None:
        attributes = attributes.filter(object=object)
    return [_attribute(a) for a in attributes]


@router.get("/attributes/{attribute_id}", response=AttributeOut)
def get_attribute(request: HttpRequest, attribute_id: int) -> AttributeOut:
    return _attribute(_get_attribute(attribute_id))


@router.patch("/attributes/{attribute_id}", response=AttributeOut)
def update_attribute(
    request: HttpRequest, attribute_id: int, payload: AttributePatch
) -> AttributeOut:
    attribute = attribute_service.update_attribute(
        _get_attribute(attribute_id), title=payload.title, options=payload.options
    )
    return _attribute(attribute)


@router.delete("/attributes/{attribute_id}", response={204: None})
def delete_attribute(request: HttpRequest, attribute_id: int) -> Status[None]:
    attribute_service.delete_attribute(_get_attribute(attribute_id))
    return Status(204, None)
