"""Sequences, their draft steps, their published versions, access grants and templates.

A sequence has one *draft* (its ``settings`` and its :class:`Step` rows), which is what
the editor shows and changes. Publishing freezes the draft into a new
:class:`SequenceVersion`, which is never changed afterwards: recipients stay on the
version they were enrolled with. Files (attachments and inline images) live in the
database so that every web process and worker, on any machine, sees the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db import models

from sequencer.domain.events import EXIT_REASONS, RECORDED_KINDS, RECORDED_LABELS, EventKind
from sequencer.domain.lifecycle import EmailState, EnrollmentStatus
from sequencer.domain.sequence_rules import display_name
from sequencer.workspace.models import Team, User


class AccessLevel(models.TextChoices):
    FULL_ACCESS = "full_access", "Full access"
    READ_WRITE = "read_write", "Read and write"
    READ_ONLY = "read_only", "Read only"
    NO_ACCESS = "no_access", "No access"


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # never published
    LIVE = "live", "Live"
    ARCHIVED = "archived", "Archived"


class AttachmentManager(models.Manager["Attachment"]):
    def get_queryset(self) -> models.QuerySet[Attachment]:
        # The bytes load only when read: showing a step's files must not pull 25 MB from
        # the database. Related managers (step.attachments) are built from this one too.
        return super().get_queryset().defer("data")


class Attachment(models.Model):
    """An uploaded file, attached to emails or shown inline (``<img src="cid:...">``).

    Its content never changes once uploaded, so drafts, versions and templates can all
    point at the same row.
    """

    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    data = models.BinaryField()
    inline = models.BooleanField(default=False)
    # Only inline images have one; it is what the body's "cid:" URL names.
    content_id = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AttachmentManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_id"],
                condition=models.Q(inline=True),
                name="attachment_unique_content_id",
            ),
            models.CheckConstraint(
                condition=models.Q(inline=False) | ~models.Q(content_id=""),
                name="attachment_inline_has_content_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Sequence(models.Model):
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=SequenceStatus.choices, default=SequenceStatus.DRAFT
    )
    # The draft's settings, always complete and valid (see domain.sequence_rules).
    settings = models.JSONField(default=dict)
    workspace_access = models.CharField(
        max_length=20, choices=AccessLevel.choices, default=AccessLevel.READ_WRITE
    )
    # True when the draft differs from the latest version (only possible once published).
    has_unpublished_changes = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="created_sequences"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "-updated_at"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name(self.name)


class Step(models.Model):
    """One email of a sequence's draft; ``position`` counts from 0."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    delay_days = models.IntegerField()
    # As written; a later step of a threaded sequence is sent as "RE: <first subject>".
    subject = models.CharField(max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    # Regular attachments and the inline images the body refers to.
    attachments = models.ManyToManyField(Attachment, blank=True, related_name="steps")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="step_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.sequence} step {self.position}"


class ImmutableError(Exception):
    """A published version was about to be changed; publish a new one instead."""


class SequenceVersion(models.Model):
    """A published, frozen copy of the draft. Rows are inserted, never updated."""

    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    settings = models.JSONField()
    steps = models.JSONField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Whether any step has an AI variable ({% ai %}), decided at publish: the worker's
    # write-ahead reads only the emails of such versions, so it costs nothing when no
    # sequence uses AI (sequencer.engine.ai_ahead).
    has_ai_slots = models.BooleanField(default=False)
    # The files the snapshot refers to, so that none is deleted while a version needs it.
    attachments = models.ManyToManyField(Attachment, blank=True, related_name="versions")

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "number"], name="version_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="version_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("A published version cannot change; publish a new version.")
        super().save(*args, **kwargs)


class SequenceGrant(models.Model):
    """An access level on one sequence for one member or one team (never both)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="sequence_grants"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="sequence_grants"
    )
    level = models.CharField(max_length=20, choices=AccessLevel.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, team__isnull=True)
                    | models.Q(user__isnull=True, team__isnull=False)
                ),
                name="grant_user_xor_team",
            ),
            models.UniqueConstraint(
                fields=["sequence", "user"],
                condition=models.Q(user__isnull=False),
                name="grant_unique_user",
            ),
            models.UniqueConstraint(
                fields=["sequence", "team"],
                condition=models.Q(team__isnull=False),
                name="grant_unique_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.team}: {self.level} on {self.sequence}"


class EmailTemplate(models.Model):
    """A saved email in the workspace's template library, shared by every member."""

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    attachments = models.ManyToManyField(Attachment, blank=True, related_name="templates")
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="email_templates"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


# --- Recipients and their emails ----------------------------------------------------


def _choices(states: Iterable[StrEnum]) -> list[tuple[str, str]]:
    """Field choices from domain enum members, labelled as Django labels its own
    choices."""
    return [(state.value, state.name.replace("_", " ").title()) for state in states]


# Enrollments that still hold their place in a sequence: a person can have one at a time.
OPEN_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED, EnrollmentStatus.FAILED)


class Enrollment(models.Model):
    """One person going through one published version of a sequence."""

    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="enrollments")
    version = models.ForeignKey(SequenceVersion, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("crm.Person", on_delete=models.CASCADE, related_name="enrollments")
    email = models.CharField(max_length=254)  # the recipient address chosen at enrollment
    mailbox = models.ForeignKey("mail.Mailbox", on_delete=models.PROTECT, related_name="+")
    sender = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    enrolled_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        max_length=12, choices=_choices(EnrollmentStatus), default=EnrollmentStatus.ACTIVE
    )
    exit_reason = models.CharField(max_length=20, choices=_choices(EXIT_REASONS), blank=True)
    failure_reason = models.TextField(blank=True)
    # The zone whose windows apply to this recipient, fixed at enrollment.
    time_zone = models.CharField(max_length=64)
    enrolled_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Set when an out-of-office reply paused the enrollment: the worker resumes it then.
    resume_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "person"],
                condition=models.Q(status__in=["active", "paused", "failed"]),
                name="one_open_enrollment_per_person",
            )
        ]
        indexes = [
            models.Index(fields=["mailbox", "status"]),
            # What the worker resumes on each tick: only enrollments paused until a date.
            models.Index(
                fields=["resume_at"],
                condition=models.Q(resume_at__isnull=False),
                name="enrollment_resume_at",
            ),
            # The Recipients tab's order: a page of 25 is read from here, not by sorting
            # every enrollment of the sequence.
            models.Index(
                fields=["sequence", "-enrolled_at", "-id"], name="enrollment_recipients_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.sequence_id} ({self.status})"


class ScheduledEmail(models.Model):
    """One email of one enrollment: the engine's unit of work.

    The row for step n+1 is created when step n is sent. ``message_id`` is chosen before
    the first attempt and kept across retries, so the Sent folder can tell whether an
    attempt whose outcome was lost went out. ``attempted_at`` marks when the mailbox
    committed to sending: pacing counts these.
    """

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="emails")
    step = models.PositiveIntegerField()
    mailbox = models.ForeignKey("mail.Mailbox", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=12, choices=_choices(EmailState), default=EmailState.SCHEDULED
    )
    due_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255)
    subject = models.CharField(max_length=998, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    thread_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    # "Send now": skip the sending window once; limits and unsubscribes still apply.
    skip_window = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Never two live emails for one step: this is what makes a duplicate impossible
            # even if two workers or a retry raced. A cancelled row (a pause) may be
            # followed by a new one when the recipient is resumed.
            models.UniqueConstraint(
                fields=["enrollment", "step"],
                condition=~models.Q(state="cancelled"),
                name="one_live_email_per_step",
            ),
        ]
        indexes = [
            # The claim query reads only due scheduled rows: a partial index keeps its
            # cost proportional to what is due, not to every email ever sent.
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="scheduled"),
                name="due_scheduled_emails",
            ),
            models.Index(
                fields=["lease_until"],
                condition=models.Q(state__in=["claimed", "sending"]),
                name="leased_emails",
            ),
            # Emails whose outcome was lost, by when to search for them again: rare, but
            # looked for on every tick.
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="unknown"),
                name="unknown_emails",
            ),
            # Housekeeping's daily search for cancelled emails that were never tried (so
            # never shown on a timeline): only those rows, in id order, not the table.
            models.Index(
                fields=["id"],
                condition=models.Q(state="cancelled", attempted_at__isnull=True),
                name="cancelled_untried_emails",
            ),
            models.Index(fields=["mailbox", "attempted_at"], name="mailbox_attempts"),
            models.Index(fields=["message_id"], name="email_message_id"),
            # Inbound mail is matched to what was sent by the provider's thread too
            # (Gmail threadId, Graph conversationId).
            models.Index(
                fields=["mailbox", "thread_id"],
                condition=~models.Q(thread_id=""),
                name="email_thread_id",
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.step} of {self.enrollment_id} ({self.state})"


class DelegatedSender(models.Model):
    """A member who lets others with access to a sequence send from their mailbox.

    ``mailbox`` empty means "my default mailbox at the time of each enrollment".
    An invitation waits (``accepted_at`` empty) until the invited member accepts.
    """

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="delegates")
    member = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(
        "mail.Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sequence", "member"], name="one_delegation_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} for {self.sequence_id}"


class Suppression(models.Model):
    """An address that must not receive sequence email from one sender.

    Unsubscribing stops every sequence sent from that sender, not only the one the link
    was in. The sender is both the address the email came from and, when known, the
    member who owns that mailbox (``member``): the row then blocks every mailbox of that
    member too, delegated sends included. A row without a member blocks the address only.
    A suppression is lifted by an admin, never deleted, so the history stays.
    """

    sender_email = models.CharField(max_length=254)
    recipient_email = models.CharField(max_length=254)
    member = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=40)  # unsubscribed, bounced, asked_to_stop, ...
    source = models.TextField(blank=True)
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            # One active row per (address, recipient) and member; two members sharing an
            # address (a team inbox) each keep their own row.
            models.UniqueConstraint(
                fields=["sender_email", "recipient_email"],
                condition=models.Q(lifted_at__isnull=True, member__isnull=True),
                name="one_active_suppression",
            ),
            models.UniqueConstraint(
                fields=["sender_email", "recipient_email", "member"],
                condition=models.Q(lifted_at__isnull=True, member__isnull=False),
                name="one_active_member_suppression",
            ),
        ]
        indexes = [
            models.Index(
                fields=["member", "recipient_email"],
                condition=models.Q(lifted_at__isnull=True, member__isnull=False),
                name="suppression_member_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_email} from {self.sender_email}"


class EnrollmentEvent(models.Model):
    """Something that happened to one enrollment, for its timeline. Rows are only added.

    Events read from the mailbox point at the :class:`~sequencer.mail.models.InboundMessage`
    they came from, whose raw bytes are kept.
    """

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        max_length=32, choices=[(kind.value, RECORDED_LABELS[kind]) for kind in RECORDED_KINDS]
    )
    occurred_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    inbound_message = models.ForeignKey(
        "mail.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrollment_events",
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["enrollment", "occurred_at"], name="enrollment_timeline"),
            # A mailbox's complaint rate counts its recent spam complaints on each new
            # one: few rows, found without reading every timeline.
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(kind=EventKind.COMPLAINED.value),
                name="complaint_events",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.enrollment_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("Timeline events are only ever added.")
        super().save(*args, **kwargs)
