"""The IMAP watch client against a real Dovecot: over STARTTLS and implicit TLS, with a
password LOGIN cannot quote, and told of new mail as it arrives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from sequencer.mail.sync.idle_client import Account, IdleClient, IdleError
from tests.peers.dovecot import Dovecot, find_dovecot

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {ALICE: "secret", BOB: "pässwörd"}
T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine in an event loop of its own thread, as the watch loop does: this
    test process may already run one in its main thread (Playwright's, for the browser
    tests), where asyncio.run() is refused."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="module")
def tls_dovecot(smtp_server_session, peer_certificate):
    if find_dovecot() is None:
        pytest.skip("Dovecot is not installed (scripts/ensure-peers.sh)")
    server = Dovecot(
        users=PASSWORDS, relay_port=smtp_server_session.port, certificate=peer_certificate
    ).start()
    try:
        yield server
    finally:
        server.stop()


def told_of_new_mail(dovecot, account, context) -> tuple[bool, bool]:
    """Open, wait in IDLE while a message is delivered; (IDLE offered, told of it)."""

    async def watch() -> tuple[bool, bool]:
        client = IdleClient(account, timeout=5)
        await client.open(context)
        try:
            timer = threading.Timer(0.3, dovecot.deliver, args=(account.username, b"Hi\r\n"))
            timer.start()
            news = await client.idle(10)
            timer.join()
            return client.can_idle, news
        finally:
            await client.close()

    return run(watch)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_the_watch_client_is_told_of_new_mail_over_tls(tls_dovecot, peer_certificate, security):
    port = tls_dovecot.imap_port if security == "starttls" else tls_dovecot.imaps_port
    account = Account("127.0.0.1", port, security, ALICE, PASSWORDS[ALICE])
    assert told_of_new_mail(tls_dovecot, account, peer_certificate.client_context()) == (
        True,
        True,
    )


def test_a_password_outside_ascii_logs_in_with_sasl_plain(tls_dovecot):
    account = Account("127.0.0.1", tls_dovecot.imap_port, "none", BOB, PASSWORDS[BOB])
    assert told_of_new_mail(tls_dovecot, account, None) == (True, True)


def test_an_untrusted_certificate_is_refused(tls_dovecot):
    account = Account("127.0.0.1", tls_dovecot.imaps_port, "tls", ALICE, PASSWORDS[ALICE])
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        run(IdleClient(account, timeout=5).open)


def test_a_wrong_password_says_the_login_failed(tls_dovecot):
    account = Account("127.0.0.1", tls_dovecot.imap_port, "none", ALICE, "wrong")
    with pytest.raises(IdleError, match="LOGIN failed"):
        run(IdleClient(account, timeout=5).open)


@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="Linux's keepalive options")
@pytest.mark.parametrize("security", ["none", "tls"])
def test_a_silent_watch_connection_is_probed_so_a_vanished_server_is_noticed_in_two_minutes(
    tls_dovecot, peer_certificate, security
):
    port = tls_dovecot.imaps_port if security == "tls" else tls_dovecot.imap_port
    account = Account("127.0.0.1", port, security, ALICE, PASSWORDS[ALICE])

    async def options() -> tuple[int, int, int, int]:
        client = IdleClient(account, timeout=5)
        await client.open(peer_certificate.client_context())
        try:
            assert client._writer is not None
            sock = client._writer.get_extra_info("socket")
            return (
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            )
        finally:
            await client.close()

    on, idle, interval, probes = run(options)
    assert on
    # Silent for a minute, then probed; declared gone when the probes go unanswered.
    assert idle <= 60
    assert idle + interval * probes <= 120
