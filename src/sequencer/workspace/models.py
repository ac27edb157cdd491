"""The workspace and the people who use it.

One installation serves one workspace. Its members sign in with an email address and
a password; each is an ``admin`` or a ``member``. Teams group members so that access
to a sequence can be granted to many at once. API tokens let scripts act as a member.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models

from sequencer.crypto import EncryptedTextField
from sequencer.domain import ai_settings
from sequencer.domain.complaint_rate import DEFAULT_LIMIT_PERCENT, DEFAULT_MIN_SENDS


class Workspace(models.Model):
    """The single workspace of this installation, created on the first visit.

    Its settings are set by admins (:mod:`sequencer.workspace.settings`).
    """

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Above this share of spam complaints (percent of emails sent over the last 30 days,
    # once a mailbox sent ``complaint_min_sends`` in them) a mailbox is paused: see
    # sequencer.domain.complaint_rate.
    complaint_limit_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=DEFAULT_LIMIT_PERCENT
    )
    complaint_min_sends = models.PositiveIntegerField(default=DEFAULT_MIN_SENDS)

    def __str__(self) -> str:
        return self.name


class AiSettings(models.Model):
    """The workspace's AI configuration (one row, made on the first change).

    The rules are :mod:`sequencer.domain.ai_settings`; :mod:`sequencer.workspace.ai_settings`
    reads and changes them. The server fields are kept while the local model is chosen,
    so switching back does not mean typing them again.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="ai")
    provider = models.CharField(
        max_length=20,
        choices=[(p.value, p.label) for p in ai_settings.Provider],
        default=ai_settings.Provider.LOCAL.value,
    )
    base_url = models.CharField(max_length=ai_settings.MAX_URL_CHARS, blank=True)
    model = models.CharField(max_length=ai_settings.MAX_MODEL_CHARS, blank=True)
    # Fernet ciphertext (sequencer.crypto), as mailbox passwords; NULL when no key is set.
    api_key = EncryptedTextField(null=True, blank=True)
    api_version = models.CharField(max_length=40, blank=True)
    max_tries = models.PositiveSmallIntegerField(default=ai_settings.DEFAULT_MAX_TRIES)
    max_phrase_chars = models.PositiveIntegerField(default=ai_settings.DEFAULT_MAX_PHRASE_CHARS)
    max_paragraph_chars = models.PositiveIntegerField(
        default=ai_settings.DEFAULT_MAX_PARAGRAPH_CHARS
    )

    def __str__(self) -> str:
        return f"AI settings of {self.workspace_id}"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("role", Role.ADMIN)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of the workspace."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.is_admin

    def __str__(self) -> str:
        return self.name or self.email


class Team(models.Model):
    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class TokenScope(models.TextChoices):
    """What a token may do: everything its member may (the default), or only read.

    A read-only token suits dashboards and reports: whatever leaks, it changes nothing.
    The API enforces it for every operation in one place (sequencer.api.auth.TokenAuth).
    """

    READ_WRITE = "read_write", "Read and write"
    READ_ONLY = "read_only", "Read only"


class ApiToken(models.Model):
    """A bearer token for the REST API and scripts.

    Only a SHA-256 digest of the token is stored: a leaked database does not leak
    working tokens. The first characters are kept to tell tokens apart in lists.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=200, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    scope = models.CharField(
        max_length=12, choices=TokenScope.choices, default=TokenScope.READ_WRITE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Notification(models.Model):
    """Something a member must know about, such as a mailbox paused by its provider."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.TextField()
    # Where the member acts on it (a path in the web app, such as the paused mailbox's
    # settings); empty when there is nothing to open.
    link = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class AuditEntry(models.Model):
    """Who did what to something that matters for compliance (a suppression lifted)."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["target", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"
