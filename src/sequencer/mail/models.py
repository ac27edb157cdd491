"""Mailboxes the members send from, and their signatures.

A mailbox is the member's own account at a mail provider. Sequencer sends through it
(SMTP, Gmail API or Microsoft Graph), files the sent copy where the member's mail client
would, and reads replies from it (IMAP, Gmail, Graph). Passwords and OAuth tokens are
stored encrypted (:mod:`sequencer.crypto`) and never leave the server in an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


class AddressProof(models.TextChoices):
    """How the owner showed that the mailbox's address is theirs (:mod:`sequencer.mail.proof`)."""

    OAUTH = "oauth", "Signed in with the provider as this address"
    IMAP = "imap", "A test message to the address was found over IMAP"
    LINK = "link", "A link sent to the address was opened"
    ADMIN = "admin", "Vouched for by an admin"


class MailboxStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    DISCONNECTED = "disconnected", "Disconnected"


DEFAULT_PER_HOUR = 12
DEFAULT_PER_DAY = 200
DEFAULT_MIN_SPACING_SECONDS = 300
DEFAULT_SENT_FOLDER = "Sent"


_PROOF_FIELDS = ("address_proven_at", "address_proof", "address_vouched_by")


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

    # Nothing is sent from an address until its owner has shown it is theirs: otherwise a
    # member could send, and hand out unsubscribe links, as somebody else's address.
    address_proven_at = models.DateTimeField(null=True, blank=True)
    address_proof = models.CharField(max_length=10, choices=AddressProof.choices, blank=True)
    address_vouched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The address as last read or saved (None for a new row), to notice a change.
        self._saved_email: str | None = self.__dict__.get("email") if self.pk else None

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A proof is for one address: whatever path changes the address (a service, the
        # shell, a data fix) forgets it, so the new address must be proven again.
        if self._saved_email is not None and self.email != self._saved_email:
            self.address_proven_at = None
            self.address_proof = ""
            self.address_vouched_by = None
            fields = kwargs.get("update_fields")
            if fields is not None:
                kwargs["update_fields"] = {*fields, *_PROOF_FIELDS}
        super().save(*args, **kwargs)
        self._saved_email = self.email

    @property
    def has_imap(self) -> bool:
        return bool(self.imap_host)

    @property
    def address_proven(self) -> bool:
        return self.address_proven_at is not None

    @property
    def proof_missing(self) -> str | None:
        """Why this mailbox may not send yet, or ``None`` once its address is proven."""
        from sequencer.mail.proof import unproven_message  # proof builds on this model

        return None if self.address_proven else unproven_message(self)

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


# --- Reading the mailbox: sync cursors and inbound messages ----------------------------


class SyncCursor(models.Model):
    """How far one folder of a mailbox has been read, and who is reading it now.

    IMAP keeps ``(uidvalidity, last_uid)``: UIDs only mean something together with the
    folder's UIDVALIDITY, so a new UIDVALIDITY throws ``last_uid`` away (RFC 9051 §2.3.1.1).
    Gmail keeps the ``history_id`` to list changes from; Microsoft Graph the
    ``delta_link`` of its last delta round (or, where delta is not offered, a
    ``watermark``: the newest arrival time seen). ``watermark`` also bounds the date
    window re-read after UIDVALIDITY changed.

    ``lease_owner``/``lease_until`` make sure that one worker at a time reads a mailbox:
    taking the lease is a conditional UPDATE, and an expired lease is anyone's.
    """

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="sync_cursors")
    folder = models.CharField(max_length=255)
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    last_uid = models.PositiveBigIntegerField(default=0)
    history_id = models.CharField(max_length=64, blank=True)
    delta_link = models.TextField(blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    # The last pass that completed, and the last one tried (failed ones too): the first
    # bounds how far back a re-read looks, the second when the next pass is due.
    synced_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "folder"], name="mail_one_cursor_per_folder")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.folder}"


class InboundMessageManager(models.Manager["InboundMessage"]):
    def get_queryset(self) -> models.QuerySet[InboundMessage]:
        # The raw bytes load only when read: listing messages must not pull every body.
        return super().get_queryset().defer("raw")


class InboundMessage(models.Model):
    """One message read from a connected mailbox, kept with its raw bytes.

    ``message_id`` is the message's Message-ID (or, for a message without one, a stand-in
    derived from its bytes); one row per Message-ID and mailbox is what makes reading a
    message twice (a re-sync, a new UIDVALIDITY, two workers) harmless.
    ``processed_at`` is set once the engine has acted on it. The raw bytes are kept as
    read for every message, whether or not it concerned an enrollment (up to
    :data:`sequencer.mail.inbound_store.MAX_STORED_BYTES`).
    """

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="inbound")
    folder = models.CharField(max_length=255, blank=True)
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    uid = models.PositiveBigIntegerField(null=True, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)  # Gmail / Graph message id
    provider_thread_id = models.CharField(max_length=255, blank=True)  # threadId / conversationId
    message_id = models.CharField(max_length=998)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField()
    received_at = models.DateTimeField()
    kind = models.CharField(max_length=24)
    enrollment = models.ForeignKey(
        "sequences.Enrollment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InboundMessageManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "message_id"], name="mail_inbound_once_per_mailbox"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(processed_at__isnull=True),
                name="mail_inbound_unprocessed",
            ),
            # "Have we read this Gmail/Graph message already?" before downloading it.
            models.Index(
                fields=["mailbox", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="mail_inbound_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"
