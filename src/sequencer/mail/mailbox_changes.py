"""Connecting, changing and removing mailboxes.

The API, the web pages and the OAuth sign-in call these functions; none of them changes
a :class:`~sequencer.mail.models.Mailbox`'s settings directly. The input is typed
(:mod:`sequencer.mail.mailbox_input`): field types and bounds are checked there, the
rules between fields here.
"""

from __future__ import annotations

from dataclasses import asdict

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from sequencer.domain.errors import InvalidInput
from sequencer.domain.pacing import MailboxLimits
from sequencer.mail.mailbox_access import NotAllowed
from sequencer.mail.mailbox_input import LimitsInput, MailboxChanges, NewMailbox, ServerInput
from sequencer.mail.mailbox_servers import (
    PROVIDER_SERVERS,
    Server,
    complete_server,
    require_secret_for_new_destination,
    save_server,
    saved_server,
    with_credentials_of,
)
from sequencer.mail.models import Mailbox, MailboxStatus, Provider
from sequencer.workspace.models import User

# -- connecting ---------------------------------------------------------------------------


def _servers_of(new: NewMailbox) -> tuple[Server, Server | None]:
    """The complete SMTP and IMAP servers of a new mailbox (IMAP may be absent)."""
    defaults = PROVIDER_SERVERS.get(new.provider, {})
    if new.smtp is None and "smtp" not in defaults:
        raise InvalidInput(
            "smtp is required: the server, port and security to send through.",
            field="smtp",
            code="required",
        )
    smtp = complete_server("smtp", new.smtp, defaults.get("smtp", {}))
    if new.imap is None and "imap" not in defaults:
        return smtp, None
    imap = complete_server("imap", new.imap, defaults.get("imap", {}))
    return smtp, with_credentials_of(imap, smtp)


def _require_oauth_for_api_providers(new: NewMailbox) -> None:
    if new.provider != Provider.SMTP_IMAP and new.oauth is None:
        label = Provider(new.provider).label
        raise InvalidInput(
            f"A {label} mailbox is connected with OAuth: sign in with {label} from the "
            "Mailboxes page.",
            field="oauth",
            code="required",
        )


def _duplicate(email: str) -> InvalidInput:
    return InvalidInput(f"You have already connected {email}.", field="email", code="duplicate")


def _make_default(mailbox: Mailbox) -> None:
    # Clear the old default first: the partial unique index allows one per owner.
    Mailbox.objects.filter(owner_id=mailbox.owner_id, is_default=True).exclude(
        pk=mailbox.pk
    ).update(is_default=False)
    mailbox.is_default = True


def _becomes_default(owner: User, wanted: bool | None) -> bool:
    """Asked for, or (when not said) the owner has no default yet."""
    if wanted is not None:
        return wanted
    return not Mailbox.objects.select_for_update().filter(owner=owner, is_default=True).exists()


def unsaved_mailbox(owner: User, new: NewMailbox) -> Mailbox:
    """The mailbox ``new`` describes, complete with its servers' defaults, not saved:
    what :func:`create_mailbox` would store, and what a connection test before
    connecting tries."""
    _require_oauth_for_api_providers(new)
    smtp, imap = _servers_of(new)
    mailbox = Mailbox(
        owner=owner,
        provider=new.provider,
        email=new.email,
        display_name=new.display_name,
        oauth_tokens=new.oauth.as_tokens() if new.oauth else None,
    )
    save_server(mailbox, "smtp", smtp)
    save_server(mailbox, "imap", imap)
    return mailbox


@transaction.atomic
def create_mailbox(owner: User, new: NewMailbox) -> Mailbox:
    """Connect a mailbox for ``owner``. The first one becomes the default."""
    mailbox = unsaved_mailbox(owner, new)
    if Mailbox.objects.filter(owner=owner, email=new.email).exists():
        raise _duplicate(new.email)
    if _becomes_default(owner, new.is_default):
        _make_default(mailbox)
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError:
        raise _duplicate(new.email) from None
    return mailbox


# -- changing -----------------------------------------------------------------------------


def _change_limits(actor: User, mailbox: Mailbox, given: LimitsInput) -> None:
    if not actor.is_admin:
        raise NotAllowed(
            "Only workspace admins can change a mailbox's sending limits; ask an admin."
        )
    # The domain type holds the bounds; what is not given stays as it is.
    limits = MailboxLimits(
        **{
            "per_hour": mailbox.per_hour,
            "per_day": mailbox.per_day,
            "min_spacing_seconds": mailbox.min_spacing_seconds,
            **given.model_dump(exclude_none=True),
        }
    )
    mailbox.per_hour = limits.per_hour
    mailbox.per_day = limits.per_day
    mailbox.min_spacing_seconds = limits.min_spacing_seconds


def _change_smtp(mailbox: Mailbox, changes: MailboxChanges, had_tokens: bool) -> None:
    if changes.smtp is None:
        raise InvalidInput(
            "A mailbox needs an SMTP server; it cannot be removed.", field="smtp", code="required"
        )
    saved = saved_server(mailbox, "smtp")
    changed = complete_server("smtp", changes.smtp, asdict(saved) if saved else {})
    if saved is not None:
        require_secret_for_new_destination(
            "smtp",
            saved,
            changed,
            changes.smtp,
            has_tokens=had_tokens,
            tokens_given=changes.given("oauth"),
        )
    save_server(mailbox, "smtp", changed)


def _added_imap(
    mailbox: Mailbox, given: ServerInput, had_tokens: bool, tokens_given: bool
) -> Server:
    """A new IMAP server for a saved mailbox: it gets no saved secret unless given again."""
    added = complete_server("imap", given, {})
    smtp = saved_server(mailbox, "smtp")
    if smtp is not None and not ({"username", "password"} & given.model_fields_set):
        if smtp.password:
            raise InvalidInput(
                "Give imap.password (or imap.password: null for none): the SMTP password "
                "is only sent to the SMTP server it was given for.",
                field="imap.password",
                code="password_required",
            )
        added = with_credentials_of(added, smtp)
    if had_tokens and not tokens_given:
        raise InvalidInput(
            "Adding an IMAP server to a mailbox signed in with OAuth needs new tokens: give "
            "oauth, or sign in again.",
            field="oauth",
            code="oauth_required",
        )
    return added


def _change_imap(mailbox: Mailbox, changes: MailboxChanges, had_tokens: bool) -> None:
    if changes.imap is None:
        save_server(mailbox, "imap", None)
        return
    saved = saved_server(mailbox, "imap")
    if saved is None:
        changed = _added_imap(mailbox, changes.imap, had_tokens, changes.given("oauth"))
    else:
        changed = complete_server("imap", changes.imap, asdict(saved))
        require_secret_for_new_destination(
            "imap",
            saved,
            changed,
            changes.imap,
            has_tokens=had_tokens,
            tokens_given=changes.given("oauth"),
        )
    save_server(mailbox, "imap", changed)


def _change_status(mailbox: Mailbox, status: str) -> None:
    if status == mailbox.status:
        return
    mailbox.status = status
    mailbox.paused_until = None
    mailbox.status_reason = "Paused by its owner." if status == MailboxStatus.PAUSED else ""


def _change_sent_folder(mailbox: Mailbox, folder: str | None) -> None:
    if folder is None:
        raise InvalidInput(
            "sent_folder cannot be null: name the folder sent mail is filed in.",
            field="sent_folder",
            code="required",
        )
    mailbox.sent_folder = folder


@transaction.atomic
def update_mailbox(actor: User, mailbox: Mailbox, changes: MailboxChanges) -> Mailbox:
    """Change what ``changes`` names; ``imap`` or ``oauth`` given as null are removed."""
    had_tokens = bool(mailbox.oauth_tokens)
    if changes.limits is not None:
        _change_limits(actor, mailbox, changes.limits)
    if changes.given("display_name"):
        mailbox.display_name = changes.display_name or ""
    if changes.given("sent_folder"):
        _change_sent_folder(mailbox, changes.sent_folder)
    if changes.given("oauth"):
        mailbox.oauth_tokens = changes.oauth.as_tokens() if changes.oauth else None
    if changes.given("smtp"):
        _change_smtp(mailbox, changes, had_tokens)
    if changes.given("imap"):
        _change_imap(mailbox, changes, had_tokens)
    if changes.status is not None:
        _change_status(mailbox, changes.status)
    if changes.given("is_default"):
        if changes.is_default:
            _make_default(mailbox)
        else:
            mailbox.is_default = False
    mailbox.save()
    return mailbox


# -- removing -----------------------------------------------------------------------------


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
