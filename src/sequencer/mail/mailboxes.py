"""A mailbox at work: its provider client, the connection test, pausing, OAuth sign-in.

Reading and listing mailboxes is :mod:`sequencer.mail.mailbox_access`; connecting,
changing and removing them :mod:`sequencer.mail.mailbox_changes`, with typed input from
:mod:`sequencer.mail.mailbox_input`. Their functions are importable from here too, so
callers need one module.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.mail import proof
from sequencer.mail.mailbox_access import (
    NotAllowed,
    list_mailboxes,
    mailbox_for,
    mailbox_warnings,
    visible_mailboxes,
)
from sequencer.mail.mailbox_changes import (
    create_mailbox,
    delete_mailbox,
    unsaved_mailbox,
    update_mailbox,
)
from sequencer.mail.mailbox_input import MailboxChanges, NewMailbox, OAuthInput
from sequencer.mail.mailbox_servers import settings_for_provider
from sequencer.mail.models import Mailbox, MailboxStatus, Provider
from sequencer.mail.oauth import Grant, MailboxTokens
from sequencer.mail.providers.base import ConnectionReport, MailProvider
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.mail.providers.gmail import GmailProvider
from sequencer.mail.providers.microsoft import GraphProvider
from sequencer.mail.providers.smtp_imap import SmtpImapProvider
from sequencer.mail.readiness import why_cannot_send
from sequencer.workspace.models import User

__all__ = [
    "CONNECTION_TEST_TIMEOUT",
    "MailboxChanges",
    "NewMailbox",
    "NotAllowed",
    "can_send",
    "check_mailbox",
    "check_new_mailbox",
    "connect_oauth_mailbox",
    "create_mailbox",
    "delete_mailbox",
    "list_mailboxes",
    "mailbox_for",
    "mailbox_warnings",
    "pause_until_resumed",
    "provider_for",
    "record_mailbox_failure",
    "update_mailbox",
    "visible_mailboxes",
]

# How long the connection test waits for each server: long enough for a slow provider,
# short enough for a person waiting on the page.
CONNECTION_TEST_TIMEOUT = 10.0


# -- connecting -----------------------------------------------------------------------


def provider_for(mailbox: Mailbox, *, clock: Clock, timeout: float | None = None) -> MailProvider:
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
            tokens=MailboxTokens(mailbox, clock=clock),
            api_url=(
                settings.GOOGLE_API_URL
                if mailbox.provider == Provider.GMAIL
                else settings.GRAPH_API_URL
            ),
            granted_scope=(mailbox.oauth_tokens or {}).get("scope"),
            clock=clock,
            **kwargs,
        )
    smtp = settings_for_provider(mailbox, "smtp")
    if smtp is None:
        raise MailboxFailure(
            f"{mailbox.email} has no SMTP server configured.", problem="connection"
        )
    tokens = mailbox.oauth_tokens or {}
    return SmtpImapProvider(
        email=mailbox.email,
        smtp=smtp,
        imap=settings_for_provider(mailbox, "imap"),
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
    provider = provider_for(mailbox, clock=clock, timeout=CONNECTION_TEST_TIMEOUT)
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


def check_new_mailbox(owner: User, new: NewMailbox, clock: Clock) -> ConnectionReport:
    """The connection test of a mailbox before it is connected: the same checks as
    :func:`check_mailbox`, on the servers ``new`` describes. Nothing is saved, so the
    address is not proven yet (the test after connecting does that).

    Raises :class:`~sequencer.domain.errors.InvalidInput` for input that could not be
    connected either.
    """
    mailbox = unsaved_mailbox(owner, new)
    return provider_for(mailbox, clock=clock, timeout=CONNECTION_TEST_TIMEOUT).test_connection()


def record_mailbox_failure(mailbox: Mailbox, failure: MailboxFailure, *, clock: Clock) -> Mailbox:
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


def pause_until_resumed(mailbox: Mailbox, reason: str) -> Mailbox:
    """Pause a mailbox (locked by the caller) until its owner resumes it, saying why:
    its emails wait, none is lost (the pre-send check shows ``reason`` on them)."""
    mailbox.status = MailboxStatus.PAUSED
    mailbox.paused_until = None
    mailbox.status_reason = reason
    mailbox.save(update_fields=["status", "paused_until", "status_reason", "updated_at"])
    return mailbox


def can_send(mailbox: Mailbox, *, clock: Clock) -> bool:
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
            NewMailbox(
                provider=Provider(provider),
                email=grant.email,
                display_name=grant.display_name,
                oauth=OAuthInput(access_token=grant.tokens["access_token"]),
            ),
        )
        # The grant's tokens are kept as they came, with the granted scope, so that the
        # connection test can tell a missing permission.
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
