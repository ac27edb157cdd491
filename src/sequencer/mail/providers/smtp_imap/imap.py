"""The mailbox's IMAP side: a session, the Sent folder, filing a copy and finding one."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SENT

from sequencer import netguard
from sequencer.mail.providers.errors import MailboxFailure, ProviderError
from sequencer.mail.providers.smtp_imap.connection import Account, network_error


def imap_error_text(exc: BaseException) -> str:
    text = str(exc)
    # imapclient puts the server's bytes in the message: "b'[AUTHENTICATIONFAILED] ...'".
    match = re.fullmatch(r"b(['\"])(.*)\1", text)
    return match.group(2) if match else text


class ImapFolders:
    """One mailbox's folders over IMAP (RFC 9051)."""

    def __init__(self, account: Account, *, sent_folder: str) -> None:
        self.account = account
        self.sent_folder = sent_folder

    def error(self, exc: BaseException) -> ProviderError:
        return network_error(exc, self.account.server, "IMAP", self.account.timeout)

    @contextlib.contextmanager
    def session(self) -> Iterator[imapclient.IMAPClient]:
        """A signed-in session, logged out afterwards whatever happens."""
        account, server = self.account, self.account.server
        if reason := netguard.refusal(server.host, server.port):
            raise MailboxFailure(reason, problem="connection")
        try:
            client = imapclient.IMAPClient(
                server.host,
                server.port,
                ssl=server.security == "tls",
                ssl_context=account.tls() if server.security == "tls" else None,
                timeout=account.timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise self.error(exc) from exc
        try:
            self._login(client)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()
            with contextlib.suppress(Exception):
                client.shutdown()

    def _login(self, client: imapclient.IMAPClient) -> None:
        account, server = self.account, self.account.server
        try:
            if server.security == "starttls":
                client.starttls(account.tls())
            if account.access_token:
                client.oauth2_login(account.user, account.access_token)
            elif server.password:
                client.login(account.user, server.password)
            else:
                raise MailboxFailure(
                    f"IMAP login failed at {server.address}: no username and password "
                    "(or OAuth token) is configured for IMAP.",
                    problem="auth",
                )
        except LoginError as exc:
            raise MailboxFailure(
                f"IMAP login failed for user {account.user!r} at {server.address}: "
                f"{imap_error_text(exc)}",
                problem="auth",
            ) from exc
        except (OSError, IMAPClientAbortError) as exc:
            raise self.error(exc) from exc

    def discover_sent_folder(self, client: imapclient.IMAPClient) -> str | None:
        # The \Sent attribute (RFC 6154 §2) is authoritative; then the folder already
        # configured; then the names clients commonly use.
        for flags, _, name in client.list_folders():
            if SENT in flags:
                return str(name)
        if client.folder_exists(self.sent_folder):
            return self.sent_folder
        found = client.find_special_folder(SENT)
        return str(found) if found else None

    def append_sent(self, data: bytes, when: datetime | None) -> None:
        """File ``data`` in the Sent folder, flagged ``\\Seen`` (RFC 9051 §6.3.12)."""
        with self.session() as client:
            try:
                client.append(self.sent_folder, data, flags=[imapclient.SEEN], msg_time=when)
            except IMAPClientError as exc:
                # [TRYCREATE] means the folder does not exist yet; a mail client creates
                # it and appends again.
                if "TRYCREATE" not in str(exc).upper():
                    raise
                client.create_folder(self.sent_folder)
                client.append(self.sent_folder, data, flags=[imapclient.SEEN], msg_time=when)

    def holds_sent(self, message_id: str) -> bool:
        """Whether the Sent folder holds ``message_id``."""
        wanted = message_id.strip()
        if not wanted.startswith("<"):
            wanted = f"<{wanted}>"
        try:
            with self.session() as client:
                folder = self.sent_folder
                if not client.folder_exists(folder):
                    found = self.discover_sent_folder(client)
                    if found is None:
                        return False
                    folder = found
                client.select_folder(folder, readonly=True)
                # SEARCH HEADER matches a substring of the field (RFC 9051 §6.4.4); the
                # angle brackets keep one id from matching inside another.
                return bool(client.search(["HEADER", "Message-ID", wanted]))
        except ProviderError:
            raise
        except (OSError, IMAPClientError) as exc:
            raise self.error(exc) from exc
