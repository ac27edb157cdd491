"""Enrolling people into a published sequence, and the controls over each recipient.

An enrollment pins the version published when it was made; its first email is a
:class:`ScheduledEmail` row due at the first allowed instant. Each recipient of a request
gets its own answer: enrolled, or refused with a reason code and a message, so that one
bad address never stops the other 999.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet

from sequencer.clock import Clock
from sequencer.crm.models import EmailAddress, ListEntry, Person
from sequencer.domain.errors import InvalidInput
from sequencer.domain.events import EventKind
from sequencer.domain.lifecycle import EnrollmentStatus as Status
from sequencer.domain.schedule import step_due
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, announcements, delegation, lifecycle, suppression
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.lifecycle import exit_enrollment
from sequencer.sequences.models import (
    OPEN_STATUSES,
    EmailState,
    Enrollment,
    ScheduledEmail,
    Sequence,
    SequenceStatus,
    SequenceVersion,
)
from sequencer.sequences.rendering import (
    policy_for,
    recipient_zone,
    steps_waiting_for_ai_text,
)
from sequencer.sequences.senders import SendingMailbox
from sequencer.workspace.models import User

MAX_RECIPIENTS = 1000
ALREADY_ACTIVE = "This person is already active in this sequence."


@dataclass(frozen=True)
class Recipient:
    person_id: int
    email: str | None = None


@dataclass(frozen=True)
class Outcome:
    person_id: int
    enrollment_id: int | None = None
    code: str | None = None
    message: str | None = None
    # The address written to (or that would be, or was refused); None when none was found.
    email: str | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrollment_id is not None


@dataclass(frozen=True)
class Enrolled:
    """The answer to one enrollment request: an outcome per recipient, in request order,
    and warnings about the sequence itself that concern everyone enrolled."""

    outcomes: list[Outcome]
    warnings: list[str]


def _refused(person_id: int, code: str, message: str, email: str | None = None) -> Outcome:
    return Outcome(person_id=person_id, code=code, message=message, email=email)


def _suppressed(address: str, reasons: dict[str, str], sender_email: str) -> str:
    """Why ``address`` may not be enrolled from ``sender_email``, in the member's words.
    The code stays ``unsubscribed`` whatever the reason: every suppression refuses alike."""
    if reasons.get(address) == EventKind.COMPLAINED:
        return (
            f"{address} marked an email from {sender_email} as spam, so this sender does "
            "not email them again."
        )
    return f"{address} unsubscribed from emails sent by {sender_email}."


def recipients_from_list(list_id: int, entry_ids: Seq[int] | None) -> list[Recipient]:
    entries = ListEntry.objects.filter(person_list_id=list_id)
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    return [Recipient(pid) for pid in entries.order_by("id").values_list("person_id", flat=True)]


def _sendable_sequence(user: User, sequence_id: int | str) -> Sequence:
    sequence, _ = access.require_level(user, sequence_id, Level.READ_WRITE)
    if sequence.status == SequenceStatus.ARCHIVED:
        raise InvalidInput(
            "This sequence is archived; unarchive it to enroll people.", code="archived"
        )
    if latest_version(sequence) is None:
        raise InvalidInput(
            "This sequence has never been published; publish it, then enroll people.",
            code="not_published",
        )
    return sequence


@dataclass(frozen=True)
class _Plan:
    """What an enrollment request would do, decided before anything is written."""

    sequence: Sequence
    mailbox: SendingMailbox
    version: SequenceVersion
    refused: dict[int, Outcome]  # request index -> why not
    to_create: list[tuple[int, Enrollment]]  # request index -> unsaved enrollment


def _plan(
    user: User,
    sequence_id: int | str,
    recipients: Seq[Recipient],
    *,
    mailbox_id: int | None,
    member_id: int | None,
    clock: Clock,
) -> _Plan:
    """Every rule of enrolling, applied without writing: :func:`enroll` writes what this
    accepts, :func:`check` only reports it, so the two can never disagree."""
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(
            f"At most {MAX_RECIPIENTS} recipients can be enrolled in one request; "
            f"this one has {len(recipients)}. Split it into several requests.",
            field="recipients",
            code="too_many",
        )
    sequence = _sendable_sequence(user, sequence_id)
    mailbox = delegation.sending_mailbox(user, sequence, mailbox_id=mailbox_id, member_id=member_id)
    if (unproven := mailbox.proof_missing) is not None:
        raise InvalidInput(
            f"The mailbox {mailbox.email} cannot send yet: {unproven}",
            field="sender.mailbox_id" if mailbox_id else "sender.member_id",
            code="mailbox_unproven",
        )
    version = latest_version(sequence)
    assert version is not None
    settings = version.settings
    now = clock.now()

    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in={r.person_id for r in recipients}).prefetch_related(
            Prefetch("email_addresses", queryset=EmailAddress.objects.order_by("-is_primary", "id"))
        )
    }
    chosen: dict[int, str] = {}  # request index -> address to write to
    outcomes: dict[int, Outcome] = {}
    listed: set[int] = set()
    for index, recipient in enumerate(recipients):
        pid = recipient.person_id
        person = people.get(pid)
        if person is None:
            outcomes[index] = _refused(pid, "not_found", f"There is no person with id {pid}.")
            continue
        if pid in listed:
            outcomes[index] = _refused(pid, "duplicate", "This person is listed twice.")
            continue
        listed.add(pid)
        rows = {a.email: a for a in person.email_addresses.all()}  # primary first
        wanted = recipient.email.strip().lower() if recipient.email is not None else None
        if wanted is not None and wanted not in rows:
            outcomes[index] = _refused(
                pid,
                "invalid_address",
                f"{recipient.email} is not one of this person's addresses; add it to "
                "the person first or choose one of theirs.",
            )
            continue
        address = wanted or next(iter(rows), None)
        if address is None:
            outcomes[index] = _refused(
                pid, "no_address", "This person has no email address; add one to enroll them."
            )
            continue
        row = rows[address]
        if row.undeliverable_since is not None:
            outcomes[index] = _refused(
                pid,
                "undeliverable",
                f"Mail to {address} bounced on {row.undeliverable_since:%Y-%m-%d} "
                f"({row.undeliverable_reason or 'a permanent failure'}); correct the "
                "address or choose another of theirs.",
                address,
            )
            continue
        chosen[index] = address

    blocked = suppression.suppression_reasons(
        mailbox.email, chosen.values(), member_id=mailbox.owner_id
    )
    open_people = set(
        Enrollment.objects.filter(
            sequence=sequence,
            person_id__in={recipients[i].person_id for i in chosen},
            status__in=OPEN_STATUSES,
        ).values_list("person_id", flat=True)
    )
    to_create: list[tuple[int, Enrollment]] = []
    for index, address in chosen.items():
        pid = recipients[index].person_id
        if address in blocked:
            outcomes[index] = _refused(
                pid, "unsubscribed", _suppressed(address, blocked, mailbox.email), address
            )
            continue
        if pid in open_people:
            outcomes[index] = _refused(pid, "already_enrolled", ALREADY_ACTIVE, address)
            continue
        person = people[pid]
        to_create.append(
            (
                index,
                Enrollment(
                    sequence=sequence,
                    version=version,
                    person=person,
                    email=address,
                    mailbox_id=mailbox.pk,
                    sender_id=mailbox.owner_id,
                    enrolled_by=user,
                    time_zone=recipient_zone(settings, person),
                    enrolled_at=now,
                ),
            )
        )
    return _Plan(sequence, mailbox, version, outcomes, to_create)


def check(
    user: User,
    sequence_id: int | str,
    recipients: Seq[Recipient],
    *,
    mailbox_id: int | None = None,
    member_id: int | None = None,
    clock: Clock,
) -> Enrolled:
    """What :func:`enroll` would answer now, without enrolling anyone (a dry run).

    Each outcome that would be enrolled has no ``code`` and no ``enrollment_id``; its
    ``email`` is the address it would be written to. Raises as :func:`enroll` does (no
    access, read only, archived, an unusable sender)."""
    plan = _plan(
        user, sequence_id, recipients, mailbox_id=mailbox_id, member_id=member_id, clock=clock
    )
    outcomes = dict(plan.refused)
    for index, enrollment in plan.to_create:
        outcomes[index] = Outcome(person_id=enrollment.person_id, email=enrollment.email)
    return Enrolled(
        outcomes=[outcomes[i] for i in range(len(recipients))],
        warnings=ai_text_warnings(plan.version.settings, plan.version.steps),
    )


def enroll(
    user: User,
    sequence_id: int | str,
    recipients: Seq[Recipient],
    *,
    mailbox_id: int | None = None,
    member_id: int | None = None,
    clock: Clock,
) -> Enrolled:
    """Enroll ``recipients``, sending from ``mailbox_id`` or on behalf of ``member_id``.

    The answer warns about each step whose emails will wait for AI text."""
    plan = _plan(
        user, sequence_id, recipients, mailbox_id=mailbox_id, member_id=member_id, clock=clock
    )
    settings, steps = plan.version.settings, plan.version.steps
    outcomes = dict(plan.refused)
    created = dict(_create_enrollments(plan.to_create, settings, steps, plan.mailbox))
    for index, enrollment in plan.to_create:
        if index in created:
            outcomes[index] = Outcome(
                person_id=enrollment.person_id,
                enrollment_id=enrollment.pk,
                email=enrollment.email,
            )
        else:  # a concurrent request enrolled them first
            outcomes[index] = _refused(
                enrollment.person_id, "already_enrolled", ALREADY_ACTIVE, enrollment.email
            )
    return Enrolled(
        outcomes=[outcomes[i] for i in range(len(recipients))],
        warnings=ai_text_warnings(settings, steps),
    )


def ai_text_warnings(settings: dict, steps: list) -> list[str]:
    """One warning per step of a version whose emails may wait for AI text: an AI slot
    without a fallback is never sent empty, so while a recipient's text is not written
    (no model set up, or its answers unusable) the engine holds the email (see
    ``AiTextMissing`` and ``sequencer.ai.variables``)."""
    return [
        f"Step {index + 1} has an AI slot with no fallback: its emails will wait, and "
        "recipients will show why, until each recipient's text is written."
        for index in steps_waiting_for_ai_text({"settings": settings, "steps": steps})
    ]


def _first_email(
    enrollment: Enrollment, settings: dict, steps: list, mailbox: SendingMailbox
) -> ScheduledEmail:
    policy = policy_for(settings, enrollment.time_zone)
    return lifecycle.schedule_step(
        enrollment,
        0,
        step_due(enrollment.enrolled_at, steps[0]["delay_days"], policy),
        mailbox_id=mailbox.pk,
        mailbox_email=mailbox.email,
        created_at=enrollment.enrolled_at,
    )


def _create_enrollments(
    pending: list[tuple[int, Enrollment]],
    settings: dict,
    steps: list,
    mailbox: SendingMailbox,
) -> list[tuple[int, Enrollment]]:
    """Insert in bulk; if a concurrent request enrolled someone meanwhile, one by one."""
    if not pending:
        return []
    try:
        with transaction.atomic():
            created = Enrollment.objects.bulk_create([e for _, e in pending])
            firsts = ScheduledEmail.objects.bulk_create(
                [_first_email(e, settings, steps, mailbox) for e in created]
            )
            announcements.enrolled(zip(created, firsts, strict=True), mailbox.email)
        return [(i, e) for (i, _), e in zip(pending, created, strict=True)]
    except IntegrityError:
        pass
    done = []
    for index, enrollment in pending:
        enrollment.pk = None
        try:
            with transaction.atomic():
                enrollment.save()
                first = _first_email(enrollment, settings, steps, mailbox)
                first.save()
                announcements.enrolled([(enrollment, first)], mailbox.email)
        except IntegrityError:
            continue
        done.append((index, enrollment))
    return done


# --- Reading -------------------------------------------------------------------------


def visible_enrollments(user: User) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(sequence__in=access.visible_sequences(user))


def get_enrollment(
    user: User, enrollment_id: int | str, needed: Level = Level.READ_ONLY
) -> Enrollment:
    try:
        pk = int(enrollment_id)
    except (TypeError, ValueError):
        raise access.NoAccess() from None
    enrollment = (
        Enrollment.objects.select_related("sequence", "version", "mailbox", "person")
        .filter(pk=pk)
        .first()
    )
    if enrollment is None:
        raise access.NoAccess()
    access.require_level(user, enrollment.sequence_id, needed)
    return enrollment


# --- Recipient controls: each is one call of the lifecycle service ----------------------


def pause(user: User, enrollment_id: int, *, clock: Clock) -> Enrollment:
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    with transaction.atomic():
        enrollment = lifecycle.lock_enrollment(int(enrollment_id))
        lifecycle.pause(enrollment, clock.now())
    return enrollment


def remove(user: User, enrollment_id: int, *, clock: Clock) -> Enrollment:
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    return exit_enrollment(int(enrollment_id), EventKind.REMOVED, clock=clock)


def resume(user: User, enrollment_id: int, *, clock: Clock) -> Enrollment:
    """Back to active; the next email's time is recomputed from now (never sooner than
    its delay after the previous email)."""
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    with transaction.atomic():
        enrollment = lifecycle.lock_enrollment(int(enrollment_id))
        if enrollment.status == Status.FAILED and suppression.is_suppressed(
            enrollment.mailbox.email, enrollment.email, member_id=enrollment.mailbox.owner_id
        ):
            raise InvalidInput(
                f"{enrollment.email} unsubscribed from {enrollment.mailbox.email}; "
                "it cannot be resumed.",
                code="unsubscribed",
            )
        lifecycle.resume(enrollment, clock.now())
    return enrollment


def send_now(user: User, enrollment_id: int, *, clock: Clock) -> Enrollment:
    """Make the next email due now, skipping its wait and window; the worker still
    applies the mailbox's limits and the unsubscribe check before it goes out."""
    enrollment = get_enrollment(user, enrollment_id, Level.READ_WRITE)
    if enrollment.status != Status.ACTIVE:
        raise InvalidInput(
            f"This recipient is {enrollment.status}; resume it before sending now.",
            code="invalid_state",
        )
    updated = ScheduledEmail.objects.filter(
        enrollment=enrollment, state=EmailState.SCHEDULED
    ).update(due_at=clock.now(), skip_window=True)
    if not updated:
        raise InvalidInput(
            "This recipient has no email waiting to be sent.", code="nothing_scheduled"
        )
    return enrollment
