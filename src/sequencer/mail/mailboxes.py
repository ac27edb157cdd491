"""What can be done to mailboxes: connect, change, test, pause, remove.

The API, the web pages and the engine call these functions; none of them changes a
:class:`~sequencer.mail.models.Mailbox` directly. Input arrives as plain mappings (the
parsed JSON of a request) so that a partial update can tell "not given" from "null".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from email_validator import EmailNotValidError, validate_email

from sequencer.clock import Clock, system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.mail import proof
from sequencer.mail.models import Mailbox, MailboxStatus, Provider, Security
from sequencer.mail.oauth import Grant, MailboxTokens
from sequencer.mail.providers.base import ConnectionReport, MailProvider
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.mail.providers.gmail import GmailProvider
from sequencer.mail.providers.microsoft import GraphProvider
from sequencer.mail.providers.smtp_imap import ServerSettings, SmtpImapProvider
from sequencer.mail.readiness import why_cannot_send
from sequencer.workspace.models import User

# How long the connection test waits for each server: long enough for a slow provider,
# short enough for a person waiting on the page.
CONNECTION_TEST_TIMEOUT = 10.0

LIMIT_BOUNDS = {
    "per_hour": (1, 10_000),
    "per_day": (1, 100_000),
    "min_spacing_seconds": (0, 86_400),
}

# The servers of the OAuth providers, used for SMTP/IMAP with XOAUTH2 (their own API
# clients, when present, are preferred for sending).
_PROVIDER_SERVERS: dict[str, dict[str, dict[str, Any]]] = {
    Provider.GMAIL: {
        "smtp": {"host": "smtp.gmail.com", "port": 587, "security": Security.STARTTLS},
        "imap": {"host": "imap.gmail.com", "port": 993, "security": Security.TLS},
    },
    Provider.MICROSOFT: {
        "smtp": {"host": "smtp.office365.com", "port": 587, "security": Security.STARTTLS},
        "imap": {"host": "outlook.office365.com", "port": 993, "security": Security.TLS},
    },
}

_SERVER_KEYS = frozenset({"host", "port", "security", "username", "password"})
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


class NotAllowed(Exception):
    """The member may not do this (the API answers 403 with the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- reading --------------------------------------------------------------------------


def visible_mailboxes(user: User) -> QuerySet[Mailbox]:
    """A member sees their own mailboxes; an admin sees everyone's."""
    mailboxes = Mailbox.objects.select_related("owner")
    return mailboxes if user.is_admin else mailboxes.filter(owner=user)


def mailbox_for(user: User, mailbox_id: int) -> Mailbox | None:
    """The mailbox if ``user`` may see it; None otherwise (its existence stays hidden)."""
    return visible_mailboxes(user).filter(pk=mailbox_id).first()


def list_mailboxes(user: User, owner_id: int | None = None) -> QuerySet[Mailbox]:
    if owner_id is None:
        return Mailbox.objects.select_related("owner").filter(owner=user)
    if owner_id != user.pk and not user.is_admin:
        raise NotAllowed("Only workspace admins can list other members' mailboxes.")
    return Mailbox.objects.select_related("owner").filter(owner_id=owner_id)


def mailbox_warnings(mailbox: Mailbox) -> list[str]:
    """What a person should know about this mailbox before sequences use it."""
    found = []
    if not mailbox.has_imap and mailbox.provider == Provider.SMTP_IMAP:
        found.append(
            "No IMAP server is configured: replies, bounces and auto-replies cannot be "
            "detected, so sequences will not stop when someone answers."
        )
    if mailbox.status == MailboxStatus.DISCONNECTED:
        found.append(f"Disconnected: {mailbox.status_reason or 'reconnect the mailbox.'}")
    if not mailbox.address_proven:
        found.append(proof.unproven_message(mailbox))
    return found


# -- validation -----------------------------------------------------------------------


def _checked_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "Enter the mailbox's email address, such as alice@example.com.",
            field="email",
            code="required",
        )
    try:
        # test_environment: accept the special-use names of self-hosted and test setups
        # (".test", RFC 6761); deliverability is proven by the connection test instead.
        result = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidInput(
            f"{value!r} is not an email address: {exc}", field="email", code="invalid_email"
        ) from None
    return result.normalized.lower()


def _checked_text(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field, code="invalid_type")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required.", field=field, code="required")
    if len(value) > max_length:
        raise InvalidInput(
            f"{field} is longer than {max_length} characters.", field=field, code="too_long"
        )
    return value


def _default_port(kind: str, security: str) -> int:
    if kind == "smtp":
        return 465 if security == Security.TLS else 587
    return 993 if security == Security.TLS else 143


def _checked_server(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, valid server block (host, port, security, username, password)."""
    unknown = set(data) - _SERVER_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(
            f"{kind}.{name} is not a known field; use {', '.join(sorted(_SERVER_KEYS))}.",
            field=f"{kind}.{name}",
            code="unknown_field",
        )
    host = _checked_text(data.get("host"), f"{kind}.host", 255, required=True)
    if not _HOST.match(host):
        raise InvalidInput(
            f"{kind}.host must be a host name or IP address, without scheme or path.",
            field=f"{kind}.host",
            code="invalid_host",
        )
    port = data.get("port")
    security = data.get("security")
    if security is None:
        # Implicit TLS has its own ports (RFC 8314 §7.3): 465 submissions, 993 imaps.
        security = (
            Security.TLS
            if port in (465, 993) or (port is None and kind == "imap")
            else (Security.STARTTLS)
        )
    if security not in Security.values:
        raise InvalidInput(
            f"{kind}.security must be one of: {', '.join(Security.values)}.",
            field=f"{kind}.security",
            code="invalid_choice",
        )
    if port is None:
        port = _default_port(kind, security)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput(
            f"{kind}.port must be a whole number from 1 to 65535.",
            field=f"{kind}.port",
            code="invalid_port",
        )
    username = _checked_text(data.get("username"), f"{kind}.username", 255)
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidInput(
            f"{kind}.password must be a string.", field=f"{kind}.password", code="invalid_type"
        )
    return {
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "password": password or None,
    }


def _checked_oauth(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "oauth must be an object with access_token, refresh_token and expires_at.",
            field="oauth",
            code="invalid_type",
        )
    access = data.get("access_token")
    if not isinstance(access, str) or not access.strip():
        raise InvalidInput(
            "oauth.access_token is required.", field="oauth.access_token", code="required"
        )
    refresh = data.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise InvalidInput(
            "oauth.refresh_token must be a string.",
            field="oauth.refresh_token",
            code="invalid_type",
        )
    expires_at = data.get("expires_at")
    if isinstance(expires_at, datetime):
        expires_at = expires_at.isoformat()
    elif expires_at is not None:
        try:
            datetime.fromisoformat(str(expires_at))
        except ValueError:
            raise InvalidInput(
                "oauth.expires_at must be an ISO 8601 time.",
                field="oauth.expires_at",
                code="invalid_datetime",
            ) from None
        expires_at = str(expires_at)
    return {"access_token": access.strip(), "refresh_token": refresh, "expires_at": expires_at}


def _checked_limits(data: Any, current: Mailbox) -> dict[str, int]:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "limits must be an object with per_hour, per_day and min_spacing_seconds.",
            field="limits",
            code="invalid_type",
        )
    limits = {
        "per_hour": current.per_hour,
        "per_day": current.per_day,
        "min_spacing_seconds": current.min_spacing_seconds,
    }
    for name, value in data.items():
        if name not in LIMIT_BOUNDS:
            raise InvalidInput(
                f"limits.{name} is not a known limit; use per_hour, per_day or "
                "min_spacing_seconds.",
                field=f"limits.{name}",
                code="unknown_field",
            )
        low, high = LIMIT_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"limits.{name} must be a whole number from {low} to {high}.",
                field=f"limits.{name}",
                code="out_of_range",
            )
        limits[name] = value
    if limits["per_hour"] > limits["per_day"]:
        raise InvalidInput(
            "limits.per_hour cannot be more than limits.per_day.",
            field="limits.per_hour",
            code="out_of_range",
        )
    return limits


def _apply_server(mailbox: Mailbox, kind: str, server: dict[str, Any] | None) -> None:
    if server is None:
        for attr in ("host", "username"):
            setattr(mailbox, f"{kind}_{attr}", "")
        setattr(mailbox, f"{kind}_port", None)
        setattr(mailbox, f"{kind}_password", None)
        return
    for attr, value in server.items():
        setattr(mailbox, f"{kind}_{attr}", value)


def _current_server(mailbox: Mailbox, kind: str) -> dict[str, Any]:
    return {
        attr: getattr(mailbox, f"{kind}_{attr}")
        for attr in ("host", "port", "security", "username", "password")
    }


def _as_mapping(data: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{field} must be an object.", field=field, code="invalid_type")
    return data


def _reuse_smtp_credentials(smtp: dict[str, Any], imap: dict[str, Any]) -> None:
    # Most providers use one account for both protocols; a form that leaves the IMAP
    # credentials empty means "the same as SMTP".
    if not imap["username"] and not imap["password"]:
        imap["username"] = smtp["username"]
        imap["password"] = smtp["password"]


# -- changing -------------------------------------------------------------------------


def _make_default(mailbox: Mailbox) -> None:
    # Clear the old default first: the partial unique index allows one per owner.
    Mailbox.objects.filter(owner_id=mailbox.owner_id, is_default=True).exclude(
        pk=mailbox.pk
    ).update(is_default=False)
    mailbox.is_default = True


@transaction.atomic
def create_mailbox(owner: User, data: Mapping[str, Any]) -> Mailbox:
    """Connect a mailbox for ``owner``. The first one becomes the default."""
    provider = data.get("provider") or Provider.SMTP_IMAP
    if provider not in Provider.values:
        raise InvalidInput(
            f"provider must be one of: {', '.join(Provider.values)}.",
            field="provider",
            code="invalid_choice",
        )
    email = _checked_email(data.get("email"))
    display_name = _checked_text(data.get("display_name"), "display_name", 200)
    oauth = _checked_oauth(data.get("oauth"))

    defaults = _PROVIDER_SERVERS.get(provider, {})
    if provider != Provider.SMTP_IMAP and oauth is None:
        raise InvalidInput(
            f"A {Provider(provider).label} mailbox is connected with OAuth: sign in with "
            f"{Provider(provider).label} from the Mailboxes page.",
            field="oauth",
            code="required",
        )
    smtp_data = data.get("smtp")
    if smtp_data is None and "smtp" not in defaults:
        raise InvalidInput(
            "smtp is required: the server, port and security to send through.",
            field="smtp",
            code="required",
        )
    smtp = _checked_server(
        "smtp", {**defaults.get("smtp", {}), **_as_mapping(smtp_data or {}, "smtp")}
    )
    imap_data = data.get("imap")
    imap = None
    if imap_data is not None or "imap" in defaults:
        imap = _checked_server(
            "imap", {**defaults.get("imap", {}), **_as_mapping(imap_data or {}, "imap")}
        )
        _reuse_smtp_credentials(smtp, imap)

    if Mailbox.objects.filter(owner=owner, email=email).exists():
        raise InvalidInput(f"You have already connected {email}.", field="email", code="duplicate")
    mailbox = Mailbox(
        owner=owner,
        provider=provider,
        email=email,
        display_name=display_name,
        oauth_tokens=oauth,
    )
    _apply_server(mailbox, "smtp", smtp)
    _apply_server(mailbox, "imap", imap)
    wants_default = data.get("is_default")
    has_default = Mailbox.objects.select_for_update().filter(owner=owner, is_default=True).exists()
    if wants_default or (wants_default is None and not has_default):
        _make_default(mailbox)
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError:
        raise InvalidInput(
            f"You have already connected {email}.", field="email", code="duplicate"
        ) from None
    return mailbox


_PATCHABLE = frozenset(
    {"display_name", "is_default", "smtp", "imap", "oauth", "limits", "sent_folder", "status"}
)


@transaction.atomic
def update_mailbox(actor: User, mailbox: Mailbox, data: Mapping[str, Any]) -> Mailbox:
    """Change what ``data`` names; a key given as null clears ``imap`` or ``oauth``."""
    unknown = set(data) - _PATCHABLE
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(
            f"{name} cannot be changed here; change one of {', '.join(sorted(_PATCHABLE))}.",
            field=name,
            code="unknown_field",
        )
    if "limits" in data and data["limits"] is not None:
        if not actor.is_admin:
            raise NotAllowed(
                "Only workspace admins can change a mailbox's sending limits; ask an admin."
            )
        for name, value in _checked_limits(data["limits"], mailbox).items():
            setattr(mailbox, name, value)

    if "display_name" in data:
        mailbox.display_name = _checked_text(data["display_name"], "display_name", 200)
    if "sent_folder" in data:
        mailbox.sent_folder = _checked_text(data["sent_folder"], "sent_folder", 255, required=True)
    if "oauth" in data:
        mailbox.oauth_tokens = _checked_oauth(data["oauth"])
    if "smtp" in data:
        if data["smtp"] is None:
            raise InvalidInput(
                "A mailbox needs an SMTP server; it cannot be removed.",
                field="smtp",
                code="required",
            )
        smtp = _checked_server(
            "smtp", {**_current_server(mailbox, "smtp"), **_as_mapping(data["smtp"], "smtp")}
        )
        _apply_server(mailbox, "smtp", smtp)
    if "imap" in data:
        if data["imap"] is None:
            _apply_server(mailbox, "imap", None)
        else:
            given = _as_mapping(data["imap"], "imap")
            current = _current_server(mailbox, "imap") if mailbox.has_imap else {}
            imap = _checked_server("imap", {**current, **given})
            if not mailbox.has_imap:
                _reuse_smtp_credentials(_current_server(mailbox, "smtp"), imap)
            _apply_server(mailbox, "imap", imap)
    if "status" in data:
        status = data["status"]
        if status not in (MailboxStatus.ACTIVE, MailboxStatus.PAUSED):
            raise InvalidInput(
                "status can be set to active or paused.", field="status", code="invalid_choice"
            )
        if status != mailbox.status:
            mailbox.status = status
            mailbox.paused_until = None
            mailbox.status_reason = "Paused by its owner." if status == MailboxStatus.PAUSED else ""
    if "is_default" in data:
        if data["is_default"]:
            _make_default(mailbox)
        else:
            mailbox.is_default = False
    mailbox.save()
    return mailbox


@transaction.atomic
def delete_mailbox(mailbox: Mailbox) -> None:
    """Remove the mailbox; if it was the default, the owner's oldest other one takes over."""
    owner_id, was_default = mailbox.owner_id, mailbox.is_default
    try:
        with transaction.atomic():
            mailbox.delete()
    except ProtectedError:
        # Enrollments and sent emails keep pointing at the mailbox they were sent from.
        raise InvalidInput(
            f"{mailbox.email} has sent or is scheduled to send sequence emails, so it cannot "
            "be removed; pause it instead (status: paused).",
            code="in_use",
        ) from None
    if was_default:
        successor = Mailbox.objects.filter(owner_id=owner_id).order_by("created_at", "id").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


# -- connecting -----------------------------------------------------------------------


def _server_settings(mailbox: Mailbox, kind: str) -> ServerSettings | None:
    server = _current_server(mailbox, kind)
    if not server["host"]:
        return None
    return ServerSettings(
        host=server["host"],
        port=server["port"] or _default_port(kind, server["security"]),
        security=server["security"],
        username=server["username"] or None,
        password=server["password"],
    )


def provider_for(mailbox: Mailbox, *, timeout: float | None = None) -> MailProvider:
    """The provider client that sends and searches for ``mailbox``.

    Gmail and Microsoft 365 mailboxes use their own APIs (Gmail API, Microsoft Graph):
    the tokens their sign-in grants are for those APIs, not for SMTP. Every other mailbox
    sends over SMTP and searches over IMAP.
    """
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if mailbox.provider in (Provider.GMAIL, Provider.MICROSOFT):
        api = GmailProvider if mailbox.provider == Provider.GMAIL else GraphProvider
        return api(
            email=mailbox.email,
            tokens=MailboxTokens(mailbox),
            api_url=(
                settings.GOOGLE_API_URL
                if mailbox.provider == Provider.GMAIL
                else settings.GRAPH_API_URL
            ),
            granted_scope=(mailbox.oauth_tokens or {}).get("scope"),
            **kwargs,
        )
    smtp = _server_settings(mailbox, "smtp")
    if smtp is None:
        raise MailboxFailure(
            f"{mailbox.email} has no SMTP server configured.", problem="connection"
        )
    tokens = mailbox.oauth_tokens or {}
    return SmtpImapProvider(
        email=mailbox.email,
        smtp=smtp,
        imap=_server_settings(mailbox, "imap"),
        sent_folder=mailbox.sent_folder,
        access_token=tokens.get("access_token"),
        # Gmail and Microsoft 365 file what is submitted over SMTP in Sent themselves; a
        # second copy from us would show every email twice.
        append_to_sent=mailbox.provider == Provider.SMTP_IMAP,
        **kwargs,
    )


def check_mailbox(mailbox: Mailbox, clock: Clock) -> ConnectionReport:
    """Check both connections now; remember the Sent folder found, reconnect a
    disconnected mailbox whose check passes, and prove its address if not yet proven."""
    provider = provider_for(mailbox, timeout=CONNECTION_TEST_TIMEOUT)
    report = provider.test_connection()
    changed: list[str] = []
    if report.sent_folder and report.sent_folder != mailbox.sent_folder:
        mailbox.sent_folder = report.sent_folder
        changed.append("sent_folder")
    if report.ok and mailbox.status == MailboxStatus.DISCONNECTED:
        mailbox.status = MailboxStatus.ACTIVE
        mailbox.status_reason = ""
        changed += ["status", "status_reason"]
    if changed:
        mailbox.save(update_fields=[*changed, "updated_at"])
    return replace(
        report, address=proof.prove_after_connection_test(mailbox, provider, report, clock)
    )


def record_mailbox_failure(
    mailbox: Mailbox, failure: MailboxFailure, clock: Clock = system_clock
) -> Mailbox:
    """Stop sending from a mailbox the provider refused: pause it for the time the failure
    suggests (a daily quota), else disconnect it until a person fixes it."""
    if failure.pause_seconds:
        mailbox.status = MailboxStatus.PAUSED
        mailbox.paused_until = clock.now() + timedelta(seconds=failure.pause_seconds)
    else:
        mailbox.status = MailboxStatus.DISCONNECTED
        mailbox.paused_until = None
    mailbox.status_reason = failure.message
    mailbox.save(update_fields=["status", "paused_until", "status_reason", "updated_at"])
    return mailbox


def can_send(mailbox: Mailbox, clock: Clock = system_clock) -> bool:
    """Whether the mailbox may send now (limits and windows are the engine's business);
    :func:`~sequencer.mail.readiness.why_cannot_send` says why not."""
    return why_cannot_send(mailbox, clock) is None


# -- OAuth ----------------------------------------------------------------------------


@transaction.atomic
def connect_oauth_mailbox(
    owner: User, provider: str, grant: Grant, clock: Clock
) -> tuple[Mailbox, bool]:
    """Save the mailbox a member just signed in to (see :mod:`sequencer.mail.oauth`):
    a new one, or new tokens for one already connected, which also reconnects it. The
    sign-in proves the address (:mod:`sequencer.mail.proof`).

    Returns the mailbox and whether it is new.
    """
    existing = Mailbox.objects.select_for_update().filter(owner=owner, email=grant.email).first()
    if existing is None:
        mailbox = create_mailbox(
            owner,
            {
                "provider": provider,
                "email": grant.email,
                "display_name": grant.display_name,
                "oauth": grant.tokens,
            },
        )
        # create_mailbox keeps only the fields a person may give; the granted scope is
        # kept too, so that the connection test can tell a missing permission.
        mailbox.oauth_tokens = grant.tokens
        mailbox.save(update_fields=["oauth_tokens", "updated_at"])
        proof.prove_by_oauth(mailbox, grant.email, clock)
        return mailbox, True
    if existing.provider != provider:
        raise InvalidInput(
            f"{grant.email} is already connected as a {Provider(existing.provider).label} "
            "mailbox; remove it first to connect it another way.",
            field="provider",
            code="provider_mismatch",
        )
    existing.oauth_tokens = grant.tokens
    changed = ["oauth_tokens", "updated_at"]
    if existing.status == MailboxStatus.DISCONNECTED:
        existing.status = MailboxStatus.ACTIVE
        existing.status_reason = ""
        changed += ["status", "status_reason"]
    existing.save(update_fields=changed)
    proof.prove_by_oauth(existing, grant.email, clock)
    return existing, False
