"""A real CalDAV server for the tests: Radicale, in a temporary directory.

Radicale is a Python package (a dev dependency), so it runs as ``python -m radicale``
with the test interpreter: nothing to install system-wide. Each pytest process (so each
xdist worker) starts its own on a free loopback port, with its own configuration file,
htpasswd users (plain-text passwords) and collection folder; no system or user
configuration is read. ``rights = owner_only``: a user reaches only their own
collections. ``auth.delay = 0``: Radicale otherwise waits about a second after each
refused login (and after the anonymous request a client sends before it authenticates).

Stop it by its PID (:meth:`Radicale.stop`), never by name: other workers run their own.

The helpers write to it with plain HTTP (``PUT``, ``MKCALENDAR``, ``DELETE``), not with
the ``caldav`` library the code under test uses, so a bug there cannot hide itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.peers.dovecot import free_ports, wait_for_port

DEFAULT_CALENDAR = "calendar"

_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {root}/users
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {root}/collections

[web]
type = none

[logging]
level = warning
"""


class Radicale:
    def __init__(self, root: Path, users: dict[str, str]) -> None:
        self.root = root
        self.users = dict(users)
        [self.port] = free_ports(1)
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = root / "radicale.log"
        self._calendars: set[tuple[str, str]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def calendar_url(self, user: str, calendar: str = DEFAULT_CALENDAR) -> str:
        return f"{self.url}{user}/{calendar}/"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> Radicale:
        (self.root / "collections").mkdir(parents=True, exist_ok=True)
        (self.root / "users").write_text(
            "".join(f"{user}:{password}\n" for user, password in self.users.items())
        )
        config = self.root / "config"
        config.write_text(_CONFIG.format(port=self.port, root=self.root))
        log = self._log.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            wait_for_port(self.port, timeout, self._process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"Radicale did not start: {exc}\n{self.log()}") from exc
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

    def __enter__(self) -> Radicale:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    # -- contents ------------------------------------------------------------------------

    def _client(self, user: str) -> httpx.Client:
        return httpx.Client(auth=(user, self.users[user]), timeout=5)

    def make_calendar(self, user: str, calendar: str = DEFAULT_CALENDAR) -> str:
        """Create the calendar collection ``calendar`` of ``user``; its URL."""
        with self._client(user) as client:
            # The first authenticated request creates the user's principal collection.
            client.request("PROPFIND", f"{self.url}{user}/", headers={"Depth": "0"})
            answer = client.request("MKCALENDAR", self.calendar_url(user, calendar))
            if answer.status_code not in (201, 405):  # 405: it exists already
                raise AssertionError(f"MKCALENDAR {answer.status_code}: {answer.text[:300]}")
        self._calendars.add((user, calendar))
        return self.calendar_url(user, calendar)

    def put_event(self, user: str, ics: str, *, name: str, calendar: str = DEFAULT_CALENDAR) -> str:
        """Store one iCalendar object as ``<name>.ics``; its URL."""
        url = f"{self.calendar_url(user, calendar)}{name}.ics"
        with self._client(user) as client:
            answer = client.put(
                url, content=ics.encode(), headers={"Content-Type": "text/calendar"}
            )
        if answer.status_code not in (200, 201, 204):
            raise AssertionError(f"PUT {answer.status_code}: {answer.text[:300]}")
        return url

    def get(self, url: str, user: str) -> str:
        with self._client(user) as client:
            answer = client.get(url)
        answer.raise_for_status()
        return answer.text

    def delete(self, url: str, user: str) -> None:
        with self._client(user) as client:
            client.delete(url)

    def reset(self) -> None:
        """Every user back to one empty calendar named :data:`DEFAULT_CALENDAR`."""
        for user, calendar in list(self._calendars):
            self.delete(self.calendar_url(user, calendar), user)
        self._calendars.clear()
        for user in self.users:
            self.make_calendar(user)
