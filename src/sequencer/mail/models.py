"""Mailboxes the members send from, and their signatures.

A mailbox is the member's own account at a mail provider. Sequencer sends through it
(SMTP, Gmail API or Microsoft Graph), files the sent copy where the member's mail client
would, and reads replies from it (IMAP, Gmail, Graph). Passwords and OAuth tokens are
stored encrypted (:mod:`sequencer.crypto`) and never leave the server in an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

from sequencer.crypto import EncryptedJSONField, EncryptedTextField

if TYPE_CHECKING:
    from sequencer.workspace.models import User


class Provider(models.TextChoices):
    SMTP_IMAP = "smtp_imap", "SMTP and IMAP"
    GMAIL = "gmail", "Gmail"
    MICROSOFT = "microsoft", "Microsoft 365"


class Security(models.TextChoices):
    # ``starttls`` upgrades a plain connection (RFC 3207 for SMTP, RFC 9051 §6.2.1 for
    # IMAP); ``tls`` speaks TLS from the first byte ("implicit TLS", RFC 8314).
    NONE = "none", "None"
    STARTTLS = "starttls", "STARTTLS"
    TLS = "tls", "TLS"


class MailboxStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    DISCONNECTED = "disconnected", "Disconnected"


DEFAULT_PER_HOUR = 12
DEFAULT_PER_DAY = 200
DEFAULT_MIN_SPACING_SECONDS = 300
DEFAULT_SENT_FOLDER = "Sent"


class Mailbox(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)

    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(null=True, blank=True)
    smtp_security = models.CharField(
        max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(max_length=255, blank=True)
    smtp_password = EncryptedTextField(null=True, blank=True)

    # An empty ``imap_host`` means no IMAP: the mailbox can send, but replies, bounces
    # and the Sent copy cannot be seen.
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(null=True, blank=True)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.TLS)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = EncryptedTextField(null=True, blank=True)

    # {"access_token", "refresh_token", "expires_at"}: used instead of passwords (SASL
    # XOAUTH2) for SMTP/IMAP, and as the bearer token of the Gmail and Graph APIs.
    oauth_tokens = EncryptedJSONField(null=True, blank=True)

    per_hour = models.PositiveIntegerField(default=DEFAULT_PER_HOUR)
    per_day = models.PositiveIntegerField(default=DEFAULT_PER_DAY)
    min_spacing_seconds = models.PositiveIntegerField(default=DEFAULT_MIN_SPACING_SECONDS)

    status = models.CharField(
        max_length=20, choices=MailboxStatus.choices, default=MailboxStatus.ACTIVE
    )
    status_reason = models.TextField(blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)

    # Found through the \Sent attribute of IMAP LIST (SPECIAL-USE, RFC 6154) when the
    # connection is tested; "Sent" until then.
    sent_folder = models.CharField(max_length=255, default=DEFAULT_SENT_FOLDER)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("email", "id")
        constraints = [
            # Partial unique indexes exist on both SQLite and PostgreSQL; the service also
            # clears the old default first so that the index never fires in normal use.
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(is_default=True),
                name="mail_one_default_mailbox_per_owner",
            ),
            models.UniqueConstraint(fields=["owner", "email"], name="mail_mailbox_owner_email"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email}>" if self.display_name else self.email

    @property
    def has_imap(self) -> bool:
        return bool(self.imap_host)

    def is_owned_by(self, user: User) -> bool:
        return self.owner_id == user.pk


class Signature(models.Model):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="signatures")
    name = models.CharField(max_length=200)
    body_html = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=models.Q(is_default=True),
                name="mail_one_default_signature_per_mailbox",
            ),
        ]

    def __str__(self) -> str:
        return self.name
