"""A real SMTP server (aiosmtpd) in its OWN process, filing what it accepts in a Maildir.

For crash tests: the worker under test is killed with SIGKILL, so the server must not
live in a process that dies with it, and what it received must be countable afterwards
from the files alone. Each accepted message is written to the Maildir (``tmp/`` then
renamed into ``new/``, so a file is either complete or absent) *before* the ``250``
reply. The handling of the final "." can be slowed down: ``delay_before_store`` (a
client that dies meanwhile leaves nothing stored: aiosmtpd cancels the handler when the
connection drops) and ``delay_after_store`` (stored, but the client may die before it
hears ``250``). Both make a kill likely to land in the middle of a send; a delay of
seconds makes a slow server that one mailbox's sends wait on.

With ``journal``, the server also writes a line when it starts handling a message's
final "." and one right before it answers ``250``, in the order they happen::

    begin <time.monotonic()> <MAIL FROM> <Message-ID>
    end <time.monotonic()> <MAIL FROM> <Message-ID>

so a test can tell in which order each sender's messages arrived and whether two of
them were ever in flight at once (:meth:`SMTPPeerProcess.journal`).

The server accepts mail without authentication, as a trusted relay would::

    with SMTPPeerProcess(tmp_path / "Maildir", delay_before_store=0.05) as smtp:
        ...  # send to 127.0.0.1:smtp.port
        counts = smtp.message_ids()  # Counter: Message-ID -> copies received

Stop it by its PID (:meth:`SMTPPeerProcess.stop`), never by name.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.peers.smtp import _Controller

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class JournalLine:
    event: str  # "begin" or "end"
    at: float  # time.monotonic() in the server process (the same clock machine-wide)
    sender: str
    message_id: str


class _FilingHandler:
    def __init__(
        self, maildir: mailbox.Maildir, before: float, after: float, journal: Path | None
    ) -> None:
        self.maildir = maildir
        self.before = before
        self.after = after
        self.journal = (
            os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if journal else None
        )

    def _note(self, event: str, envelope: Envelope) -> None:
        if self.journal is None:
            return
        headers = BytesHeaderParser().parsebytes(bytes(envelope.original_content or b""))
        message_id = str(headers.get("Message-ID", "")).strip()
        line = f"{event} {time.monotonic():.6f} {envelope.mail_from} {message_id}\n"
        os.write(self.journal, line.encode())

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._note("begin", envelope)
        if self.before:
            await asyncio.sleep(self.before)
        self.maildir.add(bytes(envelope.original_content or b""))
        if self.after:
            await asyncio.sleep(self.after)
        self._note("end", envelope)
        return "250 2.0.0 OK: queued"


def serve(maildir: Path, before: float, after: float, journal: Path | None = None) -> None:
    """Run until SIGTERM; print ``PORT <n>`` once listening."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    handler = _FilingHandler(mailbox.Maildir(maildir, create=True), before, after, journal)
    controller = _Controller(handler, hostname="127.0.0.1", port=0)
    parent = os.getppid()
    controller.start()
    try:
        print(f"PORT {controller.port}", flush=True)
        while not stop.wait(0.5):
            if os.getppid() != parent:  # the test process died: do not linger
                break
    finally:
        controller.stop()


class SMTPPeerProcess:
    def __init__(
        self,
        maildir: Path,
        *,
        delay_before_store: float = 0.0,
        delay_after_store: float = 0.0,
        journal: Path | None = None,
    ) -> None:
        self.maildir = Path(maildir)
        self.delay_before_store = delay_before_store
        self.delay_after_store = delay_after_store
        self.journal_path = Path(journal) if journal else None
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 20.0) -> SMTPPeerProcess:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.peers.smtp_process",
                "--maildir",
                str(self.maildir),
                "--delay-before-store",
                str(self.delay_before_store),
                "--delay-after-store",
                str(self.delay_after_store),
                *(["--journal", str(self.journal_path)] if self.journal_path else []),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = _readline(self._process, timeout)
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the SMTP peer process did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> SMTPPeerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def message_ids(self) -> Counter[str]:
        """How many copies of each Message-ID were accepted (files complete by design)."""
        counts: Counter[str] = Counter()
        new = self.maildir / "new"
        if not new.exists():
            return counts
        parser = BytesHeaderParser()
        for path in new.iterdir():
            with path.open("rb") as stream:
                headers = parser.parse(stream)
            counts[str(headers.get("Message-ID", "")).strip()] += 1
        return counts

    def journal(self) -> list[JournalLine]:
        """The journal's lines in the order the server wrote them (see the module doc)."""
        if self.journal_path is None or not self.journal_path.exists():
            return []
        lines = []
        for line in self.journal_path.read_text().splitlines():
            event, at, sender, message_id = line.split(" ", 3)
            lines.append(JournalLine(event, float(at), sender, message_id))
        return lines


def _readline(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or "" if it prints none within ``timeout``."""
    result: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    return result[0].strip() if result else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--delay-before-store", type=float, default=0.0)
    parser.add_argument("--delay-after-store", type=float, default=0.0)
    parser.add_argument("--journal", type=Path, default=None)
    args: Any = parser.parse_args(argv)
    serve(args.maildir, args.delay_before_store, args.delay_after_store, args.journal)


if __name__ == "__main__":
    main()
