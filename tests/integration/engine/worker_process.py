"""Real worker processes for the crash and concurrency tests: a small fork server.

``python -m tests.integration.engine.worker_process`` runs Django with the DATABASE_URL
and SEQUENCER_DATA_DIR it is given (a file or server database shared by every process),
imports the engine once, then answers JSON commands, one per line, on stdin:

* ``setup``: migrate, create the workspace, a mailbox pointing at the test's SMTP
  server (and IMAP server, if given), ``recipients`` people, a published one-step
  sequence, and one enrollment per person; with ``mailboxes: n`` (or ``smtp_ports``, one
  port per mailbox) the recipients are shared out in blocks, the first mailbox's
  enrolled (so due) first; answers how many were enrolled;
* ``spawn``: fork a worker process running :meth:`sequencer.engine.worker.Worker.run`
  with the lease, batch size, send concurrency and idle time given; answers its pid;
* ``alive`` / ``wait`` / ``kill``: about a worker it spawned (``kill`` sends the signal,
  SIGKILL by default, and reaps the process, so its pid is never reused meanwhile);
* ``tick``: one :meth:`~sequencer.engine.worker.Worker.tick` of a worker kept in the
  server process from one ``tick`` to the next (made on the first, with the send
  concurrency, batch size and sending budget given), so that a test can look at the
  emails between ticks while sends an earlier tick left going on go on; answers how
  many the tick claimed;
* ``enroll``: ``per_mailbox`` more people enrolled from each mailbox (due now);
* ``counts`` and ``rows``: the state of the emails and enrollments (and each email's
  sender), for the test's checks;
* ``quit``: SIGKILL any worker still running, then exit (also on end of input).

Forking from an already set-up Django makes starting a worker take milliseconds instead
of two seconds of imports, so a test can kill and restart one many times. Each worker is
still a separate process with its own database connection; the server never holds a
connection while it forks.

Each worker appends what it did to ``events-<pid>.log`` in ``log_dir``, one line per
event, with unbuffered writes so that a SIGKILL loses nothing already done:
``claim <owner> <id,...>``, ``accepted <owner> <Message-ID>`` (the provider returned: the
server said 250 and the Sent copy, if any, was filed) and ``found <owner> <Message-ID>
<True|False|None>`` (a Sent-folder search settling an unknown outcome). With
``die_after_accept: n`` a worker SIGKILLs itself right after its n-th accepted email,
before the engine records it: the worst moment for a duplicate.

:class:`WorkerServer` is the test side of the protocol.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[3]

ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "thread_emails": False,
    "include_signature": False,
}
SENDER = "alice@example.test"


# -- the test's side -------------------------------------------------------------------

POSTGRES_URL = os.environ.get(
    "SEQUENCER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
_names = itertools.count()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# One migrated database per kind and test process, copied for each scratch database:
# migrating a new database takes seconds (SQLite rebuilds tables for many migrations),
# copying a migrated one a fraction of a second. The scratch database is then what
# ``migrate`` makes, and the ``setup`` command's own migrate finds nothing to do.
_templates: dict[str, str] = {}


def _migrate(env: dict[str, str]) -> None:
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.db import connections\n"
        "call_command('migrate', interactive=False, verbosity=0)\n"
        "connections.close_all()  # SQLite folds its write-ahead log into the file\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "sequencer.config.settings", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrating the template database failed:\n{result.stderr[-5000:]}")


def _sqlite_template(env: dict[str, str]) -> Path:
    if "sqlite" not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="sequencer-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        _migrate({**env, "SEQUENCER_DATA_DIR": str(folder), "DATABASE_URL": f"sqlite:///{path}"})
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_template(admin_url: str, env: dict[str, str]) -> str:
    import psycopg

    if "postgres" not in _templates:
        name = f"sequencer_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_database, admin_url, name)
        _migrate({**env, "DATABASE_URL": _with_database(POSTGRES_URL, name)})
        _templates["postgres"] = name
    return _templates["postgres"]


@contextmanager
def scratch_database(kind: str, directory: Path) -> Iterator[dict[str, str]]:
    """The environment for a fresh, migrated database the test and its processes share:
    a SQLite file under ``directory``, or a new PostgreSQL database
    (``sequencer_chaos_<pid>_...`` on the server of SEQUENCER_TEST_POSTGRES_URL) dropped
    afterwards. Both are copies of a template migrated once per test process."""
    data_dir = Path(directory) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"SEQUENCER_DATA_DIR": str(data_dir), "SEQUENCER_SECRET_KEY": "chaos-" + "k" * 50}
    if kind == "sqlite":
        database = data_dir / "chaos.sqlite3"
        shutil.copyfile(_sqlite_template(env), database)
        database.chmod(0o600)
        yield {**env, "DATABASE_URL": f"sqlite:///{database}"}
        return
    import psycopg

    admin_url = _with_database(POSTGRES_URL, "postgres")
    name = f"sequencer_chaos_{os.getpid()}_{next(_names)}_{uuid.uuid4().hex[:6]}"
    try:
        template = _postgres_template(admin_url, env)
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    except psycopg.OperationalError as exc:
        import pytest

        # As scripts/test.sh: skipped on a developer's machine, a failure in CI.
        message = f"PostgreSQL at {admin_url} is not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    try:
        yield {**env, "DATABASE_URL": _with_database(POSTGRES_URL, name)}
    finally:
        _drop_database(admin_url, name)


class WorkerServer:
    """Starts the fork server and talks to it (the pytest process's side)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = (self.log_dir / "server.err").open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.engine.worker_process"],
            cwd=REPO_ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "sequencer.config.settings", **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()

    def call(self, cmd: str, timeout: float = 120.0, **args: Any) -> Any:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        with self._lock:
            process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            process.stdin.flush()
            answer: list[str] = []
            reader = threading.Thread(target=lambda: answer.append(process.stdout.readline()))  # type: ignore[union-attr]
            reader.daemon = True
            reader.start()
            reader.join(timeout)
        if not answer or not answer[0]:
            raise RuntimeError(f"the worker server did not answer {cmd!r}:\n{self.stderr()}")
        reply = json.loads(answer[0])
        if "error" in reply:
            raise RuntimeError(f"{cmd} failed in the worker server: {reply['error']}")
        return reply["result"]

    def stderr(self) -> str:
        self._stderr.flush()
        return (self.log_dir / "server.err").read_text(errors="replace")[-5000:]

    def spawn(self, **options: Any) -> int:
        return int(self.call("spawn", log_dir=str(self.log_dir), **options))

    def events(self) -> list[tuple[int, list[str]]]:
        """Every worker's logged events, as (pid, fields) in each worker's order."""
        found = []
        for path in sorted(self.log_dir.glob("events-*.log")):
            pid = int(path.stem.split("-")[1])
            found.extend((pid, line.split(" ")) for line in path.read_text().splitlines())
        return found

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            with suppress(RuntimeError, OSError, ValueError):
                self.call("quit", timeout=20)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()

    def __enter__(self) -> WorkerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PENDING = ("scheduled", "claimed", "sending", "unknown")


def wait_until_settled(server: WorkerServer, timeout: float, context: str = "") -> dict[str, Any]:
    """The counts (see ``counts``) once no email is pending any more."""
    deadline = time.monotonic() + timeout
    while True:
        counts: dict[str, Any] = server.call("counts")
        if not any(counts["emails"].get(state) for state in PENDING):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(
                f"emails still pending after {timeout} s: {counts} ({context})\n{server.stderr()}"
            )
        time.sleep(0.1)


# -- the server's side -----------------------------------------------------------------


def _sender(index: int) -> str:
    return SENDER if index == 0 else f"sender{index}@example.test"


def _setup(
    recipients: int,
    smtp_port: int = 0,
    imap: dict[str, Any] | None = None,
    mailboxes: int = 1,
    smtp_ports: list[int] | None = None,
) -> int:
    from django.core.management import call_command

    from sequencer.clock import system_clock
    from sequencer.mail import mailboxes as mailboxes_module
    from sequencer.mail import proof
    from sequencer.mail.models import AddressProof
    from sequencer.sequences import authoring
    from sequencer.sequences.authoring import StepInput
    from sequencer.workspace import services

    call_command("migrate", interactive=False, verbosity=0)
    admin = services.set_up_workspace(
        "Chaos", "admin@chaos.test", "correct-horse-battery-staple", admin_name="Admin"
    )
    ports = smtp_ports or [smtp_port] * mailboxes
    boxes = []
    for index, port in enumerate(ports):
        data: dict[str, Any] = {
            "provider": "smtp_imap",
            "email": _sender(index),
            "display_name": f"Sender {index}",
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
        }
        if imap:
            data["imap"] = {"security": "none", **imap}
        new = mailboxes_module.NewMailbox.model_validate(data)
        box = mailboxes_module.create_mailbox(admin, new)
        # As tests.peers.fixtures.mark_address_proven: these tests are about sending.
        proof.mark_proven(box, AddressProof.ADMIN, system_clock)
        box.per_hour, box.per_day, box.min_spacing_seconds = 10_000, 100_000, 0
        box.save()
        boxes.append(box)
    people = [_person() for _ in range(recipients)]
    sequence = authoring.create_sequence(
        admin,
        name="Chaos",
        settings=ALL_DAY,
        steps=[
            StepInput(delay_days=0, subject="Hello {{ person.first_name }}", body_html="<p>Hi!</p>")
        ],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    share = -(-recipients // len(boxes))  # rounded up: every recipient has a mailbox
    return _enroll(
        admin,
        sequence.pk,
        {box.pk: people[i * share : (i + 1) * share] for i, box in enumerate(boxes)},
    )


def _enroll(admin: Any, sequence_id: int, people_of: dict[int, list[Any]]) -> int:
    """Enroll each mailbox's people from it, in the dict's order; how many."""
    from sequencer.clock import system_clock
    from sequencer.sequences import enrollment
    from sequencer.sequences.enrollment import Recipient

    outcomes = []
    for mailbox_id, people in people_of.items():
        outcomes += enrollment.enroll(
            admin,
            sequence_id,
            [Recipient(p.pk) for p in people],
            mailbox_id=mailbox_id,
            clock=system_clock,
        ).outcomes
    refused = [o for o in outcomes if not o.enrolled]
    if refused:
        raise RuntimeError(f"enrollment refused: {refused[:3]}")
    return len(outcomes)


def _person() -> Any:
    """One more recipient, r<n>@chaos.test."""
    from sequencer.crm.models import EmailAddress, Person

    i = Person.objects.count()
    person = Person.objects.create(first_name=f"R{i}", last_name="Chaos")
    EmailAddress.objects.create(person=person, email=f"r{i}@chaos.test", is_primary=True)
    return person


def _enroll_more(per_mailbox: int) -> int:
    from sequencer.mail.models import Mailbox
    from sequencer.sequences.models import Sequence
    from sequencer.workspace.models import User

    people_of = {
        box.pk: [_person() for _ in range(per_mailbox)] for box in Mailbox.objects.order_by("id")
    }
    admin = User.objects.get(email="admin@chaos.test")
    return _enroll(admin, Sequence.objects.get(name="Chaos").pk, people_of)


_ticking: Any = None  # the Worker of the ``tick`` command, kept from tick to tick


def _tick(**options: Any) -> int:
    global _ticking
    if _ticking is None:
        from sequencer.clock import system_clock
        from sequencer.engine.worker import Worker

        _ticking = Worker(
            clock=system_clock,
            send_concurrency=options.get("send_concurrency"),
            batch_size=options.get("batch_size"),
        )
        _ticking.send_budget_seconds = float(options.get("send_budget_seconds", 10.0))
    return int(_ticking.tick().claimed)


def _counts() -> dict[str, dict[str, int]]:
    from django.db.models import Count

    from sequencer.sequences.models import Enrollment, ScheduledEmail

    def by(model: Any, field: str) -> dict[str, int]:
        return {row[field]: row["n"] for row in model.objects.values(field).annotate(n=Count("id"))}

    return {"emails": by(ScheduledEmail, "state"), "enrollments": by(Enrollment, "status")}


def _rows() -> list[dict[str, Any]]:
    from sequencer.sequences.models import ScheduledEmail

    return [
        {
            "id": e.pk,
            "message_id": e.message_id,
            "state": e.state,
            "last_error": e.last_error,
            "attempts": e.attempts,
            "enrollment_status": e.enrollment.status,
            "sender": e.mailbox.email,
        }
        for e in ScheduledEmail.objects.select_related("enrollment", "mailbox").order_by("id")
    ]


class _Logged:
    """A provider that logs what it did to the worker's event log (see the module doc)."""

    # Shared by the worker's sending threads: a worker that kills itself after its n-th
    # accepted email logs exactly n, even while other threads' sends are accepted too.
    _accepting = threading.Lock()

    def __init__(self, inner: Any, event: Callable[..., None], on_accept: Callable[[], None]):
        self._inner = inner
        self._event = event
        self._on_accept = on_accept

    def send(self, message: Any, **kwargs: Any) -> Any:
        result = self._inner.send(message, **kwargs)
        with self._accepting:
            self._event("accepted", str(message["Message-ID"]).strip())
            self._on_accept()
        return result

    def find_sent(self, message_id: str) -> Any:
        found = self._inner.find_sent(message_id)
        self._event("found", message_id, str(found))
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _die_with_parent() -> None:
    """SIGKILL this worker if the fork server dies, so that no worker outlives a test."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _worker_main(options: dict[str, Any]) -> None:
    """The forked child: run one worker until SIGTERM (or SIGKILL)."""
    random.seed()
    _die_with_parent()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # SIGTERM was blocked across the fork (see spawn): one sent while this child was
    # still starting is delivered now, to the handler, instead of killing it outright.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    from datetime import timedelta

    import sequencer.engine.worker as worker_module
    from sequencer.clock import system_clock
    from sequencer.mail.mailboxes import provider_for

    log_dir = Path(options["log_dir"])
    out = os.open(
        log_dir / f"worker-{os.getpid()}.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    os.dup2(out, 1)
    os.dup2(out, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    events = os.open(
        log_dir / f"events-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    worker = worker_module.Worker(
        lease=timedelta(seconds=float(options.get("lease", 300))),
        batch_size=options.get("batch_size"),
        send_concurrency=options.get("send_concurrency"),
        clock=system_clock,
    )

    def event(*fields: str) -> None:
        os.write(events, (" ".join((fields[0], worker.name, *fields[1:])) + "\n").encode())

    accepted = 0
    die_after = int(options.get("die_after_accept") or 0)

    def on_accept() -> None:
        nonlocal accepted
        accepted += 1
        if die_after and accepted >= die_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def logged_provider(mailbox: Any) -> Any:
        return _Logged(provider_for(mailbox, clock=system_clock), event, on_accept)

    worker.provider_for = logged_provider
    claim_by_mailbox = worker_module.claim_by_mailbox

    def logged_claim(*args: Any, **kwargs: Any) -> dict[int, list[int]]:
        queues = claim_by_mailbox(*args, **kwargs)
        ids = [email_id for queue in queues.values() for email_id in queue]
        if ids:
            event("claim", ",".join(map(str, ids)))
        return queues

    worker_module.claim_by_mailbox = logged_claim  # type: ignore[assignment]
    worker.run(stop, idle_seconds=float(options.get("idle", 0.1)))


def _serve() -> None:
    import django

    django.setup()
    from django.db import connections

    # Everything a worker needs, imported once here rather than in every child.
    for module in ("sequencer.engine.worker", "sequencer.mail.mailboxes", "imapclient"):
        importlib.import_module(module)

    children: dict[int, int | None] = {}  # pid -> exit status once reaped

    def reap(pid: int, block: bool) -> int | None:
        if children.get(pid) is None:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            if done:
                children[pid] = status
        return children[pid]

    def describe(status: int | None) -> dict[str, Any]:
        if status is None:
            return {"alive": True}
        if os.WIFSIGNALED(status):
            return {"alive": False, "signal": os.WTERMSIG(status)}
        return {"alive": False, "exit_code": os.WEXITSTATUS(status)}

    def spawn(options: dict[str, Any]) -> int:
        connections.close_all()  # a child must never share the server's connection
        sys.stdout.flush()
        # Blocked until the child has its SIGTERM handler, so that a graceful stop sent
        # to a worker that is still starting is never taken for a crash.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        pid = os.fork()
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        if pid == 0:
            code = 0
            try:
                _worker_main(options)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children[pid] = None
        return pid

    def wait(pid: int, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while reap(pid, block=False) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return describe(children[pid])

    def kill(pid: int, signum: int = signal.SIGKILL, seconds: float = 30.0) -> dict[str, Any]:
        if reap(pid, block=False) is None:
            os.kill(pid, signum)  # not reaped yet, so the pid is still this child's
        return wait(pid, seconds)

    def stop_all() -> None:
        for pid in list(children):
            if reap(pid, block=False) is None:
                os.kill(pid, signal.SIGKILL)
                reap(pid, block=True)

    commands: dict[str, Callable[..., Any]] = {
        "setup": _setup,
        "tick": _tick,
        "enroll": _enroll_more,
        "counts": _counts,
        "rows": _rows,
        "spawn": lambda **options: spawn(options),
        "alive": lambda pid: describe(reap(pid, block=False)),
        "wait": wait,
        "kill": kill,
    }
    try:
        for line in sys.stdin:
            request = json.loads(line)
            name = request.pop("cmd")
            if name == "quit":
                break
            try:
                reply: dict[str, Any] = {"result": commands[name](**request)}
            except Exception as exc:
                import traceback

                traceback.print_exc()
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                connections.close_all()
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        stop_all()


if __name__ == "__main__":
    _serve()
