"""Proving that a mailbox's address belongs to the member who connected it.

Anyone can type any address into a mailbox form. Until the address is proven, the mailbox
sends nothing (:mod:`sequencer.mail.readiness`): otherwise a member could send as a
colleague, and put that colleague's address into unsubscribe links. A proof is one of:

- ``oauth``: the member signed in at Google or Microsoft as this address (the sign-in
  flow, or a connection test in which the provider names the signed-in account);
- ``imap``: the connection test sent a message to the address through the mailbox's SMTP
  server and found it, by its Message-ID, in the INBOX of the mailbox's IMAP account;
- ``link``: without IMAP, a message with a signed, expiring link went to the address,
  and somebody who received it opened the link;
- ``admin``: a workspace admin vouched for the mailbox (recorded in the audit log).

What the IMAP proof shows is that the configured SMTP server delivers mail for the address
into the configured IMAP account. A member running their own mail server for a domain
that is not theirs could arrange that; such mail still carries their server, and admins
can limit which servers mailboxes may use.

A proof belongs to one address: changing the mailbox's address forgets it (see
:meth:`sequencer.mail.models.Mailbox.save`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from sequencer.clock import Clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.threading import make_message_id
from sequencer.mail.compose import build_message
from sequencer.mail.models import AddressProof, Mailbox, Provider
from sequencer.mail.providers.base import Check, ConnectionReport, MailProvider
from sequencer.mail.providers.errors import ProviderError
from sequencer.mail.providers.smtp_imap import SmtpImapProvider
from sequencer.workspace.models import AuditEntry, User

# How long a proof link stays valid: long enough for someone who reads mail once a day.
LINK_MAX_AGE = timedelta(days=3)
# How long the connection test looks for its message in the INBOX, and how often.
INBOX_WAIT_SECONDS = 15.0
INBOX_POLL_SECONDS = 0.5

_LINK_SALT = "sequencer.mailbox-proof.v1"


def unproven_message(mailbox: Mailbox) -> str:
    """Why an unproven mailbox does not send, and what its owner can do about it."""
    if mailbox.provider in (Provider.GMAIL, Provider.MICROSOFT):
        how = f"connect it again by signing in with {Provider(mailbox.provider).label}"
    elif mailbox.has_imap:
        how = (
            "run its connection test, which sends a test message to the address and "
            "looks for it over IMAP"
        )
    else:
        how = "run its connection test and open the confirmation link it emails to the address"
    return (
        f"{mailbox.email} does not send until its address is proven to be its owner's: "
        f"{how}, or ask a workspace admin to vouch for it."
    )


def require_proven(mailbox: Mailbox, *, field: str = "sender") -> None:
    """Refuse to schedule email from a mailbox whose address is not proven."""
    if not mailbox.address_proven:
        raise InvalidInput(
            f"The mailbox {mailbox.email} cannot send yet: {unproven_message(mailbox)}",
            field=field,
            code="mailbox_unproven",
        )


def mark_proven(
    mailbox: Mailbox, method: AddressProof, clock: Clock, *, vouched_by: User | None = None
) -> Mailbox:
    """Record that ``mailbox``'s address is proven by ``method`` now."""
    mailbox.address_proven_at = clock.now()
    mailbox.address_proof = method
    mailbox.address_vouched_by = vouched_by
    mailbox.save(
        update_fields=["address_proven_at", "address_proof", "address_vouched_by", "updated_at"]
    )
    return mailbox


# -- OAuth -------------------------------------------------------------------------------


def prove_by_oauth(mailbox: Mailbox, signed_in_as: str, clock: Clock) -> bool:
    """The provider says the member signed in as ``signed_in_as``: proof if it is the
    mailbox's own address."""
    if signed_in_as.strip().lower() != mailbox.email.lower():
        return False
    mark_proven(mailbox, AddressProof.OAUTH, clock)
    return True


# -- the connection test -----------------------------------------------------------------


def prove_after_connection_test(
    mailbox: Mailbox,
    provider: MailProvider,
    report: ConnectionReport,
    clock: Clock,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Check:
    """Prove the address with what the connection test just reached, if not yet proven.

    Gmail and Graph connection tests compare the signed-in account with the mailbox's
    address, so their passing sending check is the OAuth proof. Over SMTP, a message to
    the address is looked for over IMAP; without IMAP, a confirmation link is sent.
    """
    if mailbox.address_proven:
        return Check(True, proven_words(mailbox))
    if not report.sending.ok:
        return Check(False, "The address can be proven once sending works.")
    if mailbox.provider in (Provider.GMAIL, Provider.MICROSOFT):
        mark_proven(mailbox, AddressProof.OAUTH, clock)
        return Check(True, proven_words(mailbox))
    if not isinstance(provider, SmtpImapProvider):
        return Check(False, unproven_message(mailbox))
    if provider.imap is None:
        return send_proof_link(mailbox, provider, clock)
    if report.reading.ok is False:
        return Check(False, "The address can be proven once IMAP works.")
    return prove_over_imap(mailbox, provider, clock, sleep=sleep)


def proven_words(mailbox: Mailbox) -> str:
    when = f"{mailbox.address_proven_at:%Y-%m-%d %H:%M} UTC" if mailbox.address_proven_at else ""
    ways: dict[str, str] = {
        AddressProof.OAUTH: "by signing in with the provider",
        AddressProof.IMAP: "by a test message found over IMAP",
        AddressProof.LINK: "by a confirmation link sent to it",
        AddressProof.ADMIN: "by an admin who vouched for it",
    }
    how = ways.get(mailbox.address_proof, "")
    return f"{mailbox.email} is proven {how} ({when})."


def _proof_message(mailbox: Mailbox, clock: Clock, subject: str, html: str) -> Any:
    return build_message(
        from_=(mailbox.display_name, mailbox.email),
        to=(mailbox.display_name, mailbox.email),
        subject=subject,
        html=html,
        date=clock.now(),
        message_id=make_message_id(mailbox.email),
    )


def _inbox_reader(provider: SmtpImapProvider) -> SmtpImapProvider:
    # The same servers and credentials, searching the INBOX instead of the Sent folder,
    # and filing no Sent copy of the test message.
    return SmtpImapProvider(
        email=provider.email,
        smtp=provider.smtp,
        imap=provider.imap,
        sent_folder="INBOX",
        access_token=provider.access_token,
        timeout=provider.timeout,
        append_to_sent=False,
    )


def prove_over_imap(
    mailbox: Mailbox,
    provider: SmtpImapProvider,
    clock: Clock,
    *,
    wait_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Check:
    """Send a message to the address and look for it in the IMAP account's INBOX for
    ``wait_seconds`` (default :data:`INBOX_WAIT_SECONDS`).

    Its Message-ID holds 128 random bits, so it cannot have been planted beforehand.
    """
    if wait_seconds is None:
        wait_seconds = INBOX_WAIT_SECONDS
    reader = _inbox_reader(provider)
    message = _proof_message(
        mailbox,
        clock,
        "Sequencer address check (you can delete this message)",
        "<p>Sequencer sent this message to check that mail to this address reaches "
        "this mailbox. You can delete it.</p>",
    )
    message_id = str(message["Message-ID"])
    try:
        reader.send(message)
    except ProviderError as exc:
        return Check(False, f"The test message to {mailbox.email} was not sent: {exc.message}")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            found = reader.find_sent(message_id)
        except ProviderError as exc:
            return Check(False, f"The INBOX could not be searched: {exc.message}")
        if found:
            mark_proven(mailbox, AddressProof.IMAP, clock)
            return Check(True, proven_words(mailbox))
        if time.monotonic() >= deadline:
            return Check(
                False,
                f"A test message was sent to {mailbox.email}, but it did not arrive in the "
                f"INBOX of the IMAP account within {wait_seconds:g} s, so the address is "
                "not proven. Check that the IMAP account is the one that receives this "
                "address's mail (and the spam folder), then run the test again, or ask an "
                "admin to vouch for the mailbox.",
            )
        sleep(INBOX_POLL_SECONDS)


# -- the link ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkClaim:
    mailbox_id: int
    owner_id: int
    email: str
    issued_at: datetime


def proof_token(mailbox: Mailbox, clock: Clock) -> str:
    payload = {
        "m": mailbox.pk,
        "o": mailbox.owner_id,
        "a": mailbox.email.lower(),
        "t": int(clock.now().timestamp()),
    }
    return signing.dumps(payload, salt=_LINK_SALT, compress=True)


def proof_url(mailbox: Mailbox, clock: Clock) -> str:
    path = reverse("web:mailbox_proof", kwargs={"token": proof_token(mailbox, clock)})
    return f"{settings.BASE_URL}{path}"


def read_proof_token(token: str, clock: Clock) -> LinkClaim | None:
    """The claim of a token this installation signed and that has not expired; else None.

    The issue time is inside the signed payload and compared with ``clock``, so expiry
    follows the same clock as the rest of the service.
    """
    try:
        data = signing.loads(token, salt=_LINK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    try:
        claim = LinkClaim(
            mailbox_id=int(data["m"]),
            owner_id=int(data["o"]),
            email=str(data["a"]),
            issued_at=datetime.fromtimestamp(int(data["t"]), UTC),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    now = clock.now()
    if not claim.issued_at - timedelta(minutes=5) <= now <= claim.issued_at + LINK_MAX_AGE:
        return None
    return claim


def mailbox_of_claim(claim: LinkClaim) -> Mailbox | None:
    """The mailbox a claim is about, if it still has the address the link was sent to."""
    mailbox = Mailbox.objects.select_related("owner").filter(pk=claim.mailbox_id).first()
    if mailbox is None or mailbox.owner_id != claim.owner_id:
        return None
    if mailbox.email.lower() != claim.email:
        return None
    return mailbox


def redeem_proof_token(token: str, clock: Clock) -> Mailbox | None:
    """Prove the mailbox a valid link names; None when the link is invalid, expired, or
    the mailbox's address changed since it was sent."""
    claim = read_proof_token(token, clock)
    if claim is None:
        return None
    with transaction.atomic():
        mailbox = mailbox_of_claim(claim)
        if mailbox is None:
            return None
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if mailbox.email.lower() != claim.email:
            return None
        if not mailbox.address_proven:
            mark_proven(mailbox, AddressProof.LINK, clock)
    return mailbox


def send_proof_link(mailbox: Mailbox, provider: MailProvider, clock: Clock) -> Check:
    """Email a confirmation link to the address, through the mailbox itself."""
    url = proof_url(mailbox, clock)
    owner = mailbox.owner
    message = _proof_message(
        mailbox,
        clock,
        "Confirm this address for sending with Sequencer",
        f"<p>{_html(owner.name or owner.email)} connected {_html(mailbox.email)} to "
        "Sequencer to send email sequences from it. If this address is theirs, open this "
        f'link to confirm it: <a href="{_html(url)}">{_html(url)}</a></p>'
        f"<p>The link works for {LINK_MAX_AGE.days} days. If you did not expect this, "
        "ignore this message: nothing is sent from the address until it is confirmed.</p>",
    )
    try:
        provider.send(message)
    except ProviderError as exc:
        return Check(False, f"The confirmation link was not sent: {exc.message}")
    return Check(
        False,
        f"Not proven yet: a confirmation link was sent to {mailbox.email}. Open it to "
        "prove the address (there is no IMAP server to look for a test message).",
    )


def _html(text: str) -> str:
    return html.escape(text, quote=True)


# -- an admin's word ---------------------------------------------------------------------


def vouch(actor: User, mailbox: Mailbox, clock: Clock, *, note: str = "") -> Mailbox:
    """An admin vouches for the mailbox's address; recorded in the audit log."""
    if not actor.is_admin:
        raise PermissionError("Only workspace admins can vouch for a mailbox's address.")
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if mailbox.address_proven:
            return mailbox
        mark_proven(mailbox, AddressProof.ADMIN, clock, vouched_by=actor)
        AuditEntry.objects.create(
            actor=actor,
            action="mailbox.vouched",
            target=f"mailbox:{mailbox.pk}",
            detail={"email": mailbox.email, "owner_id": mailbox.owner_id, "note": note},
        )
    return mailbox
