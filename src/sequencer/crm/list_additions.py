"""Adding many people to a list at once: the People table's "Add to list", a list's "Add
people", and the API's batch form.

Each person is added through :func:`sequencer.crm.lists.add_entry`, so whatever a single
addition does, a batch does for each. A person already in the list, or no longer in the
workspace, is skipped and said so: adding is idempotent, the answer says what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from sequencer.crm import lists as list_service
from sequencer.crm.models import ListEntry, Person, PersonList
from sequencer.domain.errors import InvalidInput

MAX_PEOPLE = 1000

Status = Literal["added", "already_in_list", "no_such_person"]
ADDED: Final = "added"
ALREADY: Final = "already_in_list"
MISSING: Final = "no_such_person"


@dataclass(frozen=True)
class Addition:
    person_id: int
    status: Status
    entry_id: int | None = None


@dataclass(frozen=True)
class Additions:
    """One outcome per person asked for, in the order asked (repeats answered once)."""

    outcomes: list[Addition] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def add_people(person_list: PersonList, person_ids: Sequence[int]) -> Additions:
    """Add the people not in ``person_list`` yet; skip the others, saying why."""
    if len(person_ids) > MAX_PEOPLE:
        raise InvalidInput(
            f"Add at most {MAX_PEOPLE} people at once; send the rest in another request.",
            field="person_ids",
            code="too_many",
        )
    wanted = list(dict.fromkeys(person_ids))
    already = dict(
        ListEntry.objects.filter(person_list=person_list, person_id__in=wanted).values_list(
            "person_id", "pk"
        )
    )
    existing = set(Person.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    outcomes = []
    for pk in wanted:
        if pk in already:
            outcomes.append(Addition(pk, ALREADY, already[pk]))
        elif pk not in existing:
            outcomes.append(Addition(pk, MISSING))
        else:
            try:
                entry = list_service.add_entry(person_list, pk)
            except InvalidInput:
                # Added (or removed from the workspace) by someone else in the meantime.
                outcomes.append(Addition(pk, ALREADY if _in_list(person_list, pk) else MISSING))
            else:
                outcomes.append(Addition(pk, ADDED, entry.pk))
    return Additions(outcomes)


def _in_list(person_list: PersonList, person_id: int) -> bool:
    return ListEntry.objects.filter(person_list=person_list, person_id=person_id).exists()
