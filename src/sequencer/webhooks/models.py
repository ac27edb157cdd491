"""Webhook endpoints, the deliveries owed to them, and every attempt made.

An endpoint belongs to the workspace (one per installation) and is managed by admins.
Its secret is stored encrypted; after a rotation the previous secret keeps signing
alongside the new one until ``previous_secret_until``.

A :class:`WebhookDelivery` is one event owed to one endpoint: the outbox row written in
the transaction that made the change, holding the exact body every attempt sends. The
delivery loop leases it (``lease_owner``/``lease_until``, :mod:`sequencer.leasing`) for
each attempt, and records each attempt as a :class:`WebhookAttempt`.
"""

from __future__ import annotations

from django.db import models

from sequencer.crypto import EncryptedTextField
from sequencer.workspace.models import User

MAX_URL_CHARS = 2000
MAX_DESCRIPTION_CHARS = 200
# What an attempt keeps of the receiver's answer.
EXCERPT_CHARS = 1024
ERROR_CHARS = 1000


class WebhookEndpoint(models.Model):
    url = models.CharField(max_length=MAX_URL_CHARS)
    description = models.CharField(max_length=MAX_DESCRIPTION_CHARS, blank=True)
    # Event names (sequencer.domain.webhook_events.WebhookEvent values) it wants.
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        # What every publish reads: the enabled endpoints, usually none.
        indexes = [models.Index(fields=["enabled"], name="webhook_endpoint_enabled")]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The webhook-id header: one per event, the same for every endpoint and retry.
    event_id = models.CharField(max_length=40)
    kind = models.CharField(max_length=40)
    # The exact body sent on every attempt (the signature covers these bytes).
    body = models.TextField()
    event_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # The retry schedule's count and start: the event's time, or a person's retry by hand
    # (which gives a failed delivery a fresh day of attempts).
    failures = models.PositiveIntegerField(default=0)
    retries_from = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="one_delivery_per_event_and_endpoint"
            )
        ]
        indexes = [
            # What the delivery loop reads each round: pending rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_newest"),
            # What pruning reads: deliveries older than the log keeps.
            models.Index(fields=["event_at"], name="webhook_delivery_event_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} to {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    # Repeated from the delivery so that an endpoint's log is read from one index.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_attempt_newest")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
