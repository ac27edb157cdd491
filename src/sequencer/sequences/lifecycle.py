"""The one service through which every enrollment and every email changes state.

Each change is checked against the state machines of :mod:`sequencer.domain.lifecycle`
before it is written, so no caller can invent a move such as sending again after a reply
or reviving a removed recipient. Nothing outside this module writes ``Enrollment.status``
or ``ScheduledEmail.state`` (``tests/unit/test_lifecycle_is_the_only_writer.py`` checks
the source). Conditional bulk updates, which keep the engine crash-safe (``... WHERE
state = 'sending'``), go through :func:`move_emails`, which checks every move it can make.

**Lock order.** Every transaction that changes an enrollment or its emails locks rows
in one order, so concurrent transactions never deadlock on PostgreSQL:

1. the enrollment (several: in ascending id order), with :func:`lock_enrollment` or
   :func:`lock_for_email`;
2. then its emails (:func:`lock_for_email` takes the email right after its enrollment);
3. then the mailbox, which only the engine locks, last, to serialise pacing decisions.

SQLite has no row locks; its write transactions are serialised whole, which is stronger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeAlias

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.models import QuerySet

from sequencer.clock import Clock
from sequencer.crm.models import EmailAddress
from sequencer.domain.errors import InvalidInput
from sequencer.domain.events import ExitReason, is_exit_reason
from sequencer.domain.leases import lease_end
from sequencer.domain.lifecycle import (
    EMAIL_PENDING,
    EmailState,
    EnrollmentStatus,
    IllegalMove,
    check_email_move,
    check_enrollment_move,
)
from sequencer.domain.schedule import step_due
from sequencer.domain.threading import make_message_id
from sequencer.sequences import announcements
from sequencer.sequences.models import OPEN_STATUSES, Enrollment, ScheduledEmail
from sequencer.sequences.rendering import policy_for

__all__ = [
    "ResumeResult",
    "begin_sending",
    "cancel_email",
    "cancel_pending",
    "complete",
    "exit_enrollment",
    "fail",
    "lock_enrollment",
    "lock_for_email",
    "move_emails",
    "next_due",
    "pause",
    "record_sent",
    "release_reservations",
    "reschedule",
    "reserve",
    "resume",
    "schedule_step",
]

_RELEASED: dict[str, Any] = {"lease_until": None, "lease_owner": ""}
# An email that was not handed over holds no attempt: a reservation (see reserve())
# stops counting against the mailbox's limits.
_NOT_ATTEMPTED: dict[str, Any] = {"attempted_at": None}
# Emails that went to a provider: the next step follows the latest of them.
_HANDED_OVER = (EmailState.SENT, EmailState.SENDING, EmailState.UNKNOWN)


# -- locks ----------------------------------------------------------------------------


def lock_enrollment(enrollment_id: int) -> Enrollment:
    """Lock one enrollment row (step 1 of the lock order) with what its rules read."""
    return (
        # "of self": lock the enrollment only, not the rows it joins.
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "mailbox", "person", "sequence")
        .get(pk=enrollment_id)
    )


def _lock_status(email: ScheduledEmail) -> Enrollment:
    """Lock ``email``'s enrollment (step 1 of the lock order) and read its status only:
    the rest of the enrollment was loaded with the email and does not change (its version,
    person and sequence), so a send's record does not read it again."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_status_lock_sql(db.vendor), [email.enrollment_id])
        row = cursor.fetchone()
    if row is None:
        raise Enrollment.DoesNotExist(f"enrollment {email.enrollment_id} is gone")
    enrollment = email.enrollment
    enrollment.status = row[0]
    return enrollment


@cache
def _status_lock_sql(vendor: str) -> str:
    """The statement of :func:`_lock_status`, built once (``vendor`` keys the cache: the
    quoting and the lock clause are the database's)."""
    db = connections[DEFAULT_DB_ALIAS]
    table = db.ops.quote_name(Enrollment._meta.db_table)
    status, pk = _column(Enrollment, "status")[1], _column(Enrollment, "id")[1]
    lock = " FOR UPDATE" if db.features.has_select_for_update else ""
    return f"SELECT {status} FROM {table} WHERE {pk} = %s{lock}"


def lock_for_email(email_id: int) -> tuple[Enrollment, ScheduledEmail] | None:
    """Lock an email's enrollment, then the email (steps 1 and 2 of the lock order).

    The enrollment is found through its email in the query that locks it; ``None`` when
    either row is gone. What rendering the email reads of the recipient comes with it:
    the person and their company in the locking query (only the enrollment's row is
    locked: ``of=("self",)``), their addresses and the company's domains in one query
    each, so a send costs the same queries however many of those the recipient has.
    """
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "mailbox", "person__company", "sequence")
        .prefetch_related("person__email_addresses", "person__company__domain_rows")
        .filter(emails__pk=email_id)
        .first()
    )
    if enrollment is None:
        return None
    email = ScheduledEmail.objects.select_for_update().filter(pk=email_id).first()
    if email is None:
        return None
    email.enrollment = enrollment
    return enrollment, email


# -- the checked moves -----------------------------------------------------------------


@dataclass(frozen=True)
class _Increment:
    """``column = column + by``, in :func:`_update_row`'s changes."""

    by: int = 1


def _update_row(
    model: type[models.Model],
    pk: int,
    changes: dict[str, Any],
    *,
    state_in: Iterable[str] = (),
    **where: Any,
) -> int:
    """``UPDATE`` one row of ``model`` by primary key, only if its ``state`` is one of
    ``state_in`` (when given) and its fields equal ``where``; how many rows changed.

    The engine writes a few rows per email it sends, and the ORM's query compiler costs
    about ten times the statement itself (160 µs against 14 µs on SQLite, measured):
    these single-row writes are therefore written directly, each value prepared by its
    field exactly as the ORM prepares it (time zones, JSON), on both databases. Each
    shape of statement is built once (:func:`_update_sql`).
    """
    db = connections[DEFAULT_DB_ALIAS]
    states = [str(state) for state in state_in]
    shape = tuple((name, isinstance(value, _Increment)) for name, value in changes.items())
    sql, set_fields, where_fields = _update_sql(model, shape, tuple(where), len(states), db.vendor)
    params: list[Any] = [
        value.by if isinstance(value, _Increment) else field.get_db_prep_save(value, db)
        for field, value in zip(set_fields, changes.values(), strict=True)
    ]
    params.append(pk)
    params.extend(
        field.get_db_prep_value(value, db)
        for field, value in zip(where_fields, where.values(), strict=True)
    )
    params.extend(states)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


# The ORM's field type (generic for the type checker only, so named in a string).
_Field: TypeAlias = "models.Field[Any, Any]"


@cache
def _update_sql(
    model: type[models.Model],
    changes: tuple[tuple[str, bool], ...],
    where: tuple[str, ...],
    states: int,
    vendor: str,
) -> tuple[str, list[_Field], list[_Field]]:
    """The statement of :func:`_update_row` for one shape: the names it sets (and
    whether each is an increment), the names it compares, how many states it allows;
    with the fields whose values fill its parameters, in order. (``vendor`` keys the
    cache: the quoting is the database's.)"""
    sets: list[str] = []
    set_fields: list[_Field] = []
    for name, increment in changes:
        field, column = _column(model, name)
        sets.append(f"{column} = {column} + %s" if increment else f"{column} = %s")
        set_fields.append(field)
    conditions = [f"{_column(model, 'id')[1]} = %s"]
    where_fields: list[_Field] = []
    for name in where:
        field, column = _column(model, name)
        conditions.append(f"{column} = %s")
        where_fields.append(field)
    if states:
        conditions.append(f"{_column(model, 'state')[1]} IN ({', '.join(['%s'] * states)})")
    table = connections[DEFAULT_DB_ALIAS].ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"
    return sql, set_fields, where_fields


def _column(model: type[models.Model], name: str) -> tuple[_Field, str]:
    """The field ``name`` of ``model`` and its quoted column."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{name} is not a column of {model.__name__}")
    return field, connections[DEFAULT_DB_ALIAS].ops.quote_name(field.column)


def _move_enrollment(enrollment: Enrollment, target: EnrollmentStatus, **fields: Any) -> None:
    check_enrollment_move(EnrollmentStatus(enrollment.status), target)
    enrollment.status = target
    for name, value in fields.items():
        setattr(enrollment, name, value)
    _updated_one(_update_row(Enrollment, enrollment.pk, {"status": target.value, **fields}))


def _move_email(email: ScheduledEmail, target: EmailState, **fields: Any) -> None:
    # A bug that tries a move the machine lacks (say, rescheduling a sent email) fails
    # loudly here instead of sending twice.
    check_email_move(EmailState(email.state), target)
    email.state = target
    for name, value in fields.items():
        setattr(email, name, value)
    _updated_one(_update_row(ScheduledEmail, email.pk, {"state": target.value, **fields}))


def _updated_one(count: int) -> None:
    # As Model.save(update_fields=...) does: a row that vanished is an error, not a no-op.
    if count != 1:
        raise DatabaseError("the row to update is gone")


def _move_email_if(
    email_id: int,
    sources: Iterable[EmailState],
    target: EmailState,
    *,
    where: dict[str, Any] | None = None,
    **fields: Any,
) -> int:
    """:func:`move_emails` for one email by id (the engine's hot path, written directly
    by :func:`_update_row`): moved only if it is in one of ``sources``."""
    return _update_row(
        ScheduledEmail,
        email_id,
        {"state": target.value, **fields},
        state_in=sorted(_legal_sources(sources, target)),
        **(where or {}),
    )


def _legal_sources(sources: Iterable[EmailState], target: EmailState) -> frozenset[EmailState]:
    """``sources``, each checked to have a move to ``target`` in the machine."""
    states = frozenset(sources)
    for source in states:
        check_email_move(source, target)
    return states


def move_emails(
    rows: QuerySet[ScheduledEmail],
    sources: Iterable[EmailState],
    target: EmailState,
    **fields: Any,
) -> int:
    """Move those of ``rows`` that are in one of ``sources`` to ``target`` in one
    conditional UPDATE (the crash-safe form: a row another transaction moved meanwhile
    is left alone); how many moved. Every ``source → target`` must be a legal move."""
    return rows.filter(state__in=_legal_sources(sources, target)).update(state=target, **fields)


def _user_move(enrollment: Enrollment, target: EnrollmentStatus) -> None:
    """A person's request for a move the machine lacks is their error, not a bug."""
    try:
        check_enrollment_move(EnrollmentStatus(enrollment.status), target)
    except IllegalMove as exc:
        raise InvalidInput(
            f"This recipient is {enrollment.status}; it cannot be {target.value} now.",
            code="invalid_state",
        ) from exc


# -- emails ----------------------------------------------------------------------------


def next_due(
    enrollment: Enrollment, step: int, after: datetime, not_before: datetime | None = None
) -> datetime:
    """When ``step`` of ``enrollment`` is due: the domain's schedule rule
    (:func:`~sequencer.domain.schedule.step_due`) with the version's settings in the
    recipient's zone."""
    version = enrollment.version
    policy = policy_for(version.settings, enrollment.time_zone)
    return step_due(after, version.steps[step]["delay_days"], policy, not_before)


def schedule_step(
    enrollment: Enrollment,
    step: int,
    due_at: datetime,
    *,
    mailbox_id: int,
    mailbox_email: str,
    created_at: datetime,
) -> ScheduledEmail:
    """A new email row for ``step`` (its state starts as *scheduled*, the model default),
    created at ``created_at`` by the caller's clock."""
    return ScheduledEmail(
        enrollment=enrollment,
        step=step,
        mailbox_id=mailbox_id,
        due_at=due_at,
        message_id=make_message_id(mailbox_email),
        created_at=created_at,
    )


def cancel_pending(enrollment: Enrollment) -> int:
    """Cancel emails not yet handed to a provider; one already sending goes out."""
    return move_emails(
        ScheduledEmail.objects.filter(enrollment=enrollment),
        EMAIL_PENDING,
        EmailState.CANCELLED,
        **_RELEASED,
        **_NOT_ATTEMPTED,
    )


def cancel_email(email: ScheduledEmail) -> None:
    _move_email(email, EmailState.CANCELLED, lease_until=None, **_NOT_ATTEMPTED)


def reschedule(email: ScheduledEmail, due_at: datetime, note: str = "") -> None:
    """Back to *scheduled* at ``due_at``, lease released; ``note`` says why it waits."""
    fields: dict[str, Any] = {"due_at": due_at, **_RELEASED, **_NOT_ATTEMPTED}
    if note:
        fields["last_error"] = note
    _move_email(email, EmailState.SCHEDULED, **fields)


def reserve(email_ids: Iterable[int], owner: str, now: datetime) -> int:
    """Count ``owner``'s claimed emails against their mailbox's limits from ``now`` on,
    before each is committed as *sending*: the engine decides the pacing of a batch at
    once (under the mailbox's lock), and another worker's decision must see the sends
    this one is about to make. Every move back to *scheduled* or *cancelled* clears it."""
    return ScheduledEmail.objects.filter(
        pk__in=list(email_ids), state=EmailState.CLAIMED, lease_owner=owner
    ).update(attempted_at=now)


def release_reservations(email_ids: Iterable[int], owner: str) -> int:
    """Undo :func:`reserve` for those of ``owner``'s claimed emails that did not go."""
    return ScheduledEmail.objects.filter(
        pk__in=list(email_ids), state=EmailState.CLAIMED, lease_owner=owner
    ).update(**_NOT_ATTEMPTED)


def begin_sending(
    email: ScheduledEmail, owner: str, clock: Clock, lease: timedelta, subject: str
) -> bool:
    """Committed as *sending* before the provider call, if its enrollment is still active
    and it is still ``owner``'s *claimed* email; whether it was.

    This is the point that orders a send against a reply, an unsubscribe or a removal.
    It locks the enrollment's row (step 1 of the lock order) and reads the time under
    that lock; an exit locks the same row, then cancels the enrollment's claimed emails
    (:func:`cancel_pending`). So either the exit came first and nothing is sent, or this
    email was *sending*, at an earlier time, before the exit began. Pacing counts it from
    here on. An enrollment that stopped otherwise (paused, failed) cancels the email.
    """
    with transaction.atomic():
        enrollment = _lock_status(email)
        if enrollment.status != EnrollmentStatus.ACTIVE:
            _move_email_if(
                email.pk,
                (EmailState.CLAIMED,),
                EmailState.CANCELLED,
                where={"lease_owner": owner},
                **_RELEASED,
                **_NOT_ATTEMPTED,
            )
            return False
        now = clock.now()
        until = lease_end(now, lease)
        moved = _move_email_if(
            email.pk,
            (EmailState.CLAIMED,),
            EmailState.SENDING,
            where={"lease_owner": owner},
            attempted_at=now,
            attempts=_Increment(),
            subject=subject,
            lease_until=until,
        )
    if moved:
        email.state, email.attempted_at, email.lease_until = EmailState.SENDING, now, until
        email.attempts += 1
        email.subject = subject
    return bool(moved)


def mark_unknown(email_id: int, reason: str) -> int:
    """The provider may or may not have accepted it: only the Sent folder can tell."""
    return move_emails(
        ScheduledEmail.objects.filter(pk=email_id),
        (EmailState.SENDING,),
        EmailState.UNKNOWN,
        last_error=reason,
        lease_until=None,
    )


def mark_bounced(email_id: int, reason: str, sources: Iterable[EmailState]) -> int:
    return move_emails(
        ScheduledEmail.objects.filter(pk=email_id),
        sources,
        EmailState.BOUNCED,
        last_error=reason[:2000],
        lease_until=None,
    )


def fail(enrollment: Enrollment, email: ScheduledEmail, reason: str) -> None:
    """The email failed for ``reason``; an active enrollment fails with it (a person
    fixes the record and resumes it, or removes it). Both rows are locked. An email that
    never left (*claimed*) holds no attempt against the limits."""
    unsent = _NOT_ATTEMPTED if email.state == EmailState.CLAIMED else {}
    _move_email(email, EmailState.FAILED, last_error=reason, lease_until=None, **unsent)
    if enrollment.status == EnrollmentStatus.ACTIVE:
        _move_enrollment(enrollment, EnrollmentStatus.FAILED, failure_reason=reason)


def fail_unknown(enrollment: Enrollment | None, email_id: int, reason: str) -> bool:
    """An email whose outcome stays unknown fails (if it is still unknown)."""
    moved = move_emails(
        ScheduledEmail.objects.filter(pk=email_id),
        (EmailState.UNKNOWN,),
        EmailState.FAILED,
        last_error=reason,
    )
    if moved and enrollment is not None and enrollment.status == EnrollmentStatus.ACTIVE:
        _move_enrollment(enrollment, EnrollmentStatus.FAILED, failure_reason=reason)
    return bool(moved)


def record_sent(
    email: ScheduledEmail,
    sent_at: datetime,
    *,
    provider_message_id: str = "",
    thread_id: str = "",
    webhooks: list[int] | None = None,
) -> None:
    """Mark sent and schedule the next step (or complete the enrollment); ``email.sent``
    goes to the webhooks that want it (``webhooks``: their ids, when the engine read them
    once for a batch of sends)."""
    with transaction.atomic():
        enrollment = _lock_status(email)
        moved = _move_email_if(
            email.pk,
            (EmailState.SENDING, EmailState.UNKNOWN),
            EmailState.SENT,
            sent_at=sent_at,
            lease_until=None,
            provider_message_id=provider_message_id,
            thread_id=thread_id,
            last_error="",
        )
        if moved:
            announcements.sent(enrollment, email, sent_at, webhooks)
        if not moved or enrollment.status != EnrollmentStatus.ACTIVE:
            return  # a reply or a removal arrived meanwhile: nothing more goes out
        next_step = email.step + 1
        if next_step >= len(enrollment.version.steps):
            complete(enrollment, sent_at)
            return
        schedule_step(
            enrollment,
            next_step,
            next_due(enrollment, next_step, sent_at, sent_at),
            mailbox_id=email.mailbox_id,
            mailbox_email=email.mailbox.email,
            created_at=sent_at,
        ).save()


# -- enrollments -----------------------------------------------------------------------


def complete(enrollment: Enrollment, at: datetime) -> None:
    _move_enrollment(enrollment, EnrollmentStatus.COMPLETED, finished_at=at)


@transaction.atomic
def exit_enrollment(enrollment_id: int, reason: ExitReason, *, clock: Clock) -> Enrollment:
    """End the enrollment for ``reason`` and cancel its unsent emails (idempotent: an
    enrollment that already ended is returned as it is). The one way every exit happens:
    a person's removal, a reply, an unsubscribe (link, mailto or one seen right before
    sending), a bounce, a booked meeting. An exit that happens publishes its webhook
    events (:func:`sequencer.sequences.announcements.exited`)."""
    if not is_exit_reason(reason):
        raise ValueError(f"{reason!r} is not a reason an enrollment can end with.")
    enrollment = lock_enrollment(enrollment_id)
    if enrollment.status not in OPEN_STATUSES:
        return enrollment
    at = clock.now()
    _move_enrollment(enrollment, EnrollmentStatus.EXITED, exit_reason=reason, finished_at=at)
    cancel_pending(enrollment)
    announcements.exited(enrollment, reason, at)
    return enrollment


def exit_all_writing_to(address: str, reason: ExitReason, *, clock: Clock) -> int:
    """End, for ``reason``, every open enrollment that writes to ``address``; how many
    were open. A hard bounce proves the address takes no mail, whichever sequence found out,
    so no other sequence may write to it again.

    Found through the people who have the address (the foreign-key index on the
    enrollment's person), never by reading every enrollment. Each exit is a transaction
    of its own (:func:`exit_enrollment`), so no two enrollments are ever locked at once:
    call it after the transaction that recorded the bounce, not inside it."""
    wanted = address.strip().lower()
    people = EmailAddress.objects.filter(email=wanted).values("person_id")
    open_ids = list(
        Enrollment.objects.filter(person_id__in=people, status__in=OPEN_STATUSES)
        .filter(email__iexact=wanted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for enrollment_id in open_ids:
        exit_enrollment(enrollment_id, reason, clock=clock)  # unless it ended meanwhile
    return len(open_ids)


def pause(
    enrollment: Enrollment,
    now: datetime,
    *,
    resume_at: datetime | None = None,
    by_person: bool = True,
) -> None:
    """Pause a locked enrollment and cancel its unsent emails.

    A person's pause (``by_person``) is refused with a clear error when the machine has
    no such move, and clears any return date (only a person resumes it). An absence
    (an out-of-office reply) sets ``resume_at``; a second one while paused for absence
    keeps the later return date.
    """
    if by_person:
        _user_move(enrollment, EnrollmentStatus.PAUSED)
    if enrollment.status == EnrollmentStatus.ACTIVE:
        _move_enrollment(enrollment, EnrollmentStatus.PAUSED, paused_at=now, resume_at=resume_at)
    elif enrollment.status == EnrollmentStatus.PAUSED:
        # Already paused for an absence: only the return date moves.
        enrollment.resume_at = resume_at
        enrollment.save(update_fields=["resume_at"])
    else:
        raise IllegalMove(f"An enrollment cannot go from {enrollment.status} to paused.")
    cancel_pending(enrollment)


def forget_return_date(enrollment: Enrollment) -> None:
    """The absence no longer applies (a person acted meanwhile)."""
    enrollment.resume_at = None
    enrollment.save(update_fields=["resume_at"])


@dataclass(frozen=True)
class ResumeResult:
    next_step: int
    due_at: datetime | None  # None when nothing was left to send (completed) or one waits


def resume(enrollment: Enrollment, now: datetime) -> ResumeResult:
    """Back to active (a locked, paused or failed enrollment), the one resume for a
    person and for an absence that ended.

    A failed email is replaced by a fresh attempt; a sent one is kept. The next email is
    due at its delay after the previous one, never before ``now``, inside the sending
    window; with nothing left to send the enrollment completes.
    """
    _user_move(enrollment, EnrollmentStatus.ACTIVE)
    emails = list(enrollment.emails.exclude(state=EmailState.CANCELLED).order_by("step"))
    for email in emails:
        if email.state == EmailState.FAILED:
            _move_email(email, EmailState.CANCELLED)
    handed_over = [e for e in emails if e.state in _HANDED_OVER]
    waiting = [e for e in emails if e.state in EMAIL_PENDING]
    _move_enrollment(
        enrollment, EnrollmentStatus.ACTIVE, failure_reason="", paused_at=None, resume_at=None
    )
    next_step = (handed_over[-1].step + 1) if handed_over else 0
    if waiting:
        return ResumeResult(next_step, None)
    if next_step >= len(enrollment.version.steps):
        complete(enrollment, now)
        return ResumeResult(next_step, None)
    after = (handed_over[-1].sent_at or now) if handed_over else enrollment.enrolled_at
    due_at = next_due(enrollment, next_step, after, now)
    schedule_step(
        enrollment,
        next_step,
        due_at,
        mailbox_id=enrollment.mailbox_id,
        mailbox_email=enrollment.mailbox.email,
        created_at=now,
    ).save()
    return ResumeResult(next_step, due_at)


# -- the engine's crash-safety moves ---------------------------------------------------


def claim(ids: list[int], now: datetime, lease: timedelta, owner: str) -> int:
    """*scheduled* → *claimed* under ``owner``'s lease (the caller holds the rows)."""
    return move_emails(
        ScheduledEmail.objects.filter(id__in=ids),
        (EmailState.SCHEDULED,),
        EmailState.CLAIMED,
        lease_until=lease_end(now, lease),
        lease_owner=owner,
    )


def release_expired(expired: QuerySet[ScheduledEmail]) -> tuple[int, int]:
    """Rows whose worker vanished: *claimed* ones are due again (nothing was handed
    over), *sending* ones become *unknown* (the provider may have accepted them)."""
    released = move_emails(
        expired, (EmailState.CLAIMED,), EmailState.SCHEDULED, **_RELEASED, **_NOT_ATTEMPTED
    )
    lost = move_emails(expired, (EmailState.SENDING,), EmailState.UNKNOWN, lease_until=None)
    return released, lost


def send_again(email_id: int, now: datetime) -> int:
    """An unknown email proven unsent goes out again (same Message-ID)."""
    return move_emails(
        ScheduledEmail.objects.filter(pk=email_id),
        (EmailState.UNKNOWN,),
        EmailState.SCHEDULED,
        due_at=now,
        **_RELEASED,
    )
