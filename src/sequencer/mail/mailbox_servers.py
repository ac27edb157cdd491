"""A mailbox's SMTP and IMAP servers: defaults, completion, and where secrets may go.

A server given in part is completed from a base (the provider's defaults on connecting,
the saved server on a change). A saved password or token is sent only to the server it
was given for: a change of host, port or security needs the secret again, so nobody who
may edit a mailbox can point it at their own listener and read the owner's password from
the connection test.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sequencer.domain.errors import InvalidInput
from sequencer.mail.mailbox_input import ServerInput
from sequencer.mail.models import Mailbox, Provider, Security
from sequencer.mail.providers.smtp_imap import ServerSettings

KINDS = ("smtp", "imap")


@dataclass(frozen=True)
class Server:
    """A complete server, as a mailbox stores it."""

    host: str
    port: int
    security: str
    username: str
    password: str | None

    @property
    def destination(self) -> tuple[str, int, str]:
        """Where, and how, a secret sent to this server travels."""
        return self.host.lower(), self.port, self.security


# The servers of the OAuth providers, used for SMTP/IMAP with XOAUTH2 (their own API
# clients, when present, are preferred for sending).
PROVIDER_SERVERS: dict[str, dict[str, dict[str, Any]]] = {
    Provider.GMAIL: {
        "smtp": {"host": "smtp.gmail.com", "port": 587, "security": Security.STARTTLS},
        "imap": {"host": "imap.gmail.com", "port": 993, "security": Security.TLS},
    },
    Provider.MICROSOFT: {
        "smtp": {"host": "smtp.office365.com", "port": 587, "security": Security.STARTTLS},
        "imap": {"host": "outlook.office365.com", "port": 993, "security": Security.TLS},
    },
}


def default_port(kind: str, security: str) -> int:
    if kind == "smtp":
        return 465 if security == Security.TLS else 587
    return 993 if security == Security.TLS else 143


def _default_security(kind: str, port: int | None) -> str:
    # Implicit TLS has its own ports (RFC 8314 §7.3): 465 submissions, 993 imaps.
    if port in (465, 993) or (port is None and kind == "imap"):
        return Security.TLS
    return Security.STARTTLS


def complete_server(kind: str, given: ServerInput | None, base: dict[str, Any]) -> Server:
    """``given`` over ``base``: the keys sent replace the base's (a null password too)."""
    merged = {**base, **(given.model_dump(exclude_unset=True) if given else {})}
    host = merged.get("host") or ""
    if not host:
        raise InvalidInput(
            f"{kind}.host is required: the server's host name, such as mail.example.com.",
            field=f"{kind}.host",
            code="required",
        )
    port = merged.get("port")
    security = str(merged.get("security") or _default_security(kind, port))
    return Server(
        host=host,
        port=port or default_port(kind, security),
        security=security,
        username=merged.get("username") or "",
        password=merged.get("password") or None,
    )


def saved_server(mailbox: Mailbox, kind: str) -> Server | None:
    """The server as saved; None for a mailbox without IMAP."""
    host = getattr(mailbox, f"{kind}_host")
    if not host:
        return None
    security = getattr(mailbox, f"{kind}_security")
    return Server(
        host=host,
        port=getattr(mailbox, f"{kind}_port") or default_port(kind, security),
        security=security,
        username=getattr(mailbox, f"{kind}_username"),
        password=getattr(mailbox, f"{kind}_password"),
    )


def save_server(mailbox: Mailbox, kind: str, server: Server | None) -> None:
    """Set the mailbox's fields for ``kind`` (not yet saved to the database)."""
    values = (
        asdict(server)
        if server is not None
        else {"host": "", "port": None, "username": "", "password": None}
    )
    for attr, value in values.items():
        setattr(mailbox, f"{kind}_{attr}", value)


def with_credentials_of(imap: Server, smtp: Server) -> Server:
    """Most providers use one account for both protocols: IMAP given without credentials
    means "the same as SMTP"."""
    if imap.username or imap.password:
        return imap
    return replace(imap, username=smtp.username, password=smtp.password)


def settings_for_provider(mailbox: Mailbox, kind: str) -> ServerSettings | None:
    """What the SMTP/IMAP provider connects to; None without such a server."""
    server = saved_server(mailbox, kind)
    if server is None:
        return None
    return ServerSettings(
        host=server.host,
        port=server.port,
        security=server.security,
        username=server.username or None,
        password=server.password,
    )


def require_secret_for_new_destination(
    kind: str,
    saved: Server,
    changed: Server,
    given: ServerInput,
    *,
    has_tokens: bool,
    tokens_given: bool,
) -> None:
    """Refuse to send a saved secret to a server other than the one it was given for."""
    if changed.destination == saved.destination:
        return
    if saved.password and "password" not in given.model_fields_set:
        raise InvalidInput(
            f"Changing {kind}.host, {kind}.port or {kind}.security needs the password "
            f"again: give {kind}.password. A saved password is only sent to the server "
            "it was given for.",
            field=f"{kind}.password",
            code="password_required",
        )
    if has_tokens and not tokens_given:
        raise InvalidInput(
            f"Changing {kind}.host, {kind}.port or {kind}.security of a mailbox signed in "
            "with OAuth needs new tokens: give oauth, or sign in again.",
            field="oauth",
            code="oauth_required",
        )
