"""pytest fixtures for the real mail peers (loaded from tests/conftest.py).

Session-scoped servers start once per pytest process (so once per xdist worker, each on
its own ports and directories); the function-scoped fixtures hand the same servers to a
test after resetting them, so tests never see each other's mail or scripts.

=======================  ========  =====================================================
fixture                  scope     what
=======================  ========  =====================================================
smtp_server              function  :class:`ScriptedSMTPServer`, emptied and unscripted;
                                   users ``alice``/``secret``, token ``ya29.good`` for
                                   ``alice@example.test``
dovecot                  function  :class:`Dovecot` with users alice, bob, carol (see
                                   ``DOVECOT_USERS``), folders emptied; relays
                                   submission to ``smtp_server``
smtp_delivers_to_dovecot function  ``dovecot``, with ``smtp_server`` delivering mail for
                                   Dovecot's users into their INBOX (LMTP) as it
                                   accepts it
peer_provider            function  factory: an ``SmtpImapProvider`` for alice (SMTP to
                                   ``smtp_server``, IMAP to ``dovecot`` unless
                                   ``imap=False``)
peer_mailbox             function  factory: a saved ``Mailbox`` (DB) wired the same way,
                                   its address marked proven unless ``proven=False``
silent_port              function  a port that accepts TCP connections and never answers
closed_port              function  a port nothing listens on
peer_certificate         session   a throw-away self-signed certificate for 127.0.0.1
tls_smtp_servers         session   (STARTTLS server, implicit-TLS server) using it
webhook_receiver         function  :class:`WebhookReceiver`, an HTTP server on 127.0.0.1
                                   recording the webhooks it gets
=======================  ========  =====================================================

Dovecot fixtures skip with an install hint when Dovecot 2.3 is missing, and fail
instead under ``CI=true``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sequencer.mail.providers.smtp_imap import ServerSettings, SmtpImapProvider
from tests.peers.dovecot import INSTALL_HINT, Dovecot, dovecot_version, find_dovecot
from tests.peers.smtp import ScriptedSMTPServer
from tests.peers.tls import PeerCertificate, make_certificate
from tests.peers.webhook_receiver import WebhookReceiver

SMTP_USERS = {"alice": "secret"}
SMTP_TOKENS = {"ya29.good": "alice@example.test"}
ALICE = "alice@example.test"
DOVECOT_USERS = {
    "alice@example.test": "secret",  # has a folder "Sent"
    "bob@example.test": "bobpass",  # has no sent folder at all
    "carol@example.test": "carolpass",  # has "Sent Items", marked \Sent (SPECIAL-USE)
}
DOVECOT_TOKENS = {"ya29.good": "alice@example.test"}
_DOVECOT_FOLDERS = {
    "alice@example.test": ["Sent"],
    "bob@example.test": [],
    "carol@example.test": ["Sent Items"],
}


def _missing_peer(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and a test peer is missing: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def smtp_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptedSMTPServer]:
    maildir = tmp_path_factory.mktemp("smtp-peer") / "Maildir"
    with ScriptedSMTPServer(users=SMTP_USERS, tokens=SMTP_TOKENS, maildir=maildir) as server:
        yield server


@pytest.fixture
def smtp_server(smtp_server_session: ScriptedSMTPServer) -> ScriptedSMTPServer:
    smtp_server_session.reset()
    return smtp_server_session


@pytest.fixture(scope="session")
def dovecot_session(smtp_server_session: ScriptedSMTPServer) -> Iterator[Dovecot]:
    binary = find_dovecot()
    if binary is None:
        _missing_peer(INSTALL_HINT)
        return
    version = dovecot_version(binary)
    if not version.startswith("2.3"):
        _missing_peer(f"Dovecot {version} found, but the test configuration is for 2.3.")
        return
    server = Dovecot(
        users=DOVECOT_USERS,
        relay_port=smtp_server_session.port,
        tokens=DOVECOT_TOKENS,
        binary=binary,
    )
    server.start()
    try:
        for user, folders in _DOVECOT_FOLDERS.items():
            with server.imap(user) as client:
                for folder in folders:
                    client.create_folder(folder)
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot(dovecot_session: Dovecot, smtp_server: ScriptedSMTPServer) -> Dovecot:
    """Dovecot with every user's folders as at the start: no messages, bob without Sent."""
    for user, folders in _DOVECOT_FOLDERS.items():
        with dovecot_session.imap(user) as client:
            for folder in client.list_folders():
                name = folder[2]
                if name not in ("INBOX", *folders):
                    client.delete_folder(name)
                    continue
                client.select_folder(name)
                uids = client.search("ALL")
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
    return dovecot_session


@pytest.fixture
def smtp_delivers_to_dovecot(smtp_server: ScriptedSMTPServer, dovecot: Dovecot) -> Dovecot:
    """Mail the SMTP peer accepts for alice, bob or carol lands in their Dovecot INBOX
    before the peer answers, as a provider's server delivers mail for its own users."""
    smtp_server.deliver_locally(set(DOVECOT_USERS), dovecot.deliver)
    return dovecot


@pytest.fixture
def peer_provider(
    smtp_server: ScriptedSMTPServer, request: pytest.FixtureRequest
) -> Callable[..., SmtpImapProvider]:
    """``peer_provider(imap=True, password="secret", imap_password="secret", **kwargs)``."""

    def make(
        *,
        imap: bool = True,
        password: str | None = "secret",
        imap_user: str = ALICE,
        imap_password: str | None = None,
        **kwargs: Any,
    ) -> SmtpImapProvider:
        imap_settings = None
        if imap:
            server: Dovecot = request.getfixturevalue("dovecot")
            imap_settings = ServerSettings(
                server.host,
                server.imap_port,
                "none",
                imap_user,
                imap_password if imap_password is not None else DOVECOT_USERS[imap_user],
            )
        kwargs.setdefault("timeout", 5.0)
        return SmtpImapProvider(
            email=ALICE,
            smtp=ServerSettings(
                smtp_server.host, smtp_server.port, "none", "alice" if password else None, password
            ),
            imap=imap_settings,
            **kwargs,
        )

    return make


def mark_address_proven(mailbox: Any) -> Any:
    """Stand in for the owner proving the mailbox's address, for tests about something
    else: recorded as an admin's vouch. Each real proof (OAuth sign-in, the connection
    test's IMAP round trip, the emailed link, the vouch endpoint) has its own tests in
    tests/integration/mail/test_address_proof.py."""
    from sequencer.clock import system_clock
    from sequencer.mail import proof
    from sequencer.mail.models import AddressProof

    return proof.mark_proven(mailbox, AddressProof.ADMIN, system_clock)


@pytest.fixture
def peer_mailbox(
    smtp_server: ScriptedSMTPServer, request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """``peer_mailbox(owner, imap=True, proven=True, **overrides)``: a saved Mailbox for
    alice's peers (needs the database: use in ``django_db`` tests)."""
    from sequencer.mail import mailboxes

    def make(owner: Any, *, imap: bool = True, proven: bool = True, **overrides: Any) -> Any:
        data: dict[str, Any] = {
            "provider": "smtp_imap",
            "email": ALICE,
            "display_name": "Alice",
            "smtp": {
                "host": smtp_server.host,
                "port": smtp_server.port,
                "security": "none",
                "username": "alice",
                "password": "secret",
            },
        }
        if imap:
            server: Dovecot = request.getfixturevalue("dovecot")
            data["imap"] = {
                "host": server.host,
                "port": server.imap_port,
                "security": "none",
                "username": ALICE,
                "password": DOVECOT_USERS[ALICE],
            }
        data.update(overrides)
        mailbox = mailboxes.create_mailbox(owner, mailboxes.NewMailbox.model_validate(data))
        return mark_address_proven(mailbox) if proven else mailbox

    return make


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket that is never accepted: connects succeed, nothing is ever said."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture(scope="session")
def peer_certificate(tmp_path_factory: pytest.TempPathFactory) -> PeerCertificate:
    return make_certificate(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="session")
def tls_smtp_servers(
    peer_certificate: PeerCertificate,
) -> Iterator[tuple[ScriptedSMTPServer, ScriptedSMTPServer]]:
    starttls = ScriptedSMTPServer(
        users=SMTP_USERS, tokens=SMTP_TOKENS, tls_context=peer_certificate.server_context()
    )
    implicit = ScriptedSMTPServer(
        users=SMTP_USERS,
        tokens=SMTP_TOKENS,
        implicit_tls_context=peer_certificate.server_context(),
    )
    with starttls, implicit:
        yield starttls, implicit


# -- Gmail API and Microsoft Graph --------------------------------------------------------
#
# api_emulator           session   :class:`ApiEmulator` (``@inbox-zero/emulate``): Google and
#                                  Graph for alice@example.test; skips with an install
#                                  hint (fails under CI=true) when Node or the package is
#                                  missing
# api_emulator_settings  function  the emulator plus Django settings pointing every
#                                  Google/Microsoft URL and OAuth client at it
# fault_proxy            function  factory: ``fault_proxy(upstream_url)`` -> a started
#                                  :class:`FaultProxy`, stopped after the test

from tests.peers.emulator import (  # noqa: E402
    GOOGLE_CLIENT,
    MICROSOFT_CLIENT,
    ApiEmulator,
    emulator_missing,
)
from tests.peers.fault_proxy import FaultProxy  # noqa: E402


@pytest.fixture(scope="session")
def api_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEmulator]:
    problem = emulator_missing()
    if problem is not None:
        _missing_peer(problem)
        return
    emulator = ApiEmulator(tmp_path_factory.mktemp("api-emulator"))
    try:
        emulator.start()
    except RuntimeError as exc:
        _missing_peer(str(exc))
        return
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def api_emulator_settings(api_emulator: ApiEmulator, settings: Any) -> ApiEmulator:
    settings.BASE_URL = "http://testserver"
    settings.GOOGLE_CLIENT_ID = GOOGLE_CLIENT.client_id
    settings.GOOGLE_CLIENT_SECRET = GOOGLE_CLIENT.client_secret
    settings.MICROSOFT_CLIENT_ID = MICROSOFT_CLIENT.client_id
    settings.MICROSOFT_CLIENT_SECRET = MICROSOFT_CLIENT.client_secret
    settings.MICROSOFT_TENANT = "common"
    settings.GOOGLE_API_URL = api_emulator.google_url
    settings.GOOGLE_OAUTH_URL = api_emulator.google_url
    settings.GRAPH_API_URL = api_emulator.microsoft_url
    settings.MICROSOFT_LOGIN_URL = api_emulator.microsoft_url
    return api_emulator


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxy]]:
    started: list[FaultProxy] = []

    def make(upstream: str) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        started.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in started:
            proxy.stop()


# -- CalDAV ---------------------------------------------------------------------------------
#
# radicale_session       session   :class:`Radicale` (CalDAV) with users alice and bob
#                                  (``RADICALE_USERS``), each with one calendar
# radicale               function  the same server, every user back to one empty calendar

from tests.peers.radicale import Radicale  # noqa: E402

RADICALE_USERS = {"alice": "secret", "bob": "bobpass"}


@pytest.fixture(scope="session")
def radicale_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"), RADICALE_USERS)
    try:
        server.start()
    except RuntimeError as exc:
        _missing_peer(f"{exc} (Radicale is a dev dependency: run `uv sync`).")
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale(radicale_session: Radicale) -> Radicale:
    radicale_session.reset()
    return radicale_session


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
