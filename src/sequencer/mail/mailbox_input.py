"""What a person may give to connect or change a mailbox, as typed input.

The API takes these as its request bodies, so a field's type, bounds and choices are
checked here once, and an unknown key is refused (see :class:`sequencer.inputs.Input`).
Rules between fields (a provider's defaults, the secret a new server needs, sending
limits) are the services' (:mod:`sequencer.mail.mailbox_changes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt, StringConstraints

from sequencer.crm.emails import normalize_email
from sequencer.inputs import Input
from sequencer.mail.models import Provider, Security

# A host name or an IP address (IPv6 in brackets or bare), never a URL: no scheme, path
# or spaces, which a mail library would otherwise try to resolve as given.
Host = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=255, pattern=r"^[A-Za-z0-9._:\[\]-]+$"),
]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
FolderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
AccessToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
MailboxAddress = Annotated[str, AfterValidator(normalize_email)]


class ServerInput(Input):
    """One server. Every key is optional: on connecting, what is left out comes from the
    provider's defaults (and the port from the security); on a change, from the server
    as it is saved."""

    host: Host | None = None
    port: Port | None = None
    security: Security | None = Field(
        default=None,
        description="none, starttls or tls; by default tls on 465 and 993, else starttls.",
    )
    username: Username | None = None
    password: str | None = Field(
        default=None, description="Needed again whenever host, port or security change."
    )


class OAuthInput(Input):
    access_token: AccessToken
    refresh_token: str | None = None
    expires_at: datetime | None = None

    def as_tokens(self) -> dict[str, str | None]:
        """The tokens as the mailbox stores them."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


class LimitsInput(Input):
    """Sending limits; their bounds are :class:`sequencer.domain.pacing.MailboxLimits`'s."""

    per_hour: StrictInt | None = None
    per_day: StrictInt | None = None
    min_spacing_seconds: StrictInt | None = None


class NewMailbox(Input):
    provider: Provider = Provider.SMTP_IMAP
    email: MailboxAddress
    display_name: DisplayName = ""
    smtp: ServerInput | None = Field(
        default=None, description="Required for smtp_imap; Gmail and Microsoft 365 have defaults."
    )
    imap: ServerInput | None = Field(
        default=None, description="Without IMAP, replies and bounces cannot be detected."
    )
    oauth: OAuthInput | None = None
    is_default: bool | None = Field(
        default=None, description="Default: true for the owner's first mailbox."
    )


class MailboxChanges(Input):
    """Only the keys sent change; ``imap`` and ``oauth`` given as null are removed."""

    display_name: DisplayName | None = None
    is_default: bool | None = None
    smtp: ServerInput | None = None
    imap: ServerInput | None = None
    oauth: OAuthInput | None = None
    limits: LimitsInput | None = Field(
        default=None, description="Only workspace admins change these."
    )
    sent_folder: FolderName | None = None
    status: Literal["active", "paused"] | None = None

    def given(self, name: str) -> bool:
        """Whether the request named ``name`` (possibly as null)."""
        return name in self.model_fields_set
