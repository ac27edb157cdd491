"""Custom attributes of people and companies, and checking the values records give them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.db.models.fields.json import KeyTransform

from sequencer.crm import definitions
from sequencer.crm.fields import RESERVED_SLUGS
from sequencer.crm.models import Attribute, AttributeType, Company, ListAttribute, Person
from sequencer.crm.values import AttributeSpec, check_value, referenced_ids
from sequencer.domain.errors import InvalidInput

_NOUN = {"people": "person", "companies": "company"}


def spec_of(attribute: Attribute | ListAttribute) -> AttributeSpec:
    return AttributeSpec(
        slug=attribute.slug,
        type=attribute.type,
        options=tuple(attribute.options or ()),
        target=getattr(attribute, "target", "") or "",
        is_multiple=bool(getattr(attribute, "is_multiple", False)),
    )


def specs(obj: str) -> dict[str, AttributeSpec]:
    """The attributes of ``obj`` ("people" or "companies") by slug."""
    return {a.slug: spec_of(a) for a in Attribute.objects.filter(object=obj)}


def records_of(obj: str) -> QuerySet[Any]:
    return Person.objects.all() if obj == "people" else Company.objects.all()


def existing_ids(target: str, ids: Iterable[int]) -> set[int]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(records_of(target).filter(pk__in=wanted).values_list("pk", flat=True))


def _unknown(obj: str, slug: str) -> InvalidInput:
    field = f"attributes.{slug}"
    if slug in RESERVED_SLUGS[obj]:
        return InvalidInput(
            f"{slug} is a standard field of {obj}, not a custom attribute; "
            "set it at the top level of the record instead of under attributes.",
            field=field,
            code="unknown_attribute",
        )
    in_list = ListAttribute.objects.filter(slug=slug).select_related("person_list").first()
    if obj == "people" and in_list is not None:
        return InvalidInput(
            f"{slug} is an attribute of the list {in_list.person_list.name!r}, not of people; "
            f"set it on the person's entry in that list "
            f"(POST /api/v1/lists/{in_list.person_list_id}/entries).",
            field=field,
            code="unknown_attribute",
        )
    return InvalidInput(
        f"The attribute {slug} does not exist for {obj}; create it first with "
        f'POST /api/v1/attributes {{"object": "{obj}", "slug": "{slug}", "title": ..., '
        '"type": ...}.',
        field=field,
        code="unknown_attribute",
    )


def check_record_values(
    obj: str, values: object, current: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The attributes a record of ``obj`` has once ``values`` are applied to ``current``.

    A value of None removes the attribute; slugs not in ``values`` keep their value.
    Errors name the field ``attributes.<slug>``.
    """
    if values is None:
        return dict(current or {})
    if not isinstance(values, Mapping):
        raise InvalidInput(
            'attributes is an object of slug to value, such as {"segment": "Enterprise"}.',
            field="attributes",
        )
    known = specs(obj)
    result = dict(current or {})
    wanted: dict[str, set[int]] = {}
    for slug, value in values.items():
        spec = known.get(slug)
        if spec is None:
            raise _unknown(obj, str(slug))
        try:
            checked = check_value(spec, value)
        except InvalidInput as exc:
            raise exc.under("attributes") from None
        for pk in referenced_ids(spec, checked):
            wanted.setdefault(spec.target, set()).add(pk)
        if checked is None:
            result.pop(slug, None)
        else:
            result[slug] = checked
    found = {target: existing_ids(target, ids) for target, ids in wanted.items()}
    for slug in values:
        spec = known[slug]
        present = found.get(spec.target, set())
        missing = [pk for pk in referenced_ids(spec, result.get(slug)) if pk not in present]
        if missing:
            raise InvalidInput(
                f"attributes.{slug}: no {_NOUN[spec.target]} with id {missing[0]} exists; "
                f"refer to an existing {_NOUN[spec.target]} by its id.",
                field=f"attributes.{slug}",
                code="missing_record",
            )
    return result


def create_attribute(
    obj: object,
    slug: object,
    title: object,
    type: object,
    options: object = None,
    target: object = None,
    is_multiple: object = False,
) -> Attribute:
    obj = definitions.check_object(obj)
    slug = definitions.check_slug(slug)
    if slug in RESERVED_SLUGS[obj]:
        raise InvalidInput(
            f"{slug} is a standard field of {obj}; choose another slug.",
            field="slug",
            code="reserved_slug",
        )
    title = definitions.check_title(title)
    kind = definitions.check_type(type)
    checked_options = definitions.check_options(kind, options)
    checked_target, multiple = definitions.check_target(kind, target, is_multiple)
    if Attribute.objects.filter(object=obj, slug=slug).exists():
        raise _duplicate(obj, slug)
    try:
        with transaction.atomic():
            return Attribute.objects.create(
                object=obj,
                slug=slug,
                title=title,
                type=kind,
                options=list(checked_options),
                target=checked_target,
                is_multiple=multiple,
            )
    except IntegrityError:
        raise _duplicate(obj, slug) from None


def _duplicate(obj: str, slug: str) -> InvalidInput:
    return InvalidInput(
        f"{obj} already have an attribute {slug}; choose another slug.",
        field="slug",
        code="duplicate_slug",
    )


def update_attribute(
    attribute: Attribute, *, title: object = None, options: object = None
) -> Attribute:
    """Change the title or the options; the slug, type and target are fixed once created."""
    if title is not None:
        attribute.title = definitions.check_title(title)
    if options is not None:
        checked = definitions.check_options(attribute.type, options)
        removed = set(attribute.options or ()) - set(checked)
        for option in sorted(removed):
            used = (
                records_of(attribute.object)
                .annotate(_v=KeyTransform(attribute.slug, "attributes"))
                .filter(_v=option)
                .count()
            )
            if used:
                raise InvalidInput(
                    f"The option {option!r} is used by {used} {attribute.object}; "
                    "change their value first, then remove the option.",
                    field="options",
                    code="option_in_use",
                )
        attribute.options = list(checked)
    attribute.save()
    return attribute


def _rewrite(queryset: QuerySet[Any], change: Any) -> None:
    """Apply ``change(attributes) -> bool`` to each record, saving the changed ones."""
    changed: list[Model] = []
    for record in queryset.only("pk", "attributes").iterator(chunk_size=1000):
        if change(record.attributes):
            changed.append(record)
    queryset.model._default_manager.bulk_update(changed, ["attributes"], batch_size=500)


@transaction.atomic
def delete_attribute(attribute: Attribute) -> None:
    """Delete the attribute and the values records gave it."""
    slug = attribute.slug

    def drop(values: dict[str, object]) -> bool:
        return values.pop(slug, None) is not None

    _rewrite(records_of(attribute.object).filter(attributes__has_key=slug), drop)
    attribute.delete()


def forget_record(obj: str, pk: int) -> None:
    """Remove a deleted record from the relationship values that pointed at it."""
    for attribute in Attribute.objects.filter(type=AttributeType.RELATIONSHIP, target=obj):
        slug = attribute.slug

        def drop(values: dict[str, object], slug: str = slug) -> bool:
            value = values.get(slug)
            if value == pk:
                del values[slug]
                return True
            if isinstance(value, list) and pk in value:
                kept = [v for v in value if v != pk]
                if kept:
                    values[slug] = kept
                else:
                    del values[slug]
                return True
            return False

        _rewrite(records_of(attribute.object).filter(attributes__has_key=slug), drop)
