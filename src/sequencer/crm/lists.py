"""Lists of people, the attributes only their entries have, and the entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from sequencer.automations import capture
from sequencer.crm import definitions
from sequencer.crm.attributes import spec_of
from sequencer.crm.models import ListAttribute, ListEntry, Person, PersonList
from sequencer.crm.unset import UNSET, Unset
from sequencer.crm.values import check_value
from sequencer.domain.errors import InvalidInput

# A list entry points at its person already; relationships between entries add nothing.
LIST_TYPES = ("text", "number", "date", "checkbox", "select")


def check_list_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            "A list needs a name, such as 'Q3 prospects'.", field="name", code="required"
        )
    name = name.strip()
    if len(name) > 200:
        raise InvalidInput("The name is longer than 200 characters.", field="name")
    return name


def _check_attribute_definitions(
    definitions_in: object, current: Mapping[str, ListAttribute]
) -> list[ListAttribute]:
    """Unsaved or changed ListAttribute rows for ``definitions_in``, in its order."""
    if not isinstance(definitions_in, list | tuple):
        raise InvalidInput(
            'attributes is a list such as [{"slug": "stage", "title": "Stage", '
            '"type": "select", "options": ["New", "Won"]}].',
            field="attributes",
        )
    rows: list[ListAttribute] = []
    seen: set[str] = set()
    for i, item in enumerate(definitions_in):
        where = f"attributes.{i}"
        if not isinstance(item, Mapping):
            raise InvalidInput(
                "Each attribute is an object with slug, title and type.", field=where
            )
        slug = definitions.check_slug(item.get("slug"), field=f"{where}.slug")
        if slug in seen:
            raise InvalidInput(
                f"The slug {slug} is listed twice.", field=f"{where}.slug", code="duplicate_slug"
            )
        seen.add(slug)
        title = definitions.check_title(item.get("title") or slug, field=f"{where}.title")
        kind = definitions.check_type(item.get("type"), LIST_TYPES, field=f"{where}.type")
        options = definitions.check_options(kind, item.get("options"), field=f"{where}.options")
        row = current.get(slug) or ListAttribute(slug=slug, type=kind)
        if row.type != kind:
            raise InvalidInput(
                f"The type of {slug} cannot change from {row.type} to {kind}; "
                "remove the attribute and add a new one with another slug.",
                field=f"{where}.type",
                code="type_fixed",
            )
        row.title, row.options, row.position = title, list(options), i
        rows.append(row)
    return rows


def _refuse_removing_used_options(person_list: PersonList, rows: list[ListAttribute]) -> None:
    # Read afresh: the rows prefetched on the list already carry the new options.
    stored = ListAttribute.objects.filter(person_list=person_list)
    before = {row.slug: set(row.options or ()) for row in stored}
    for i, row in enumerate(rows):
        removed = before.get(row.slug, set()) - set(row.options)
        if not removed:
            continue
        for entry in person_list.entries.only("values"):
            value = entry.values.get(row.slug)
            if value in removed:
                raise InvalidInput(
                    f"The option {value!r} of {row.slug} is used by entries of this list; "
                    "change their value first, then remove the option.",
                    field=f"attributes.{i}.options",
                    code="option_in_use",
                )


@transaction.atomic
def _apply_attributes(person_list: PersonList, rows: list[ListAttribute]) -> None:
    _refuse_removing_used_options(person_list, rows)
    kept = {row.slug for row in rows}
    removed = list(person_list.attributes.exclude(slug__in=kept).values_list("slug", flat=True))
    person_list.attributes.exclude(slug__in=kept).delete()
    for row in rows:
        row.person_list = person_list
        row.save()
    if removed:
        # Entries lose the values of attributes the list no longer has.
        changed = []
        for entry in person_list.entries.only("pk", "values"):
            dropped = [entry.values.pop(slug, None) for slug in removed]
            if any(value is not None for value in dropped):
                changed.append(entry)
        ListEntry.objects.bulk_update(changed, ["values"], batch_size=500)


@transaction.atomic
def create_list(name: object, attributes: object = None) -> PersonList:
    person_list = PersonList.objects.create(name=check_list_name(name))
    rows = _check_attribute_definitions(attributes or [], {})
    _apply_attributes(person_list, rows)
    return person_list


def update_list(
    person_list: PersonList, *, name: object | Unset = UNSET, attributes: object | Unset = UNSET
) -> PersonList:
    """Rename, and/or set the list's attributes: those left out are removed with their values."""
    if name is not UNSET:
        person_list.name = check_list_name(name)
    rows = None
    if attributes is not UNSET:
        current = {row.slug: row for row in person_list.attributes.all()}
        rows = _check_attribute_definitions(attributes or [], current)
    with transaction.atomic():
        person_list.save()
        if rows is not None:
            _apply_attributes(person_list, rows)
    return person_list


def delete_list(person_list: PersonList) -> None:
    person_list.delete()


def check_entry_values(
    person_list: PersonList, values: object, current: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The entry's values once ``values`` are merged in; errors name ``values.<slug>``."""
    if values is None:
        return dict(current or {})
    if not isinstance(values, Mapping):
        raise InvalidInput(
            'values is an object of slug to value, such as {"stage": "New"}.', field="values"
        )
    known = {row.slug: spec_of(row) for row in person_list.attributes.all()}
    result = dict(current or {})
    for slug, value in values.items():
        spec = known.get(slug)
        if spec is None:
            raise InvalidInput(
                f"The list {person_list.name!r} has no attribute {slug}; add it with "
                f"PATCH /api/v1/lists/{person_list.pk} "
                '{"attributes": [..., {"slug": "' + str(slug) + '", "title": ..., "type": ...}]}.',
                field=f"values.{slug}",
                code="unknown_attribute",
            )
        try:
            checked = check_value(spec, value)
        except InvalidInput as exc:
            raise exc.under("values") from None
        if checked is None:
            result.pop(slug, None)
        else:
            result[slug] = checked
    return result


def add_entry(person_list: PersonList, person_id: object, values: object = None) -> ListEntry:
    if isinstance(person_id, bool) or not isinstance(person_id, int):
        raise InvalidInput("person_id is the id of a person.", field="person_id")
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise InvalidInput(
            f"No person with id {person_id} exists.", field="person_id", code="missing_record"
        )
    checked = check_entry_values(person_list, values)
    duplicate = InvalidInput(
        f"{person.display_name} is already in the list {person_list.name!r}; "
        "change their entry instead.",
        field="person_id",
        code="duplicate_entry",
    )
    if ListEntry.objects.filter(person_list=person_list, person=person).exists():
        raise duplicate
    try:
        with transaction.atomic():
            entry = ListEntry.objects.create(person_list=person_list, person=person, values=checked)
            capture.added_to_list(entry)
            return entry
    except IntegrityError:
        raise duplicate from None


def update_entry(entry: ListEntry, values: object) -> ListEntry:
    entry.values = check_entry_values(entry.person_list, values, entry.values)
    entry.save(update_fields=["values"])
    return entry


def delete_entry(entry: ListEntry) -> None:
    entry.delete()


def remove_entries(person_list: PersonList, entry_ids: Sequence[int]) -> int:
    """Takes the entries ``entry_ids`` out of ``person_list`` in one statement and says
    how many went; ids of other lists' entries are ignored. The people stay."""
    _, removed = person_list.entries.filter(pk__in=list(entry_ids)).delete()
    return removed.get(ListEntry._meta.label, 0)


def entries_of(person_list: PersonList) -> QuerySet[ListEntry]:
    return person_list.entries.order_by("added_at", "id")
