"""Calendars the members connect so that a booked meeting can end a recipient's sequence.

A :class:`CalendarConnection` is one member's calendar account: a CalDAV server (URL,
username and a password stored encrypted), or the Google or Microsoft calendar of one of
their OAuth mailboxes, whose tokens are reused. The worker polls each connection every
few minutes (:mod:`sequencer.calendars.sync`) under a lease, so that two workers never
read the same calendar at once, and keeps a cursor so each poll asks only for changes.

:class:`SeenEvent` remembers when each event UID was first seen for a member: an event
whose calendar does not say when it was created is dated by that. :class:`MeetingBooking`
records which event ended which enrollment; it is unique per (enrollment, UID), so the
same meeting seen again (next poll, another calendar of the member) applies once.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

from sequencer.crypto import EncryptedTextField


class CalendarKind(models.TextChoices):
    CALDAV = "caldav", "CalDAV"
    GOOGLE = "google", "Google Calendar"
    MICROSOFT = "microsoft", "Outlook calendar (Microsoft 365)"


class CalendarStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # The last poll failed for a reason that may pass (server down, timeout): retried
    # with a growing delay.
    FAILING = "failing", "Failing"
    # A person must act (wrong password, permission missing, calendar gone): not polled
    # until a successful connection test.
    DISCONNECTED = "disconnected", "Disconnected"


def uid_digest(uid: str) -> str:
    """A fixed-length key for an iCalendar UID (UIDs have no length limit)."""
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()


class CalendarConnection(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections"
    )
    kind = models.CharField(max_length=12, choices=CalendarKind.choices)

    # CalDAV: the server (or calendar) URL and the account's credentials.
    url = models.CharField(max_length=2000, blank=True)
    username = models.CharField(max_length=255, blank=True)
    password = EncryptedTextField(null=True, blank=True)

    # Google and Microsoft: the member's mailbox whose OAuth sign-in also reads the
    # calendar (the sign-in must include a calendar-read scope).
    mailbox = models.ForeignKey(
        "mail.Mailbox",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_connections",
    )

    # Where the next poll resumes, per kind: CalDAV {"calendars": {url: {"sync_token"}}},
    # Google {"sync_token"}, Microsoft {"modified_since"}. Empty: list the whole window.
    sync_cursor = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)

    status = models.CharField(
        max_length=20, choices=CalendarStatus.choices, default=CalendarStatus.ACTIVE
    )
    status_reason = models.TextField(blank=True)

    # Held by the worker polling this calendar; free when empty or in the past.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="caldav", mailbox__isnull=True)
                | models.Q(kind__in=["google", "microsoft"], mailbox__isnull=False),
                name="calendar_caldav_xor_mailbox",
            ),
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=models.Q(mailbox__isnull=False),
                name="calendar_one_connection_per_mailbox",
            ),
            models.UniqueConstraint(
                fields=["owner", "url", "username"],
                condition=models.Q(kind="caldav"),
                name="calendar_one_caldav_account_per_owner",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_sync_at"], name="calendar_due")]

    def __str__(self) -> str:
        return f"{self.kind} calendar of {self.owner_id}: {self.account}"

    @property
    def account(self) -> str:
        """Whose calendar this is, as a person would recognise it."""
        if self.kind == CalendarKind.CALDAV:
            return f"{self.username} at {self.url}"
        return self.mailbox.email if self.mailbox is not None else ""


class SeenEvent(models.Model):
    """The first time an event UID was seen in any calendar of ``owner``."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uid_hash = models.CharField(max_length=64)
    uid = models.TextField()
    first_seen_at = models.DateTimeField()
    # Seen first by the very first poll of a calendar: it existed before Sequencer looked,
    # so without a creation time of its own it is not taken for a new booking.
    in_baseline = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "uid_hash"], name="calendar_seen_event_once")
        ]

    def __str__(self) -> str:
        return self.uid


class MeetingBooking(models.Model):
    """A meeting that ended an enrollment (evidence for the timeline and for support)."""

    enrollment = models.ForeignKey(
        "sequences.Enrollment", on_delete=models.CASCADE, related_name="meeting_bookings"
    )
    connection = models.ForeignKey(
        CalendarConnection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uid_hash = models.CharField(max_length=64)
    uid = models.TextField()
    summary = models.CharField(max_length=500, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)  # the event's creation time
    detected_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "uid_hash"], name="calendar_booking_once_per_enrollment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.uid} for {self.enrollment_id}"
