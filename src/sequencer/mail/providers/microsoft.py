"""Send through a Microsoft 365 or Outlook.com mailbox with Microsoft Graph.

**The first email** goes as MIME: ``POST /me/sendMail`` with the base64 of the message's
bytes and ``Content-Type: text/plain`` (Graph's way of taking MIME). Only this keeps every
header as built: Graph's JSON form accepts no custom headers but ``X-`` ones, so it
could not carry ``List-Unsubscribe``. Graph answers 202
(accepted, not yet delivered) with no body, so the Graph id of the message is not known
yet; a follow-up finds it in Sent Items by its Message-ID (``internetMessageId``).

**A follow-up** is a reply to the previous message of the sequence, so that Outlook
files it in the same conversation for the sender too: ``createReply`` on that message's
Graph id makes a draft in the conversation, a PATCH fills in our recipients, subject,
body and Message-ID (``internetMessageId`` may be changed while a message is a draft),
attachments are added, and ``send`` sends it. What such a reply carries:

* the recipients set explicitly (``createReply`` would address the previous message's
  sender, and that is this mailbox itself when the previous message is our own);
* our subject and HTML body (the quoted history Outlook would add is replaced);
* our Message-ID, which is what lets ``find_sent`` settle a reply whose outcome is
  unknown (Graph documents ``internetMessageId`` as writable on drafts; the emulator
  ignores it, so this is still to be seen on a real tenant);
* ``In-Reply-To``/``References`` as Exchange writes them from the previous message;
* no ``List-Unsubscribe``/``List-Unsubscribe-Post``: Graph cannot set them on a draft,
  so the visible unsubscribe link in the body is what recipients have.

When the previous message cannot be found (deleted, or not filed yet), the follow-up is
sent as MIME like a first email: its own ``In-Reply-To``/``References`` and ``RE:``
subject still thread it for the recipient.

Every request asks for immutable ids (``Prefer: IdType="ImmutableId"``): an ordinary
Graph id changes when a message moves between folders, as a draft does when it is sent.

Failures: 401 after one token renewal means the sign-in is gone; 429 and 503 carry
``Retry-After`` (Graph's throttling); ``ErrorInvalidRecipients`` is the recipient's
address; submission quotas pause the mailbox for 24 hours; other 403s mean the account
may not send (``ErrorAccessDenied``: connected without permission; ``ErrorSendAsDenied``:
not allowed to send as this address).
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

import httpx

from sequencer.clock import Clock
from sequencer.mail.providers.api import (
    DEFAULT_TIMEOUT,
    ApiClient,
    TokenSource,
    error_body,
    retry_after_seconds,
)
from sequencer.mail.providers.base import (
    Check,
    ConnectionReport,
    Meanwhile,
    SendResult,
    ThreadRef,
    message_bytes,
)
from sequencer.mail.providers.errors import (
    QUOTA_PAUSE_SECONDS,
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    ProviderError,
    RecipientRejected,
    TransientFailure,
)

log = logging.getLogger(__name__)

GRAPH_API_URL = "https://graph.microsoft.com"
_ME = "/v1.0/me"
_SENT_ITEMS = f"{_ME}/mailFolders/sentitems/messages"
# Graph takes attachments of up to 3 MB in one request; bigger ones need an upload session.
MAX_SIMPLE_ATTACHMENT = 3 * 1024 * 1024

_SEND_SCOPES = frozenset({"mail.send", "https://graph.microsoft.com/mail.send"})
_RECIPIENT_CODES = frozenset({"ErrorInvalidRecipients", "ErrorInvalidRecipient"})
_QUOTA_CODES = frozenset(
    {"ErrorQuotaExceeded", "ErrorSubmissionQuotaExceeded", "ErrorExceededMessageLimit"}
)
_POLICY_CODES = frozenset({"ErrorMessageSubmissionBlocked", "ErrorAccountSuspend"})


def _odata_string(value: str) -> str:
    # OData string literals are quoted with ' and a ' inside is doubled.
    return "'" + value.replace("'", "''") + "'"


def _bracketed(message_id: str) -> str:
    value = message_id.strip()
    return value if value.startswith("<") else f"<{value}>"


def _recipients(message: EmailMessage, header: str) -> list[dict[str, Any]]:
    # From the parsed headers' addresses: rendering a header to text and parsing it
    # again would read its display names a second time.
    pairs: list[tuple[str, str]] = []
    for value in message.get_all(header, []):
        addresses = getattr(value, "addresses", None)
        if addresses is None:
            pairs += getaddresses([str(value)])
        else:
            pairs += [(a.display_name, a.addr_spec) for a in addresses]
    return [
        {"emailAddress": {"address": addr, **({"name": name} if name else {})}}
        for name, addr in pairs
        if addr
    ]


class GraphProvider:
    """The :class:`~sequencer.mail.providers.base.MailProvider` of a Microsoft mailbox."""

    def __init__(
        self,
        *,
        email: str,
        tokens: TokenSource,
        api_url: str = GRAPH_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        granted_scope: str | None = None,
        clock: Clock,
    ) -> None:
        self.email = email
        self.granted_scope = granted_scope
        self.clock = clock
        self.api = ApiClient(
            api_url,
            tokens,
            service="Microsoft Graph",
            timeout=timeout,
            headers={"Prefer": 'IdType="ImmutableId"'},
        )

    # -- MailProvider ----------------------------------------------------------------

    def send(
        self,
        message: EmailMessage,
        *,
        thread: ThreadRef | None = None,
        meanwhile: Meanwhile | None = None,  # one API call: no step to lend
    ) -> SendResult:
        if thread is None:
            return self._send_mime(message)
        previous = thread.provider_message_id
        if not previous and thread.message_id:
            previous = self._sent_message_id(thread.message_id)
        if not previous:
            log.info(
                "%s: the previous message %s is not in Sent Items; sending %s as MIME",
                self.email,
                thread.message_id,
                message["Message-ID"],
            )
            return self._send_mime(message)
        return self._send_reply(message, previous)

    def find_sent(self, message_id: str) -> bool:
        return self._sent_message_id(message_id) is not None

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(sending=self._check_sending(), reading=self._check_search())

    # -- sending ---------------------------------------------------------------------

    def _send_mime(self, message: EmailMessage) -> SendResult:
        response = self.api.request(
            "POST",
            f"{_ME}/sendMail",
            content=base64.b64encode(message_bytes(message)),
            content_type="text/plain",
            changes_state=True,
        )
        if response.status_code not in (200, 202):
            raise self._failure(response, message)
        return SendResult(server_reply=f"{response.status_code}: accepted by Microsoft Graph")

    def _send_reply(self, message: EmailMessage, previous: str) -> SendResult:
        # Creating a draft sends nothing: a lost answer here is only worth a retry.
        response = self.api.request(
            "POST", f"{_ME}/messages/{previous}/createReply", json={}, changes_state=False
        )
        if response.status_code == 404:
            log.info("%s: message %s is gone; sending as MIME", self.email, previous)
            return self._send_mime(message)
        if response.status_code not in (200, 201):
            raise self._failure(response, message)
        draft = response.json()
        draft_id = str(draft["id"])
        try:
            self._fill_draft(draft_id, message)
            response = self.api.request(
                "POST", f"{_ME}/messages/{draft_id}/send", changes_state=True
            )
            if response.status_code not in (200, 202):
                raise self._failure(response, message)
        except OutcomeUnknown:
            # It may have been sent: the draft may now be the Sent Items copy, which must
            # stay for find_sent to see.
            raise
        except ProviderError:
            self._discard_draft(draft_id)
            raise
        return SendResult(
            provider_message_id=draft_id,
            thread_id=draft.get("conversationId"),
            server_reply=f"{response.status_code}: reply sent by Microsoft Graph",
        )

    def _fill_draft(self, draft_id: str, message: EmailMessage) -> None:
        body_part = message.get_body(preferencelist=("html", "plain"))
        if body_part is None:
            raise MessageRejected("The message has no text or HTML body to send.")
        text_part = message.get_body(preferencelist=("plain",))
        content_type = "html" if body_part.get_content_subtype() == "html" else "text"
        patch: dict[str, Any] = {
            "toRecipients": _recipients(message, "To"),
            "ccRecipients": _recipients(message, "Cc"),
            "bccRecipients": _recipients(message, "Bcc"),
            "subject": str(message["Subject"] or ""),
            "body": {"contentType": content_type, "content": body_part.get_content()},
        }
        if message["Message-ID"]:
            patch["internetMessageId"] = str(message["Message-ID"]).strip()
        if not patch["toRecipients"]:
            raise MessageRejected("The message has no recipient (To).")
        response = self.api.request(
            "PATCH", f"{_ME}/messages/{draft_id}", json=patch, changes_state=False
        )
        if response.status_code != 200:
            raise self._failure(response, message)
        for part in message.walk():
            if part.is_multipart() or part is body_part or part is text_part:
                continue
            self._attach(draft_id, part, message)

    def _attach(self, draft_id: str, part: EmailMessage, message: EmailMessage) -> None:
        content = part.get_payload(decode=True)
        data = content if isinstance(content, bytes) else b""
        if len(data) > MAX_SIMPLE_ATTACHMENT:
            raise MessageRejected(
                f"The attachment {part.get_filename() or ''!r} is larger than 3 MB, which a "
                "threaded Microsoft 365 follow-up cannot carry yet."
            )
        content_id = str(part["Content-ID"] or "").strip().strip("<>")
        attachment = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": part.get_filename() or content_id or "attachment",
            "contentType": part.get_content_type(),
            "contentBytes": base64.b64encode(data).decode("ascii"),
            "isInline": part.get_content_disposition() == "inline" or bool(content_id),
            **({"contentId": content_id} if content_id else {}),
        }
        response = self.api.request(
            "POST", f"{_ME}/messages/{draft_id}/attachments", json=attachment, changes_state=False
        )
        if response.status_code not in (200, 201):
            raise self._failure(response, message)

    def _discard_draft(self, draft_id: str) -> None:
        try:
            self.api.request("DELETE", f"{_ME}/messages/{draft_id}", changes_state=False)
        except ProviderError:
            log.warning("%s: could not delete the unsent draft %s", self.email, draft_id)

    # -- searching -------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.api.request("GET", path, params=params, changes_state=False)
        if response.status_code != 200:
            failure = self._failure(response, None)
            if isinstance(failure, RecipientRejected | MessageRejected):
                raise TransientFailure(failure.message) from failure
            raise failure
        data = response.json()
        return data if isinstance(data, dict) else {}

    def _sent_message_id(self, message_id: str) -> str | None:
        """The Graph id of the Sent Items message with this Message-ID, if any."""
        wanted = _bracketed(message_id)
        found = self._get(
            _SENT_ITEMS,
            {
                "$filter": f"internetMessageId eq {_odata_string(wanted)}",
                "$select": "id,internetMessageId,conversationId",
                "$top": "10",
            },
        )
        for item in found.get("value") or []:
            # Compare again: a server that ignored the filter must not make an unsent
            # email look sent.
            if str(item.get("internetMessageId", "")).strip().lower() == wanted.lower():
                return str(item["id"])
        return None

    def _check_sending(self) -> Check:
        try:
            me = self._get(_ME)
        except ProviderError as exc:
            return Check(False, exc.message)
        address = str(me.get("mail") or me.get("userPrincipalName") or "")
        if address.lower() != self.email.lower():
            return Check(
                False,
                f"The Microsoft sign-in belongs to {address or 'another account'}, not "
                f"{self.email}: connect the mailbox again, signing in as {self.email}.",
            )
        if (
            self.granted_scope is not None
            and not {s.lower() for s in self.granted_scope.split()} & _SEND_SCOPES
        ):
            return Check(
                False,
                f"Signed in to Microsoft 365 as {address}, but without the Mail.Send "
                "permission: connect the mailbox again and allow sending.",
            )
        return Check(True, f"Signed in to Microsoft Graph as {address}; it sends as this mailbox.")

    def _check_search(self) -> Check:
        try:
            self._get(f"{_ME}/mailFolders/sentitems", {"$select": "id,displayName"})
        except ProviderError as exc:
            return Check(False, f"Sent Items cannot be read: {exc.message}")
        return Check(
            True,
            "Sent Items can be searched through Microsoft Graph, so a send whose outcome is "
            "unknown can be checked before anything is sent again.",
        )

    # -- errors ----------------------------------------------------------------------

    def _failure(self, response: httpx.Response, message: EmailMessage | None) -> ProviderError:
        status = response.status_code
        error = error_body(response)
        code = str(error.get("code") or "")
        text = str(error.get("message") or response.reason_phrase)
        said = f"Microsoft Graph answered {status} {code}: {text}".replace("  ", " ")
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self.clock.now())

        if code in _QUOTA_CODES:
            return MailboxFailure(
                f"The mailbox reached a Microsoft 365 sending limit. {said}",
                problem="quota",
                pause_seconds=QUOTA_PAUSE_SECONDS,
            )
        if status == 429:
            return TransientFailure(
                f"Microsoft asked to slow down. {said}", retry_after=retry_after
            )
        if status >= 500:
            return TransientFailure(
                f"Microsoft Graph is unavailable. {said}", retry_after=retry_after
            )
        if status == 401:
            return MailboxFailure(
                f"Microsoft refused the mailbox's sign-in even after renewing it: connect it "
                f"again. {said}",
                problem="auth",
            )
        if code in _RECIPIENT_CODES:
            recipients = _recipients(message, "To") if message is not None else []
            return RecipientRejected(
                f"Microsoft refused the recipient's address. {said}",
                recipient=recipients[0]["emailAddress"]["address"] if recipients else None,
            )
        if code == "ErrorSendAsDenied":
            return MailboxFailure(
                f"The account may not send as {self.email}. {said}", problem="sender"
            )
        if code in _POLICY_CODES:
            return MailboxFailure(
                f"Microsoft blocked sending from this mailbox. {said}", problem="policy"
            )
        if status == 403:
            return MailboxFailure(
                f"The mailbox was connected without permission to do this: connect it again "
                f"and allow sending. {said}",
                problem="auth",
            )
        return MessageRejected(f"Microsoft refused the message. {said}")
