"""Enrolling people into a published sequence, and the controls over each recipient.

An enrollment pins the version published when it was made; its first email is a
:class:`ScheduledEmail` row due at the first allowed instant. Each recipient of a request
gets its own answer: enrolled, or refused with a reason code and a message, so that one
bad address never stops the other 999.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet

from sequencer.clock import Clock, system_clock
from sequencer.crm.models import EmailAddress, ListEntry, Person
from sequencer.domain.errors import InvalidInput
from sequencer.domain.lifecycle import EnrollmentStatus as Status
from sequencer.domain.lifecycle import check_enrollment_move
from sequencer.domain.schedule import add_days_at_wall_time, next_allowed_instant
from sequencer.domain.sequence_rules import Level
from sequencer.domain.threading import make_message_id
from sequencer.mail.models import Mailbox
from sequencer.mail.proof import require_proven
from sequencer.sequences import access, delegation, suppression
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.models import (
    OPEN_STATUSES,
    EmailState,
    Enrollment,
    ExitReason,
    ScheduledEmail,
    Sequence,
    SequenceStatus,
)
from sequencer.sequences.rendering import policy_for, recipient_zone
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

    @property
    def enrolled(self) -> bool:
        return self.enrollment_id is not None


def _refused(person_id: int, code: str, message: str) -> Outcome:
    return Outcome(person_id=person_id, code=code, message=message)


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


def first_due(enrolled_at: datetime, delay_days: int, settings: dict, zone: str) -> datetime:
    policy = policy_for(settings, zone)
    base = (
        enrolled_at
        if delay_days == 0
        else add_days_at_wall_time(enrolled_at, delay_days, policy.zone)
    )
    return next_allowed_instant(base, policy)


def enroll(
    user: User,
    sequence_id: int | str,
    recipients: Seq[Recipient],
    *,
    mailbox_id: int | None = None,
    member_id: int | None = None,
    clock: Clock = system_clock,
) -> list[Outcome]:
    """Enroll ``recipients``, sending from ``mailbox_id`` or on behalf of ``member_id``."""
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(
            f"At most {MAX_RECIPIENTS} recipients can be enrolled in one request; "
            f"this one has {len(recipients)}. Split it into several requests.",
            field="recipients",
            code="too_many",
        )
    sequence = _sendable_sequence(user, sequence_id)
    mailbox = delegation.sending_mailbox(user, sequence, mailbox_id=mailbox_id, member_id=member_id)
    require_proven(mailbox, field="sender.mailbox_id" if mailbox_id else "sender.member_id")
    version = latest_version(sequence)
    assert version is not None
    settings, steps = version.settings, version.steps
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
            )
            continue
        chosen[index] = address

    blocked = suppression.suppressed_addresses(
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
                pid,
                "unsubscribed",
                f"{address} unsubscribed from emails sent by {mailbox.email}.",
            )
            continue
        if pid in open_people:
            outcomes[index] = _refused(pid, "already_enrolled", ALREADY_ACTIVE)
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
                    mailbox=mailbox,
                    sender_id=mailbox.owner_id,
                    enrolled_by=user,
                    status=Status.ACTIVE,
                    time_zone=recipient_zone(settings, person),
                    enrolled_at=now,
                ),
            )
        )

    created = dict(_create_enrollments(to_create, settings, steps, mailbox))
    for index, enrollment in to_create:
        if index in created:
            outcomes[index] = Outcome(person_id=enrollment.person_id, enrollment_id=enrollment.pk)
        else:  # a concurrent request enrolled them first
            outcomes[index] = _refused(enrollment.person_id, "already_enrolled", ALREADY_ACTIVE)
    return [outcomes[i] for i in range(len(recipients))]


def _first_email(
    enrollment: Enrollment, settings: dict, steps: list, mailbox: Mailbox
) -> ScheduledEmail:
    return ScheduledEmail(
        enrollment=enrollment,
        step=0,
        mailbox=mailbox,
        state=EmailState.SCHEDULED,
        due_at=first_due(
            enrollment.enrolled_at, steps[0]["delay_days"], settings, enrollment.time_zone
        ),
        message_id=make_message_id(mailbox.email),
    )


def _create_enrollments(
    pending: list[tuple[int, Enrollment]],
    settings: dict,
    steps: list,
    mailbox: Mailbox,
) -> list[tuple[int, Enrollment]]:
    """Insert in bulk; if a concurrent request enrolled someone meanwhile, one by one."""
    if not pending:
        return []
    try:
        with transaction.atomic():
            created = Enrollment.objects.bulk_create([e for _, e in pending])
            ScheduledEmail.objects.bulk_create(
                [_first_email(e, settings, steps, mailbox) for e in created]
            )
        return [(i, e) for (i, _), e in zip(pending, created, strict=True)]
    except IntegrityError:
        pass
    done = []
    for index, enrollment in pending:
        enrollment.pk = None
        try:
            with transaction.atomic():
                enrollment.save()
                _first_email(enrollment, settings, steps, mailbox).save()
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


# --- Recipient controls --------------------------------------------------------------

_PENDING = (EmailState.SCHEDULED, EmailState.CLAIMED)


def _cancel_pending(enrollment: Enrollment) -> int:
    """Cancel emails not yet handed to a provider; one already sending goes out."""
    return ScheduledEmail.objects.filter(enrollment=enrollment, state__in=_PENDING).update(
        state=EmailState.CANCELLED, lease_until=None, lease_owner=""
    )


def _locked(enrollment_id: int) -> Enrollment:
    return (
        # "of self": lock the enrollment only, not the version and mailbox it joins.
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "mailbox")
        .get(pk=enrollment_id)
    )


def _move(enrollment: Enrollment, target: Status) -> None:
    try:
        check_enrollment_move(Status(enrollment.status), target)
    except ValueError as exc:
        raise InvalidInput(
            f"This recipient is {enrollment.status}; it cannot be {target.value} now.",
            code="invalid_state",
        ) from exc


@transaction.atomic
def exit_enrollment(
    enrollment_id: int, reason: ExitReason, *, clock: Clock = system_clock
) -> Enrollment:
    """End the enrollment for ``reason`` and cancel its unsent emails (idempotent)."""
    enrollment = _locked(enrollment_id)
    if enrollment.status in (Status.EXITED, Status.COMPLETED):
        return enrollment
    enrollment.status = Status.EXITED
    enrollment.exit_reason = reason
    enrollment.finished_at = clock.now()
    enrollment.save(update_fields=["status", "exit_reason", "finished_at"])
    _cancel_pending(enrollment)
    return enrollment


def pause(user: User, enrollment_id: int, *, clock: Clock = system_clock) -> Enrollment:
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    with transaction.atomic():
        enrollment = _locked(int(enrollment_id))
        _move(enrollment, Status.PAUSED)
        enrollment.status = Status.PAUSED
        enrollment.paused_at = clock.now()
        enrollment.resume_at = None  # paused by a person: only a person resumes it
        enrollment.save(update_fields=["status", "paused_at", "resume_at"])
        _cancel_pending(enrollment)
    return enrollment


def remove(user: User, enrollment_id: int, *, clock: Clock = system_clock) -> Enrollment:
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    return exit_enrollment(int(enrollment_id), ExitReason.REMOVED, clock=clock)


def next_step_due(
    enrollment: Enrollment, step: int, after: datetime, not_before: datetime
) -> datetime:
    """When ``step`` is due: its delay after ``after`` (the previous send), and never
    before ``not_before``, at the first allowed instant."""
    settings = enrollment.version.settings
    policy = policy_for(settings, enrollment.time_zone)
    delay = enrollment.version.steps[step]["delay_days"]
    base = after if delay == 0 else add_days_at_wall_time(after, delay, policy.zone)
    return next_allowed_instant(max(base, not_before), policy)


def resume(user: User, enrollment_id: int, *, clock: Clock = system_clock) -> Enrollment:
    """Back to active; the next email's time is recomputed from now (never sooner than
    its delay after the previous email)."""
    get_enrollment(user, enrollment_id, Level.READ_WRITE)
    now = clock.now()
    with transaction.atomic():
        enrollment = _locked(int(enrollment_id))
        _move(enrollment, Status.ACTIVE)
        if enrollment.status == Status.FAILED and suppression.is_suppressed(
            enrollment.mailbox.email, enrollment.email, member_id=enrollment.mailbox.owner_id
        ):
            raise InvalidInput(
                f"{enrollment.email} unsubscribed from {enrollment.mailbox.email}; "
                "it cannot be resumed.",
                code="unsubscribed",
            )
        emails = list(enrollment.emails.exclude(state=EmailState.CANCELLED).order_by("step"))
        # A failed email is replaced by a fresh attempt; a sent one is kept.
        for email in emails:
            if email.state == EmailState.FAILED:
                email.state = EmailState.CANCELLED
                email.save(update_fields=["state"])
        sent = [
            e
            for e in emails
            if e.state in (EmailState.SENT, EmailState.SENDING, EmailState.UNKNOWN)
        ]
        live = [e for e in emails if e.state in _PENDING]
        enrollment.status = Status.ACTIVE
        enrollment.failure_reason = ""
        enrollment.paused_at = None
        enrollment.resume_at = None  # a person resuming early overrides an absence
        enrollment.save(update_fields=["status", "failure_reason", "paused_at", "resume_at"])
        next_step = (sent[-1].step + 1) if sent else 0
        if not live and next_step < len(enrollment.version.steps):
            after = sent[-1].sent_at or now if sent else enrollment.enrolled_at
            ScheduledEmail.objects.create(
                enrollment=enrollment,
                step=next_step,
                mailbox=enrollment.mailbox,
                due_at=next_step_due(enrollment, next_step, after, now),
                message_id=make_message_id(enrollment.mailbox.email),
            )
        elif not live:
            enrollment.status = Status.COMPLETED
            enrollment.finished_at = now
            enrollment.save(update_fields=["status", "finished_at"])
    return enrollment


def send_now(user: User, enrollment_id: int, *, clock: Clock = system_clock) -> Enrollment:
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
