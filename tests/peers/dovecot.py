"""A real Dovecot 2.3 (IMAP, LMTP, SMTP submission) in a temporary directory.

Started on free loopback ports with its own configuration, users (a passwd-file with
plain-text passwords) and mail store; nothing of the system's Dovecot is used or
touched. As root, Dovecot's processes run as ``nobody``; otherwise as the caller.
Submission relays every message to an SMTP peer (the scripted aiosmtpd server).
OAuth2 (XOAUTH2/OAUTHBEARER) logins are checked against a small local stand-in for a
provider's token-info endpoint.

Stop it by its PID (:meth:`Dovecot.stop`), never by name: other test workers run their
own Dovecot at the same time.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import imapclient

from tests.peers.tls import PeerCertificate

DOVECOT_BINARY_CANDIDATES = ("/usr/sbin/dovecot", "dovecot")
INSTALL_HINT = (
    "Dovecot 2.3 is needed for the IMAP tests: install it with "
    "`sudo apt-get install dovecot-imapd dovecot-lmtpd dovecot-submissiond` "
    "(or run scripts/ensure-peers.sh as root)."
)


def find_dovecot() -> str | None:
    for candidate in DOVECOT_BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def dovecot_version(binary: str) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def free_ports(count: int) -> list[int]:
    """Ports the kernel reports free; all are held open until every one is chosen, so the
    same port is never returned twice."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process exited with status {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on 127.0.0.1:{port} after {timeout} s"
                ) from None
            time.sleep(0.02)


class TokenInfoServer:
    """Answers ``GET /tokeninfo?access_token=T`` with ``{"email": ...}`` for known tokens
    (what Dovecot's oauth2 passdb asks a provider), 401 for the rest."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = parse_qs(urlparse(self.path).query).get("access_token", [""])[0]
                email = peer.tokens.get(token)
                body = json.dumps({"email": email} if email else {"error": "invalid_token"})
                self.send_response(200 if email else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> TokenInfoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _config(
    root: Path,
    *,
    run_as: str,
    run_group: str,
    imap_port: int,
    imaps_port: int,
    tls: str,
    lmtp_port: int,
    submission_port: int,
    relay_port: int,
    tokeninfo_port: int,
    connections: int,
) -> str:
    # Enough for ``connections`` IMAP clients at once (one IDLE connection per mailbox,
    # and a few more that read): logins are handled by a few long-lived imap-login
    # processes (service_count = 0), and each imap process serves many clients, so a
    # thousand idle clients cost tens of processes, not a thousand.
    clients = max(connections * 2, 1000)
    imap_processes = max(connections // 50, 10)
    # Dovecot 2.3 syntax (2.4 differs). Every "{" ends its line: 2.3 rejects one-line
    # blocks. Plain-text authentication without TLS is allowed: loopback only.
    return f"""\
# Generated for one test session; see tests/peers/dovecot.py.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap lmtp submission
listen = 127.0.0.1
{tls}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login xoauth2 oauthbearer
default_internal_user = {run_as}
default_internal_group = {run_group}
default_login_user = {run_as}
mail_location = maildir:~/Maildir
hostname = mail.example.test
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
submission_relay_trusted = yes
# No statistics: login processes would otherwise wait up to 5 s for the stats service
# handshake, which makes a quick stop slow.
stats_writer_socket_path =
default_client_limit = {clients}
default_process_limit = {max(imap_processes * 2, 100)}
mail_max_userip_connections = 20

namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox "Sent Items" {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}

service imap-login {{
  chroot =
  service_count = 0
  process_min_avail = 2
  client_limit = {clients}
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service imap {{
  service_count = 0
  process_min_avail = {imap_processes}
  process_limit = {imap_processes}
  client_limit = {max(clients // imap_processes, 1)}
}}
service submission-login {{
  chroot =
  inet_listener submission {{
    port = {submission_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service anvil {{
  chroot =
  # Without this socket the auth process applies no "auth penalty": tests that try a
  # wrong password on purpose must not slow every later login from 127.0.0.1.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol lmtp {{
  auth_username_format = %u
}}
"""


class Dovecot:
    """One Dovecot master process and everything it needs, under ``root``."""

    def __init__(
        self,
        *,
        users: dict[str, str],
        relay_port: int,
        tokens: dict[str, str] | None = None,
        binary: str | None = None,
        connections: int = 100,
        certificate: PeerCertificate | None = None,
    ) -> None:
        self.connections = connections
        self.binary = binary or find_dovecot() or "/usr/sbin/dovecot"
        self.users = dict(users)
        self.relay_port = relay_port
        self.root = Path(tempfile.mkdtemp(prefix="sequencer-dovecot-"))
        self.imap_port, self.lmtp_port, self.submission_port, tls_port = free_ports(4)
        # With a certificate: STARTTLS on the IMAP port, and implicit TLS on this one.
        self.certificate = certificate
        self.imaps_port = tls_port if certificate is not None else 0
        self.tokeninfo = TokenInfoServer(dict(tokens or {}))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _identity(self) -> tuple[str, str, int, int]:
        if os.geteuid() == 0:
            # Root: run Dovecot's workers, and own the mail, as an unprivileged account.
            user = pwd.getpwnam("nobody")
            group = grp.getgrgid(user.pw_gid)
            return user.pw_name, group.gr_name, user.pw_uid, user.pw_gid
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, grp.getgrgid(os.getegid()).gr_name, os.geteuid(), os.getegid()

    def _tls(self) -> str:
        if self.certificate is None:
            return "ssl = no"
        return (
            f"ssl = yes\nssl_cert = <{self.certificate.cert_file}\n"
            f"ssl_key = <{self.certificate.key_file}"
        )

    def start(self, timeout: float = 10.0) -> Dovecot:
        name, group, uid, gid = self._identity()
        # Dovecot's processes must reach the configuration and the homes below.
        self.root.chmod(0o755)
        home_root = self.root / "home"
        home_root.mkdir(mode=0o755)
        lines = []
        for user, password in self.users.items():
            home = home_root / user
            home.mkdir(mode=0o700)
            os.chown(home, uid, gid)
            lines.append(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{home}")
        (self.root / "users").write_text("\n".join(lines) + "\n")
        self.tokeninfo.start()
        (self.root / "oauth2.conf.ext").write_text(
            f"tokeninfo_url = http://127.0.0.1:{self.tokeninfo.port}/tokeninfo?access_token=\n"
            "username_attribute = email\n"
        )
        (self.root / "dovecot.conf").write_text(
            _config(
                self.root,
                run_as=name,
                run_group=group,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                tls=self._tls(),
                lmtp_port=self.lmtp_port,
                submission_port=self.submission_port,
                relay_port=self.relay_port,
                tokeninfo_port=self.tokeninfo.port,
                connections=self.connections,
            )
        )
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            ports = (self.imap_port, self.lmtp_port, self.submission_port, self.imaps_port)
            for port in [p for p in ports if p]:
                wait_for_port(port, timeout, self._process)
        except (RuntimeError, TimeoutError) as exc:
            detail = self.log()
            if self._process.poll() is not None and self._process.stderr is not None:
                detail += self._process.stderr.read().decode(errors="replace")
            self.stop()
            raise RuntimeError(f"Dovecot did not start: {exc}\n{detail}") from exc
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # SIGTERM to the master stops all its children
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        self.tokeninfo.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- helpers for tests -----------------------------------------------------------

    @contextmanager
    def imap(self, user: str) -> Iterator[imapclient.IMAPClient]:
        """An IMAP session logged in as ``user``."""
        client = imapclient.IMAPClient(self.host, self.imap_port, ssl=False, timeout=5)
        try:
            client.login(user, self.users[user])
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def deliver(self, recipient: str, data: bytes, sender: str = "someone@else.test") -> None:
        """Put ``data`` into ``recipient``'s INBOX through LMTP (RFC 2033), as an MTA would."""
        # local_hostname: smtplib would otherwise look up this host's FQDN (slow in DNS-less
        # containers).
        with smtplib.LMTP(self.host, self.lmtp_port, local_hostname="localhost", timeout=5) as lmtp:
            lmtp.sendmail(sender, [recipient], data)

    def messages(self, user: str, folder: str) -> list[bytes]:
        """The raw messages in ``user``'s ``folder``, oldest first."""
        with self.imap(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]
