"""Send through a Gmail or Google Workspace mailbox with the Gmail API.

The message goes as it was built (``users.messages.send`` with the RFC 5322 bytes in
``raw``), so every header arrives as written: our Message-ID, a long ``List-Unsubscribe``,
``In-Reply-To`` and ``References``. Gmail files it under SENT itself.

A follow-up also names the Gmail ``threadId`` of the first email. Gmail puts a sent
message into a thread only when the threadId is given, the References/In-Reply-To
headers name a message of that thread, and the subject matches (Gmail API guide
"Managing threads"); the composer takes care of the last two.

Failures are classified by the API's ``error.errors[].reason`` (Gmail API guide
"Resolve errors"):

======================================  ====================================================
answer                                  meaning
======================================  ====================================================
401 (after one token renewal)           the sign-in is gone: MailboxFailure("auth")
403/429 dailyLimitExceeded, or a        the mailbox used up its sending quota: pause it
"sending limit" message                 for 24 hours, MailboxFailure("quota")
429, 403 rateLimitExceeded /            too fast: TransientFailure, with the server's
userRateLimitExceeded                   Retry-After (or "Retry after <time>") when given
403 insufficientPermissions             connected without permission to send: "auth"
other 403, 400 failedPrecondition       the account may not send (suspended, Gmail off
                                        for the domain): MailboxFailure("policy")
400 "Invalid To header" and the like    the recipient's address: RecipientRejected
other 400, 404, 413                     this message: MessageRejected
5xx, network errors before the request  TransientFailure
was sent
network errors after it was sent        OutcomeUnknown
======================================  ====================================================
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
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
    ProviderError,
    RecipientRejected,
    TransientFailure,
)

GMAIL_API_URL = "https://gmail.googleapis.com"
_USER = "/gmail/v1/users/me"

_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_QUOTA_REASONS = frozenset({"dailyLimitExceeded"})
_SEND_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/gmail.send",
        "https://www.googleapis.com/auth/gmail.compose",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://mail.google.com/",
    }
)
# "User-rate limit exceeded.  Retry after 2026-01-05T10:00:00.000Z (Mail sending)"
_RETRY_AFTER_TEXT = re.compile(r"Retry after (\d{4}-\d\d-\d\dT[0-9:.]+Z)", re.IGNORECASE)
_SENDING_LIMIT_TEXT = re.compile(r"sending limit|limit for sending", re.IGNORECASE)
_BAD_ADDRESS_HEADER = re.compile(r"Invalid (To|Cc|Bcc) header", re.IGNORECASE)


def _bracketed(message_id: str) -> str:
    value = message_id.strip()
    return value if value.startswith("<") else f"<{value}>"


class GmailProvider:
    """The :class:`~sequencer.mail.providers.base.MailProvider` of a Gmail mailbox."""

    def __init__(
        self,
        *,
        email: str,
        tokens: TokenSource,
        api_url: str = GMAIL_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        granted_scope: str | None = None,
        clock: Clock,
    ) -> None:
        self.email = email
        self.granted_scope = granted_scope
        self.clock = clock
        self.api = ApiClient(api_url, tokens, service="the Gmail API", timeout=timeout)

    # -- MailProvider ----------------------------------------------------------------

    def send(
        self,
        message: EmailMessage,
        *,
        thread: ThreadRef | None = None,
        meanwhile: Meanwhile | None = None,  # one API call: no step to lend
    ) -> SendResult:
        body: dict[str, Any] = {
            "raw": base64.urlsafe_b64encode(message_bytes(message)).decode("ascii")
        }
        if thread is not None and thread.thread_id:
            body["threadId"] = thread.thread_id
        response = self.api.request("POST", f"{_USER}/messages/send", json=body, changes_state=True)
        if response.status_code != 200:
            raise self._failure(response, message)
        sent = response.json()
        return SendResult(
            provider_message_id=sent.get("id"),
            thread_id=sent.get("threadId"),
            server_reply=f"{response.status_code}: Gmail message {sent.get('id')}",
        )

    def find_sent(self, message_id: str) -> bool:
        """Whether the mailbox holds a message with this Message-ID (trash included: a
        sent message the member deleted was still sent)."""
        wanted = _bracketed(message_id)
        found = self._get(
            f"{_USER}/messages",
            {"q": f"rfc822msgid:{wanted}", "includeSpamTrash": "true", "maxResults": "10"},
        )
        for hit in found.get("messages") or []:
            # Check the header itself: a search that matched loosely must not make the
            # engine believe an email went out.
            metadata = self._get(
                f"{_USER}/messages/{hit['id']}",
                {"format": "metadata", "metadataHeaders": "Message-ID"},
            )
            headers = (metadata.get("payload") or {}).get("headers") or []
            for header in headers:
                if str(header.get("name", "")).lower() == "message-id" and (
                    str(header.get("value", "")).strip().lower() == wanted.lower()
                ):
                    return True
        return False

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(sending=self._check_sending(), reading=self._check_search())

    # -- helpers ---------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.api.request("GET", path, params=params, changes_state=False)
        if response.status_code != 200:
            failure = self._failure(response, None)
            if isinstance(failure, RecipientRejected | MessageRejected):
                # A refused search is no verdict on any message: try again later.
                raise TransientFailure(failure.message) from failure
            raise failure
        data = response.json()
        return data if isinstance(data, dict) else {}

    def _check_sending(self) -> Check:
        try:
            profile = self._get(f"{_USER}/profile")
        except ProviderError as exc:
            return Check(False, exc.message)
        address = str(profile.get("emailAddress") or "")
        if address.lower() != self.email.lower():
            return Check(
                False,
                f"The Gmail sign-in belongs to {address or 'another account'}, not {self.email}: "
                f"connect the mailbox again, signing in as {self.email}.",
            )
        if self.granted_scope is not None and not set(self.granted_scope.split()) & _SEND_SCOPES:
            return Check(
                False,
                f"Signed in to Gmail as {address}, but without permission to send: connect "
                "the mailbox again and allow Sequencer to send email.",
            )
        return Check(True, f"Signed in to the Gmail API as {address}; it sends as this mailbox.")

    def _check_search(self) -> Check:
        try:
            self._get(f"{_USER}/messages", {"q": "in:sent", "maxResults": "1"})
        except ProviderError as exc:
            return Check(False, f"Sent mail cannot be searched: {exc.message}")
        return Check(
            True,
            "Sent mail can be searched through the Gmail API, so a send whose outcome is "
            "unknown can be checked before anything is sent again.",
        )

    def _failure(self, response: httpx.Response, message: EmailMessage | None) -> ProviderError:
        status = response.status_code
        error = error_body(response)
        reasons = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
        text = str(error.get("message") or response.reason_phrase)
        said = f"Gmail answered {status}: {text}"

        if reasons & _QUOTA_REASONS or _SENDING_LIMIT_TEXT.search(text):
            return MailboxFailure(
                f"The mailbox reached Gmail's sending limit. {said}",
                problem="quota",
                pause_seconds=QUOTA_PAUSE_SECONDS,
            )
        if status == 429 or (status == 403 and reasons & _RATE_REASONS):
            return TransientFailure(
                f"Gmail asked to slow down. {said}", retry_after=self._retry_after(response, text)
            )
        if status >= 500:
            return TransientFailure(
                f"Gmail is unavailable. {said}", retry_after=self._retry_after(response, text)
            )
        if status == 401:
            return MailboxFailure(
                f"Gmail refused the mailbox's sign-in even after renewing it: connect it "
                f"again. {said}",
                problem="auth",
            )
        if status == 403 and "insufficientPermissions" in reasons:
            return MailboxFailure(
                f"The mailbox was connected without permission to send: connect it again "
                f"and allow sending. {said}",
                problem="auth",
            )
        if status == 403 or (status == 400 and "failedPrecondition" in reasons):
            return MailboxFailure(f"Gmail does not let this mailbox send. {said}", problem="policy")
        if status == 400 and _BAD_ADDRESS_HEADER.search(text):
            return RecipientRejected(
                f"Gmail refused the recipient's address. {said}",
                recipient=_first_recipient(message),
            )
        return MessageRejected(f"Gmail refused the message. {said}")

    def _retry_after(self, response: httpx.Response, text: str) -> float | None:
        now = self.clock.now()
        seconds = retry_after_seconds(response.headers.get("Retry-After"), now)
        if seconds is not None:
            return seconds
        match = _RETRY_AFTER_TEXT.search(text)
        if match is None:
            return None
        try:
            when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        except ValueError:
            return None
        return max(0.0, (when.astimezone(UTC) - now).total_seconds())


def _first_recipient(message: EmailMessage | None) -> str | None:
    if message is None:
        return None
    found = [addr for _, addr in getaddresses([str(v) for v in message.get_all("To", [])]) if addr]
    return found[0] if found else None
