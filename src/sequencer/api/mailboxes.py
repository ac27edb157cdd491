"""Mailboxes: connect, test, limits, signatures.

Passwords and OAuth tokens go in, never out: an answer says only which kind of
authentication a server uses (``"auth": "none" | "password" | "oauth2"``).
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from sequencer.api.auth import caller
from sequencer.api.errors import Forbidden, NotFound
from sequencer.api.mailbox_proof import AddressProofOut, address_proof
from sequencer.clock import system_clock
from sequencer.inputs import Input
from sequencer.mail import mailboxes as services
from sequencer.mail import signatures as signature_services
from sequencer.mail.mailbox_input import MailboxChanges, NewMailbox
from sequencer.mail.models import Mailbox, Signature
from sequencer.mail.providers.base import ConnectionReport

router = Router(tags=["Mailboxes"])


class ServerOut(Schema):
    host: str
    port: int | None
    security: str
    username: str
    auth: str


class LimitsOut(Schema):
    per_hour: int
    per_day: int
    min_spacing_seconds: int


class OAuthOut(Schema):
    expires_at: str | None


class MailboxOut(Schema):
    id: int
    owner_id: int
    provider: str
    email: str
    display_name: str
    is_default: bool
    smtp: ServerOut
    imap: ServerOut | None
    oauth: OAuthOut | None
    limits: LimitsOut
    status: str
    status_reason: str
    paused_until: datetime | None
    sent_folder: str
    replies_detectable: bool
    address_proof: AddressProofOut
    warnings: list[str]
    created_at: datetime
    updated_at: datetime


class CheckOut(Schema):
    ok: bool | None
    message: str


class ConnectionTestOut(Schema):
    smtp: CheckOut
    imap: CheckOut
    sent_folder: str | None
    address: CheckOut | None


class SignatureIn(Input):
    name: str
    body_html: str = ""
    is_default: bool | None = None


class SignaturePatch(Input):
    name: str | None = None
    body_html: str | None = None
    is_default: bool | None = None


class SignatureOut(Schema):
    id: int
    mailbox_id: int
    name: str
    body_html: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


def _server(mailbox: Mailbox, kind: str) -> ServerOut | None:
    host = getattr(mailbox, f"{kind}_host")
    if not host:
        return None
    if mailbox.oauth_tokens:
        auth = "oauth2"
    elif getattr(mailbox, f"{kind}_password"):
        auth = "password"
    else:
        auth = "none"
    return ServerOut(
        host=host,
        port=getattr(mailbox, f"{kind}_port"),
        security=getattr(mailbox, f"{kind}_security"),
        username=getattr(mailbox, f"{kind}_username"),
        auth=auth,
    )


def _mailbox(mailbox: Mailbox) -> MailboxOut:
    smtp = _server(mailbox, "smtp")
    tokens = mailbox.oauth_tokens
    return MailboxOut(
        id=mailbox.pk,
        owner_id=mailbox.owner_id,
        provider=mailbox.provider,
        email=mailbox.email,
        display_name=mailbox.display_name,
        is_default=mailbox.is_default,
        smtp=smtp or ServerOut(host="", port=None, security="", username="", auth="none"),
        imap=_server(mailbox, "imap"),
        oauth=OAuthOut(expires_at=tokens.get("expires_at")) if tokens else None,
        limits=LimitsOut(
            per_hour=mailbox.per_hour,
            per_day=mailbox.per_day,
            min_spacing_seconds=mailbox.min_spacing_seconds,
        ),
        status=mailbox.status,
        status_reason=mailbox.status_reason,
        paused_until=mailbox.paused_until,
        sent_folder=mailbox.sent_folder,
        replies_detectable=mailbox.has_imap,
        address_proof=address_proof(mailbox),
        warnings=services.mailbox_warnings(mailbox),
        created_at=mailbox.created_at,
        updated_at=mailbox.updated_at,
    )


def _signature(signature: Signature) -> SignatureOut:
    return SignatureOut(
        id=signature.pk,
        mailbox_id=signature.mailbox_id,
        name=signature.name,
        body_html=signature.body_html,
        is_default=signature.is_default,
        created_at=signature.created_at,
        updated_at=signature.updated_at,
    )


def _report(report: ConnectionReport) -> ConnectionTestOut:
    return ConnectionTestOut(
        smtp=CheckOut(ok=report.sending.ok, message=report.sending.message),
        imap=CheckOut(ok=report.reading.ok, message=report.reading.message),
        sent_folder=report.sent_folder,
        address=CheckOut(ok=report.address.ok, message=report.address.message)
        if report.address
        else None,
    )


def _visible(request: HttpRequest, mailbox_id: int) -> Mailbox:
    mailbox = services.mailbox_for(caller(request), mailbox_id)
    if mailbox is None:
        raise NotFound("mailbox")
    return mailbox


def _visible_signature(request: HttpRequest, mailbox_id: int, signature_id: int) -> Signature:
    mailbox = _visible(request, mailbox_id)
    signature = mailbox.signatures.filter(pk=signature_id).first()
    if signature is None:
        raise NotFound("signature")
    return signature


@router.post("/mailboxes", response={201: MailboxOut})
def create_mailbox(request: HttpRequest, payload: NewMailbox) -> Status[MailboxOut]:
    mailbox = services.create_mailbox(caller(request), payload)
    return Status(201, _mailbox(mailbox))


# Before /mailboxes/{mailbox_id}, which would take "test" for an id.
@router.post("/mailboxes/test", response=ConnectionTestOut)
def test_new_mailbox(request: HttpRequest, payload: NewMailbox) -> ConnectionTestOut:
    """Test a mailbox's settings before connecting it (the Connect form's Test
    connection): the same checks as testing a connected mailbox, and nothing is saved.

    Takes the body of `POST /mailboxes`. The address is proven by the test after
    connecting, not by this one."""
    return _report(services.check_new_mailbox(caller(request), payload, system_clock))


@router.get("/mailboxes", response=list[MailboxOut])
def list_mailboxes(request: HttpRequest, owner_id: int | None = None) -> list[MailboxOut]:
    try:
        mailboxes = services.list_mailboxes(caller(request), owner_id)
    except services.NotAllowed as exc:
        raise Forbidden(exc.message) from None
    return [_mailbox(m) for m in mailboxes]


@router.get("/mailboxes/{mailbox_id}", response=MailboxOut)
def get_mailbox(request: HttpRequest, mailbox_id: int) -> MailboxOut:
    return _mailbox(_visible(request, mailbox_id))


@router.patch("/mailboxes/{mailbox_id}", response=MailboxOut)
def update_mailbox(request: HttpRequest, mailbox_id: int, payload: MailboxChanges) -> MailboxOut:
    mailbox = _visible(request, mailbox_id)
    try:
        mailbox = services.update_mailbox(caller(request), mailbox, payload)
    except services.NotAllowed as exc:
        raise Forbidden(exc.message) from None
    return _mailbox(mailbox)


@router.delete("/mailboxes/{mailbox_id}", response={204: None})
def delete_mailbox(request: HttpRequest, mailbox_id: int) -> Status[None]:
    services.delete_mailbox(_visible(request, mailbox_id))
    return Status(204, None)


@router.post("/mailboxes/{mailbox_id}/test", response=ConnectionTestOut)
def test_mailbox(request: HttpRequest, mailbox_id: int) -> ConnectionTestOut:
    return _report(services.check_mailbox(_visible(request, mailbox_id), system_clock))


@router.get("/mailboxes/{mailbox_id}/signatures", response=list[SignatureOut])
def list_signatures(request: HttpRequest, mailbox_id: int) -> list[SignatureOut]:
    mailbox = _visible(request, mailbox_id)
    return [_signature(s) for s in signature_services.signatures_of(mailbox)]


@router.post("/mailboxes/{mailbox_id}/signatures", response={201: SignatureOut})
def create_signature(
    request: HttpRequest, mailbox_id: int, payload: SignatureIn
) -> Status[SignatureOut]:
    mailbox = _visible(request, mailbox_id)
    signature = signature_services.create_signature(mailbox, payload.model_dump(exclude_unset=True))
    return Status(201, _signature(signature))


@router.get("/mailboxes/{mailbox_id}/signatures/{signature_id}", response=SignatureOut)
def get_signature(request: HttpRequest, mailbox_id: int, signature_id: int) -> SignatureOut:
    return _signature(_visible_signature(request, mailbox_id, signature_id))


@router.patch("/mailboxes/{mailbox_id}/signatures/{signature_id}", response=SignatureOut)
def update_signature(
    request: HttpRequest, mailbox_id: int, signature_id: int, payload: SignaturePatch
) -> SignatureOut:
    signature = _visible_signature(request, mailbox_id, signature_id)
    return _signature(
        signature_services.update_signature(signature, payload.model_dump(exclude_unset=True))
    )


@router.delete("/mailboxes/{mailbox_id}/signatures/{signature_id}", response={204: None})
def delete_signature(request: HttpRequest, mailbox_id: int, signature_id: int) -> Status[None]:
    signature_services.delete_signature(_visible_signature(request, mailbox_id, signature_id))
    return Status(204, None)
