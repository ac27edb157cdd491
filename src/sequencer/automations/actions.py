"""What a workflow does to people: enroll them into a sequence, or remove them from one.

Both go through the sequences package's own services as the workflow's owner, so the
owner's access, the sender rules (delegated sending), suppressions and the "one open
enrollment per person" guard apply exactly as when the owner enrolls by hand.

Outcomes, per person (decisions where the design is silent):

- ``enrolled`` / ``removed``: done.
- ``skipped``: the person's own situation stops it, nothing to fix in the workflow:
  already active in the sequence, unsubscribed, every address bounced, no owner to
  send as, not enrolled (for a removal).
- ``refused``: the workflow cannot act as configured: the owner lost access, the
  sequence was archived, the record owner has not turned on delegated sending, the
  mailbox cannot send. The reason is the service's own message.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass

from sequencer.automations.models import EntryOutcome
from sequencer.clock import Clock
from sequencer.crm.models import Person
from sequencer.domain.errors import InvalidInput
from sequencer.domain.lifecycle import EnrollmentStatus
from sequencer.domain.sequence_rules import Level
from sequencer.domain.workflows import Enroll, Remove
from sequencer.sequences import access, enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import OPEN_STATUSES, Enrollment, Sequence
from sequencer.workspace.models import User

__all__ = ["Result", "enroll_people", "remove_people"]

# The enrollment service's refusals that concern the workflow, not the person.
_PERSON_CODES = frozenset(
    {
        "already_enrolled",
        "unsubscribed",
        "undeliverable",
        "no_address",
        "invalid_address",
        "not_found",
        "duplicate",
    }
)


@dataclass(frozen=True)
class Result:
    """What one action did for one person."""

    outcome: str  # an EntryOutcome value
    reason: str = ""
    enrollment_id: int | None = None


def _sequence_name(sequence_id: int) -> str:
    name = Sequence.objects.filter(pk=sequence_id).values_list("name", flat=True).first()
    return repr(name) if name else f"#{sequence_id}"


def _access_refusal(owner: User, sequence_id: int, exc: Exception) -> str:
    name = _sequence_name(sequence_id)
    if isinstance(exc, access.InsufficientAccess):
        return (
            f"{owner} has {exc.have.label.lower()} access to the sequence {name}, which does "
            "not let them enroll people or remove them; ask for read and write access."
        )
    return f"{owner} can no longer see the sequence {name} (it was deleted or access removed)."


def _address(person: Person, how: str) -> tuple[str | None, str | None]:
    """The address to write to (None: the primary) or, second, why there is none."""
    if how != "first_deliverable":
        return None, None
    rows = person.ordered_emails
    if not rows:
        return None, None  # the enrollment service says "no address" in its own words
    for row in rows:
        if row.undeliverable_since is None:
            return row.email, None
    return None, f"Every address of {person.display_name} bounced; none can be written to."


def enroll_people(
    owner: User, action: Enroll, people: Seq[Person], *, clock: Clock
) -> dict[int, Result]:
    """Enroll ``people`` as ``action`` says, acting as ``owner``; a result per person id.

    People are grouped by sender (the record owner differs from person to person), one
    enrollment request per group (at most :data:`enrollment.MAX_RECIPIENTS`).
    """
    results: dict[int, Result] = {}
    groups: dict[int, list[Recipient]] = {}
    for person in people:
        if action.sender.kind == "record_owner":
            if person.owner_id is None:
                results[person.pk] = Result(
                    EntryOutcome.SKIPPED,
                    f"{person.display_name} has no owner, so there is nobody to send as; "
                    "set their owner.",
                )
                continue
            member_id = person.owner_id
        else:
            assert action.sender.member_id is not None
            member_id = action.sender.member_id
        email, why_not = _address(person, action.address)
        if why_not is not None:
            results[person.pk] = Result(EntryOutcome.SKIPPED, why_not)
            continue
        groups.setdefault(member_id, []).append(Recipient(person.pk, email))
    for member_id, recipients in groups.items():
        for start in range(0, len(recipients), enrollment.MAX_RECIPIENTS):
            chunk = recipients[start : start + enrollment.MAX_RECIPIENTS]
            results.update(_enroll_chunk(owner, action, member_id, chunk, clock))
    return results


def _enroll_chunk(
    owner: User, action: Enroll, member_id: int, recipients: list[Recipient], clock: Clock
) -> dict[int, Result]:
    try:
        answer = enrollment.enroll(
            owner, action.sequence_id, recipients, member_id=member_id, clock=clock
        )
    except (access.NoAccess, access.InsufficientAccess) as exc:
        reason = _access_refusal(owner, action.sequence_id, exc)
        return {r.person_id: Result(EntryOutcome.REFUSED, reason) for r in recipients}
    except InvalidInput as exc:
        return {r.person_id: Result(EntryOutcome.REFUSED, exc.message) for r in recipients}
    results: dict[int, Result] = {}
    for outcome in answer.outcomes:
        if outcome.enrolled:
            results[outcome.person_id] = Result(
                EntryOutcome.ENROLLED,
                f"Enrolled in the sequence {_sequence_name(action.sequence_id)}"
                + (f" at {outcome.email}." if outcome.email else "."),
                outcome.enrollment_id,
            )
        else:
            kind = EntryOutcome.SKIPPED if outcome.code in _PERSON_CODES else EntryOutcome.REFUSED
            results[outcome.person_id] = Result(kind, outcome.message or "Not enrolled.")
    return results


def remove_people(
    owner: User, action: Remove, people: Seq[Person], *, clock: Clock
) -> dict[int, Result]:
    """End the open enrollment of each of ``people`` in the action's sequence (reason
    "removed"), acting as ``owner``; a result per person id."""
    try:
        sequence, _ = access.require_level(owner, action.sequence_id, Level.READ_WRITE)
    except (access.NoAccess, access.InsufficientAccess) as exc:
        reason = _access_refusal(owner, action.sequence_id, exc)
        return {p.pk: Result(EntryOutcome.REFUSED, reason) for p in people}
    open_ones = dict(
        Enrollment.objects.filter(
            sequence=sequence, person_id__in=[p.pk for p in people], status__in=OPEN_STATUSES
        ).values_list("person_id", "pk")
    )
    results: dict[int, Result] = {}
    for person in people:
        enrollment_id = open_ones.get(person.pk)
        if enrollment_id is None:
            results[person.pk] = Result(
                EntryOutcome.SKIPPED,
                f"{person.display_name} is not active in the sequence {sequence.name!r}.",
            )
            continue
        try:
            ended = enrollment.remove(owner, enrollment_id, clock=clock)
        except (access.NoAccess, access.InsufficientAccess) as exc:
            results[person.pk] = Result(
                EntryOutcome.REFUSED, _access_refusal(owner, action.sequence_id, exc)
            )
            continue
        if ended.status == EnrollmentStatus.EXITED and ended.exit_reason == "removed":
            results[person.pk] = Result(
                EntryOutcome.REMOVED,
                f"Removed from the sequence {sequence.name!r}.",
                ended.pk,
            )
        else:
            results[person.pk] = Result(
                EntryOutcome.SKIPPED,
                f"{person.display_name} had already left the sequence {sequence.name!r}.",
            )
    return results
