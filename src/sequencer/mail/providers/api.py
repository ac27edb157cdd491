"""What the Gmail and Microsoft Graph providers share: a JSON API behind a bearer token.

Two things about a failed call matter to the engine, and both are decided here:

* **Could the request have been acted upon?** httpcore reports, through its ``trace``
  request extension, the moment the request body has been handed to the connection.
  A timeout or broken connection before that moment means the server cannot have acted
  on the request (:class:`TransientFailure`: try again later); after it, a request that
  changes something (a send) may have been carried out although no answer came back
  (:class:`OutcomeUnknown`: search the Sent folder before sending again).
* **Was the access token refused?** A 401 means the token expired early or was revoked:
  the request is repeated once with a renewed token (a refused request did nothing, so
  repeating it cannot send twice). A second 401 is the caller's to classify.

Everything else about an answer (what a 400 or a 403 means) differs between the APIs and
is left to each provider.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from sequencer.mail.providers.errors import MailboxFailure, OutcomeUnknown, TransientFailure

DEFAULT_TIMEOUT = 30.0

_BODY_SENT = re.compile(r"^http[0-9]*\.send_request_body\.complete$")


class TokenSource(Protocol):
    """Where a provider gets its bearer token."""

    def access_token(self) -> str:
        """A token believed to be valid now (renewed first when it is about to expire)."""
        ...

    def refresh(self) -> str:
        """A new token, after the API refused the current one."""
        ...


@dataclass
class StaticToken:
    """A token that cannot be renewed (a mailbox connected without a refresh token)."""

    token: str

    def access_token(self) -> str:
        return self.token

    def refresh(self) -> str:
        raise MailboxFailure(
            "The provider refused the mailbox's access token and there is no refresh token "
            "to renew it: reconnect the mailbox.",
            problem="auth",
        )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The ``{"error": {...}}`` object both APIs answer failures with, or ``{}``."""
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


class ApiClient:
    """Requests to one API with one mailbox's token; see the module's notes."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        service: str,
        timeout: float = DEFAULT_TIMEOUT,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.service = service
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers or {}, follow_redirects=False
        )
        # Providers and sync passes hold a client for as long as they live and have no
        # moment to close it; once they are gone, close its pooled connections rather
        # than leave the sockets to the garbage collector (a ResourceWarning each).
        self._closer = weakref.finalize(self, self._client.close)

    def close(self) -> None:
        """Close the pooled connections now (also done when the client is collected)."""
        self._closer()

    def request(
        self,
        method: str,
        path: str,
        *,
        changes_state: bool,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The answer, whatever its status, once a 401 has been retried with a new token.

        ``changes_state``: whether the server acting on a request whose answer was lost
        would matter (a send), which turns such a loss into :class:`OutcomeUnknown`.
        """
        headers = {"Content-Type": content_type} if content_type else {}
        call = {"json": json, "content": content, "params": params}
        token = self.tokens.access_token()
        response = self._send(method, path, token, changes_state, headers, call)
        if response.status_code == 401:
            token = self.tokens.refresh()
            response = self._send(method, path, token, changes_state, headers, call)
        return response

    def _send(
        self,
        method: str,
        path: str,
        token: str,
        changes_state: bool,
        headers: dict[str, str],
        call: dict[str, Any],
    ) -> httpx.Response:
        body_sent = False

        def trace(event: str, info: dict[str, Any]) -> None:
            nonlocal body_sent
            if _BODY_SENT.match(event):
                body_sent = True

        try:
            return self._client.request(
                method,
                path,
                headers={**headers, "Authorization": f"Bearer {token}"},
                extensions={"trace": trace},
                **call,
            )
        except httpx.TransportError as exc:
            what = _describe(exc)
            if body_sent and changes_state:
                raise OutcomeUnknown(
                    f"The request reached {self.service} ({self.base_url}), but {what} before "
                    "it answered: it may or may not have been carried out."
                ) from exc
            raise TransientFailure(
                f"No answer from {self.service} ({self.base_url}): {what}."
            ) from exc


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the connection timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"the connection failed ({exc})"
    return f"the connection was lost ({exc or type(exc).__name__})"
