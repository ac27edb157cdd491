"""Connecting Gmail and Microsoft 365 mailboxes with OAuth 2.0, and keeping them connected.

A member signs in at Google or Microsoft through the authorization-code grant (RFC 6749
§4.1) with PKCE (RFC 7636, method S256), so an intercepted code is useless without the
verifier that only this server holds. The ``state`` parameter is signed with the
server's secret and names the member who started the flow; the web view also keeps its
nonce in that member's session and accepts it once.

The endpoints are read from each provider's OpenID Connect discovery document rather than
written down here: Google's consent page and token endpoint live on different hosts, and a
test can point the whole flow at a local emulator by changing one base URL.

Access tokens last about an hour. :class:`MailboxTokens` renews one when it expires within
:data:`REFRESH_MARGIN`, or when an API refused it, and stores the new tokens on the mailbox
(encrypted at rest by its field). A refresh token the provider no longer accepts
(``invalid_grant``: revoked, expired, password changed) means a person has to sign in
again: :class:`~sequencer.mail.providers.errors.MailboxFailure` with problem ``auth``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError as AuthlibOAuthError
from django.conf import settings
from django.core import signing
from django.db import transaction

from sequencer.clock import Clock
from sequencer.mail.models import Mailbox, Provider
from sequencer.mail.providers.errors import MailboxFailure, TransientFailure

with warnings.catch_warnings():
    # authlib 1.9 warns on import that it will move from httpx to its httpx2 fork. The
    # httpx it uses today is the one the rest of Sequencer locks, and it works: without
    # this, every command that loads the mail code (`sequencer doctor`...) prints it.
    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", category=AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import OAuth2Client

# Renew a token this long before it expires, so that it cannot expire during a request.
REFRESH_MARGIN = timedelta(seconds=60)
# How long a member may take on the provider's consent page.
STATE_MAX_AGE_SECONDS = 600
HTTP_TIMEOUT = 15.0

GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
# gmail.readonly is asked for now so that reply detection (mailbox sync) needs no second
# consent later; openid + email tell who signed in.
# Calendar read access lets "meeting booked" be noticed from the sender's calendar.
GOOGLE_CALENDAR_READ = "https://www.googleapis.com/auth/calendar.events.readonly"
GOOGLE_SCOPES = ("openid", "email", GMAIL_SEND, GMAIL_READONLY, GOOGLE_CALENDAR_READ)
# offline_access is what makes Microsoft issue a refresh token; short scope names mean
# Microsoft Graph's.
MICROSOFT_SCOPES = (
    "offline_access",
    "Mail.Send",
    "Mail.ReadWrite",
    "User.Read",
    "Calendars.Read",
)

_STATE_SALT = "sequencer.mail.oauth.state"


class OAuthError(Exception):
    """The provider or the configuration refused the flow; ``message`` is for people."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error  # the OAuth error code (RFC 6749 §5.2), when the provider gave one


@dataclass(frozen=True)
class OAuthApp:
    """The operator's app registration at one provider."""

    provider: str
    label: str
    client_id: str
    client_secret: str
    discovery_url: str
    scopes: tuple[str, ...]
    # Extra parameters of the consent request (Google issues a refresh token only with
    # access_type=offline, and again on a reconnect only with prompt=consent).
    consent_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str | None


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    code_verifier: str  # kept by the server until the callback (the session)


@dataclass(frozen=True)
class Grant:
    """What a completed sign-in yields: who signed in, and their tokens."""

    email: str
    display_name: str
    tokens: dict[str, Any]


def app_for(provider: str) -> OAuthApp:
    """The app registration for ``provider``; :class:`OAuthError` when there is none."""
    if provider == Provider.GMAIL:
        app = OAuthApp(
            provider=Provider.GMAIL,
            label="Google",
            client_id=settings.GOOGLE_CLIENT_ID,
            client_secret=settings.GOOGLE_CLIENT_SECRET,
            discovery_url=f"{settings.GOOGLE_OAUTH_URL.rstrip('/')}"
            "/.well-known/openid-configuration",
            scopes=GOOGLE_SCOPES,
            consent_params={
                "access_type": "offline",
                "prompt": "consent",
                "include_granted_scopes": "true",
            },
        )
        variables = "SEQUENCER_GOOGLE_CLIENT_ID and SEQUENCER_GOOGLE_CLIENT_SECRET"
    elif provider == Provider.MICROSOFT:
        app = OAuthApp(
            provider=Provider.MICROSOFT,
            label="Microsoft",
            client_id=settings.MICROSOFT_CLIENT_ID,
            client_secret=settings.MICROSOFT_CLIENT_SECRET,
            discovery_url=f"{settings.MICROSOFT_LOGIN_URL.rstrip('/')}/"
            f"{settings.MICROSOFT_TENANT}/v2.0/.well-known/openid-configuration",
            scopes=MICROSOFT_SCOPES,
            consent_params={"response_mode": "query", "prompt": "select_account"},
        )
        variables = "SEQUENCER_MICROSOFT_CLIENT_ID and SEQUENCER_MICROSOFT_CLIENT_SECRET"
    else:
        raise OAuthError(f"{provider!r} mailboxes are not connected with OAuth.")
    if not app.client_id:
        raise OAuthError(
            f"Signing in with {app.label} is not set up on this server: the administrator "
            f"must register an OAuth app and set {variables}."
        )
    return app


# -- talking to the provider ------------------------------------------------------------
#
# authlib's httpx client does the protocol: PKCE (RFC 7636), the code exchange and the
# refresh (RFC 6749 §4.1.3 and §6), client authentication in the body (client_secret_post,
# as both providers document). What stays here is what is ours: which failure is a
# person's to fix and which is worth a retry, and how tokens are stored.


def _client(app: OAuthApp, *, scope: str | None = None) -> OAuth2Client:
    client = OAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
        scope=scope,
        timeout=HTTP_TIMEOUT,
    )
    for hook in ("access_token_response", "refresh_token_response"):
        client.register_compliance_hook(hook, _retry_later_on_overload)
    return client


def _retry_later_on_overload(response: httpx.Response) -> httpx.Response:
    # Runs before authlib reads the answer: an overloaded or failing token endpoint is
    # worth a retry, not a new sign-in.
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientFailure(
            f"The sign-in service is unavailable ({response.status_code}); try again later."
        )
    return response


def _token_request(what: str, request: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    """Run one token endpoint request, with its failures in our terms."""
    try:
        body = request()
    except httpx.TransportError as exc:
        raise TransientFailure(f"Could not reach {what}: {exc}") from exc
    except AuthlibOAuthError as exc:
        code = str(exc.error)
        raise OAuthError(
            f"{what} refused the request: {code}: {exc.description or code}", error=code
        ) from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        raise OAuthError(
            f"{what} refused the request: {status}: {exc.response.reason_phrase}",
            error=str(status),
        ) from None
    except ValueError:
        raise OAuthError(f"{what} answered with something other than a JSON object.") from None
    if not body.get("access_token"):
        raise OAuthError(f"{what} answered without an access token.")
    return body


def _get_json(url: str, what: str, client: httpx.Client | None = None) -> dict[str, Any]:
    try:
        response = (client or httpx).get(url, timeout=HTTP_TIMEOUT)
    except httpx.TransportError as exc:
        raise TransientFailure(f"Could not reach {what} ({url}): {exc}") from exc
    if response.status_code != 200:
        raise OAuthError(f"{what} answered {response.status_code} for {url}.")
    try:
        body = response.json()
    except ValueError:
        raise OAuthError(f"{what} answered with something other than JSON ({url}).") from None
    if not isinstance(body, dict):
        raise OAuthError(f"{what} answered with unexpected JSON ({url}).")
    return body


@lru_cache(maxsize=8)
def _endpoints(discovery_url: str) -> Endpoints:
    # Cached for the life of the process: the documents change very rarely, and a failed
    # fetch raises, so it is not cached.
    document = _get_json(discovery_url, "The sign-in service's discovery document")
    try:
        return Endpoints(
            authorization=str(document["authorization_endpoint"]),
            token=str(document["token_endpoint"]),
            userinfo=document.get("userinfo_endpoint"),
        )
    except KeyError as exc:
        raise OAuthError(f"The discovery document {discovery_url} lacks {exc}.") from None


def endpoints(app: OAuthApp) -> Endpoints:
    return _endpoints(app.discovery_url)


# -- the authorization-code flow ----------------------------------------------------------


def sign_state(user_id: int, provider: str, nonce: str) -> str:
    """The ``state`` parameter: who started which flow, signed and timestamped."""
    return signing.dumps({"u": user_id, "p": provider, "n": nonce}, salt=_STATE_SALT)


def read_state(state: str) -> dict[str, Any]:
    """The signed content of ``state``; :class:`OAuthError` if forged or too old."""
    try:
        value = signing.loads(state, salt=_STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise OAuthError(
            "The sign-in took longer than 10 minutes; start connecting the mailbox again."
        ) from None
    except signing.BadSignature:
        raise OAuthError(
            "The sign-in answer does not belong to a sign-in started here; start connecting "
            "the mailbox again."
        ) from None
    if not isinstance(value, dict) or not {"u", "p", "n"} <= set(value):
        raise OAuthError("The sign-in answer is malformed; start connecting the mailbox again.")
    return value


def authorization_request(
    provider: str, *, redirect_uri: str, state: str, login_hint: str | None = None
) -> AuthorizationRequest:
    """Where to send the member's browser to consent."""
    app = app_for(provider)
    # 86 characters, within RFC 7636 §4.1's 43 to 128.
    verifier = generate_token(86)
    with _client(app, scope=" ".join(app.scopes)) as client:
        url, _ = client.create_authorization_url(
            endpoints(app).authorization,
            state=state,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            login_hint=login_hint,
            **app.consent_params,
        )
    return AuthorizationRequest(url=url, code_verifier=verifier)


def _tokens_from(
    body: Mapping[str, Any], clock: Clock, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    try:
        lifetime = timedelta(seconds=int(float(body.get("expires_in", ""))))
    except (TypeError, ValueError):
        lifetime = None  # unknown: kept until an API refuses it, then renewed
    expires_at = (clock.now() + lifetime).isoformat() if lifetime is not None else None
    previous = previous or {}
    return {
        "access_token": body["access_token"],
        # Google returns a refresh token only on the first consent; Microsoft returns a
        # new one on every refresh. Keep the old one when none came.
        "refresh_token": body.get("refresh_token") or previous.get("refresh_token"),
        "expires_at": expires_at,
        "scope": body.get("scope") or previous.get("scope"),
    }


def _identity(app: OAuthApp, client: OAuth2Client) -> tuple[str, str]:
    """(email, display name) of the account that signed in, asked of the provider."""
    if app.provider == Provider.MICROSOFT:
        me = _get_json(f"{settings.GRAPH_API_URL.rstrip('/')}/v1.0/me", "Microsoft Graph", client)
        # ``mail`` is the address mail is sent from; accounts without a mailbox lack it.
        email = me.get("mail") or me.get("userPrincipalName") or ""
        return str(email), str(me.get("displayName") or "")
    userinfo = endpoints(app).userinfo
    if not userinfo:
        raise OAuthError(f"{app.label}'s discovery document names no userinfo endpoint.")
    claims = _get_json(userinfo, f"{app.label}'s userinfo endpoint", client)
    if claims.get("email_verified") is False:
        raise OAuthError(f"{app.label} has not verified the address {claims.get('email')}.")
    return str(claims.get("email") or ""), str(claims.get("name") or "")


def exchange_code(
    provider: str,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    clock: Clock,
) -> Grant:
    """Trade the authorization code for tokens, and learn whose mailbox they open."""
    app = app_for(provider)
    token_url = endpoints(app).token
    with _client(app) as client:
        body = _token_request(
            f"{app.label}'s token endpoint",
            lambda: client.fetch_token(
                token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            ),
        )
        tokens = _tokens_from(body, clock)
        if not tokens["refresh_token"]:
            raise OAuthError(
                f"{app.label} did not grant offline access (no refresh token), so the mailbox "
                "would stop working within an hour. Connect it again and accept every "
                "permission."
            )
        # The client now holds the new access token and sends it as a Bearer token.
        email, name = _identity(app, client)
    if not email:
        raise OAuthError(f"{app.label} did not say which address signed in.")
    return Grant(email=email.lower(), display_name=name, tokens=tokens)


def refresh_tokens(provider: str, tokens: Mapping[str, Any], *, clock: Clock) -> dict[str, Any]:
    """New tokens from the refresh token in ``tokens``."""
    app = app_for(provider)
    refresh_token = tokens.get("refresh_token")
    if not refresh_token:
        raise OAuthError("The mailbox has no refresh token.", error="invalid_grant")
    scope = None
    if app.provider == Provider.MICROSOFT:
        # Microsoft's v2 endpoint wants the scopes again, the same or fewer than were
        # granted: ask for what this mailbox was granted, so a mailbox connected before a
        # scope was added keeps refreshing (and sending) until its owner reconnects.
        granted = str(tokens.get("scope") or "").split()
        wanted = [s for s in app.scopes if not granted or s in granted]
        scope = " ".join(wanted or app.scopes)
    token_url = endpoints(app).token
    with _client(app, scope=scope) as client:
        body = _token_request(
            f"{app.label}'s token endpoint",
            lambda: client.refresh_token(token_url, refresh_token=str(refresh_token)),
        )
    return _tokens_from(body, clock, previous=tokens)


def expires_soon(tokens: Mapping[str, Any], now: datetime) -> bool:
    """Whether the access token expires within :data:`REFRESH_MARGIN` (unknown: no)."""
    value = tokens.get("expires_at")
    if not value:
        return False
    try:
        expires_at = datetime.fromisoformat(str(value))
    except ValueError:
        return True  # unreadable: renewing costs one request, a dead token a failed send
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at - now <= REFRESH_MARGIN


class MailboxTokens:
    """The :class:`~sequencer.mail.providers.api.TokenSource` of a saved mailbox.

    Renewing happens under a row lock on the mailbox: several workers may find the same
    token about to expire, and Microsoft replaces the refresh token on every renewal, so
    the second worker must use the first one's result instead of renewing again.
    """

    def __init__(self, mailbox: Mailbox, *, clock: Clock) -> None:
        self.mailbox = mailbox
        self.clock = clock

    def access_token(self) -> str:
        tokens = self._tokens()
        if expires_soon(tokens, self.clock.now()):
            return self._renew(refused=None)
        return str(tokens["access_token"])

    def refresh(self) -> str:
        return self._renew(refused=str(self._tokens()["access_token"]))

    def _tokens(self) -> dict[str, Any]:
        tokens = self.mailbox.oauth_tokens or {}
        if not tokens.get("access_token"):
            raise MailboxFailure(
                f"{self.mailbox.email} is not signed in: connect it again from the Mailboxes page.",
                problem="auth",
            )
        return dict(tokens)

    def _renew(self, refused: str | None) -> str:
        with transaction.atomic():
            locked = Mailbox.objects.select_for_update().get(pk=self.mailbox.pk)
            current = dict(locked.oauth_tokens or {})
            renewed_meanwhile = (
                current.get("access_token") != refused
                if refused is not None
                else not expires_soon(current, self.clock.now())
            )
            if current.get("access_token") and renewed_meanwhile:
                self.mailbox.oauth_tokens = current
                return str(current["access_token"])
            try:
                fresh = refresh_tokens(self.mailbox.provider, current, clock=self.clock)
            except OAuthError as exc:
                if exc.error == "invalid_client":
                    # The server's app registration is wrong, not the member's sign-in.
                    raise MailboxFailure(
                        f"The OAuth app settings of this server are refused ({exc.message}): "
                        "the administrator must check the client id and secret.",
                        problem="auth",
                    ) from exc
                raise MailboxFailure(
                    f"{self.mailbox.email} must be connected again: its sign-in was not "
                    f"renewed ({exc.message}).",
                    problem="auth",
                ) from exc
            locked.oauth_tokens = fresh
            locked.save(update_fields=["oauth_tokens", "updated_at"])
        self.mailbox.oauth_tokens = fresh
        return str(fresh["access_token"])
