"""A real local Gmail API and Microsoft Graph: the ``@inbox-zero/emulate`` npm package.

It is installed from the npm registry into ``tests/peers/node_modules`` (the exact version
is pinned in ``tests/peers/package.json`` and ``package-lock.json``; ``scripts/ensure-peers.sh``
runs ``npm ci``). One process per pytest process (so per xdist worker) serves Google on
one free loopback port and Microsoft on another, seeded with the user
``alice@example.test`` at both and an OAuth client for each. A preload script
(``loopback-only.cjs``) makes it listen on 127.0.0.1 only. It is stopped by its PID.

What it does, and what it lacks, as far as these tests rely on it:

* Gmail ``messages.send`` keeps the raw message byte for byte and honours ``threadId``;
  ``messages.get`` returns it (``format=raw``) and its headers (``format=metadata``).
* Google and Microsoft OAuth (consent page, code with PKCE, refresh, userinfo, Graph
  ``/me``) behave like the real services, including refusing a wrong PKCE verifier.
* Graph ``createReply`` -> PATCH -> ``send`` works and keeps the ``conversationId``.
* It accepts **any** bearer token as the first seeded user (it never answers 401 to a
  bad token), answers no 429 and no ``Retry-After``, and never drops a connection:
  :class:`tests.peers.fault_proxy.FaultProxy` stands in front of it for those.
* Its ``rfc822msgid:`` search never matches (it compares with the colon left on), it
  has no ``users/me/profile``, Graph ``sendMail`` in MIME stores an empty message (it
  parses only JSON), ``$filter`` ignores ``internetMessageId``, and PATCH ignores a new
  ``internetMessageId``. ``test_emulator_peer.py`` asserts each gap, so that an upgrade
  that closes one shows which stand-in to drop. ``tests/peers/gmail_search.py`` answers
  the ``rfc822msgid:`` search from the emulator's own messages.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.peers.dovecot import free_ports, wait_for_port

PEERS_DIR = Path(__file__).resolve().parent
EMULATE = PEERS_DIR / "node_modules" / ".bin" / "emulate"
LOOPBACK_ONLY = PEERS_DIR / "loopback-only.cjs"
INSTALL_HINT = (
    "The Gmail/Graph emulator is needed for these tests: install Node.js and npm "
    "(`sudo apt-get install nodejs npm`), then run `bash scripts/ensure-peers.sh` "
    "(it runs `npm ci` in tests/peers)."
)

ALICE = "alice@example.test"
ALICE_TOKEN = "ya29.alice-emulator"
# The callback URL of a Django test client with SEQUENCER_BASE_URL=http://testserver.
REDIRECT_URI = "http://testserver/mailboxes/oauth/callback/"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str


GOOGLE_CLIENT = OAuthClient("sequencer-tests.apps.googleusercontent.com", "google-test-secret")
MICROSOFT_CLIENT = OAuthClient("sequencer-tests-microsoft", "microsoft-test-secret")


def emulator_missing() -> str | None:
    """Why the emulator cannot run here (with how to fix it), or None."""
    if shutil.which("node") is None:
        return INSTALL_HINT
    if not EMULATE.exists():
        return INSTALL_HINT
    return None


class _Forms(HTMLParser):
    """The forms of a page: (action, {hidden field: value}), enough to click a button."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("type") == "hidden":
            self.forms[-1][1][values.get("name", "")] = values.get("value", "")


class ApiEmulator:
    def __init__(self, root: Path, *, users: tuple[str, ...] = (ALICE,)) -> None:
        self.root = root
        self.users = users
        self.google_port, self.microsoft_port = free_ports(2)
        self._process: subprocess.Popen[bytes] | None = None
        self._log = root / "emulate.log"
        # One client for every helper: creating one costs tens of milliseconds.
        self._http = httpx.Client(timeout=5)

    @property
    def google_url(self) -> str:
        return f"http://127.0.0.1:{self.google_port}"

    @property
    def microsoft_url(self) -> str:
        return f"http://127.0.0.1:{self.microsoft_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _seed(self) -> dict[str, Any]:
        people = [{"email": user, "name": user.split("@")[0].title()} for user in self.users]

        def client(app: OAuthClient) -> dict[str, Any]:
            return {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "name": "Sequencer tests",
                "redirect_uris": [REDIRECT_URI],
            }

        return {
            "tokens": {ALICE_TOKEN: {"login": ALICE}},
            "google": {
                "port": self.google_port,
                "users": people,
                "oauth_clients": [client(GOOGLE_CLIENT)],
            },
            "microsoft": {
                "port": self.microsoft_port,
                "users": people,
                "oauth_clients": [client(MICROSOFT_CLIENT)],
            },
        }

    def start(self, timeout: float = 20.0) -> ApiEmulator:
        seed = self.root / "seed.json"
        seed.write_text(json.dumps(self._seed(), indent=2))
        env = {**os.environ, "NODE_OPTIONS": f"--require {LOOPBACK_ONLY}", "NO_COLOR": "1"}
        log = self._log.open("wb")
        # cwd: the emulator also reads an emulate.config.* it finds there; the empty
        # directory has none.
        self._process = subprocess.Popen(
            [str(EMULATE), "start", "--service", "google,microsoft", "--seed", str(seed)],
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            for port in (self.google_port, self.microsoft_port):
                wait_for_port(port, timeout, self._process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"the API emulator did not start: {exc}\n{self.log()}") from exc
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._http.close()

    def __enter__(self) -> ApiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    # -- reading what it received ------------------------------------------------------

    def _get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        response = self._http.get(
            url, params=params, headers={"Authorization": f"Bearer {ALICE_TOKEN}"}
        )
        response.raise_for_status()
        return response.json()

    def gmail_sent(self) -> list[dict[str, Any]]:
        """Alice's Gmail messages labelled SENT, newest first (``id``, ``threadId``)."""
        found = self._get(
            f"{self.google_url}/gmail/v1/users/me/messages",
            {"labelIds": "SENT", "maxResults": 500},
        )
        return list(found.get("messages") or [])

    def gmail_raw(self, message_id: str) -> bytes:
        """The exact bytes Gmail stored for one of Alice's messages."""
        found = self._get(
            f"{self.google_url}/gmail/v1/users/me/messages/{message_id}", {"format": "raw"}
        )
        raw = str(found["raw"])
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))

    def gmail_thread(self, thread_id: str) -> list[str]:
        """The ids of the messages in one of Alice's Gmail threads."""
        found = self._get(f"{self.google_url}/gmail/v1/users/me/threads/{thread_id}")
        return [m["id"] for m in found.get("messages") or []]

    def graph_sent(self) -> list[dict[str, Any]]:
        """Alice's Microsoft Sent Items (Graph message resources)."""
        found = self._get(
            f"{self.microsoft_url}/v1.0/me/mailFolders/sentitems/messages", {"$top": 1000}
        )
        return list(found.get("value") or [])

    def graph_message(self, message_id: str) -> dict[str, Any]:
        return dict(self._get(f"{self.microsoft_url}/v1.0/me/messages/{message_id}"))

    def graph_attachments(self, message_id: str) -> list[dict[str, Any]]:
        found = self._get(f"{self.microsoft_url}/v1.0/me/messages/{message_id}/attachments")
        return list(found.get("value") or [])

    # -- acting as the person at the consent page ----------------------------------------

    def sign_in(self, authorize_url: str, email: str = ALICE) -> str:
        """Open the consent page at ``authorize_url`` and choose ``email``, as a person
        would; returns the URL the provider then redirects the browser to."""
        page = self._http.get(authorize_url)
        if page.status_code != 200:
            raise AssertionError(f"consent page {page.status_code}: {page.text[:500]}")
        forms = _Forms()
        forms.feed(page.text)
        for action, fields in forms.forms:
            if fields.get("email") == email:
                answer = self._http.post(urljoin(str(page.url), action), data=fields)
                if answer.status_code != 302:
                    raise AssertionError(f"consent {answer.status_code}: {answer.text[:500]}")
                return str(answer.headers["Location"])
        raise AssertionError(f"the consent page offers no account {email}")

    def issue_tokens(self, provider: str, scope: str = "openid email") -> dict[str, Any]:
        """Tokens for Alice from a complete code flow (no PKCE), for tests that need a
        real refresh token without going through the web views."""
        if provider == "gmail":
            base, client, authorize, token = (
                self.google_url,
                GOOGLE_CLIENT,
                "/o/oauth2/v2/auth",
                "/oauth2/token",
            )
        else:
            base, client, authorize, token = (
                self.microsoft_url,
                MICROSOFT_CLIENT,
                "/oauth2/v2.0/authorize",
                "/oauth2/v2.0/token",
            )
        query = httpx.QueryParams(
            {
                "client_id": client.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": scope,
            }
        )
        redirected = httpx.URL(self.sign_in(f"{base}{authorize}?{query}"))
        answer = self._http.post(
            f"{base}{token}",
            data={
                "grant_type": "authorization_code",
                "code": redirected.params["code"],
                "redirect_uri": REDIRECT_URI,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
        )
        answer.raise_for_status()
        return dict(answer.json())
