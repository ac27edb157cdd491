"""Threads racing on a real database, in a process of its own.

The test database of a pytest run cannot be shared between threads on SQLite (it lives
in memory, and its shared-cache locks are not waited for), so the scenarios that need
threads run here: ``python -m tests.integration.inbound.concurrency SCENARIO JSON``, with
DATABASE_URL pointing at a file database or a scratch PostgreSQL database
(:func:`tests.integration.engine.worker_process.scratch_database`) and the ports of the
pytest process's SMTP and Dovecot peers. The last line printed is the result as JSON;
:func:`run` is the pytest side.

Scenarios:

* ``reply_race``: for each of ``iterations`` recipients, the first email is sent, the
  second made due, and then one thread runs a worker tick while another records the
  recipient's reply, started together with a random offset. Reports every email row
  with the moment it was committed as sending and the moment the reply was recorded.
* ``two_runners``: two threads, each a worker of its own, read one mailbox holding
  ``messages`` messages again and again; every message handed over is logged with the
  reader and the time spent on it.
* ``idle``: an :class:`~sequencer.mail.sync.runner.IdleLoop` holds the mailbox in IMAP
  IDLE; replies are delivered over LMTP one after another and the time until each
  recipient shows as exited is measured.
"""

from __future__ import annotations

import json
import os
import random
import smtplib
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
ALICE = "alice@example.test"
ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "thread_emails": True,
    "include_signature": False,
}


# -- the pytest side ---------------------------------------------------------------------


def run(scenario: str, env: dict[str, str], timeout: float = 300, **args: Any) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.inbound.concurrency", scenario, json.dumps(args)],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "sequencer.config.settings", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"{scenario} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the child side ----------------------------------------------------------------------


class TickingClock:
    """A clock for threads: every reading is one microsecond after the previous one, so
    the order of readings taken under a lock is the order of the locks; ``advance``
    moves it on."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._now += timedelta(microseconds=1)
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def _setup(args: dict[str, Any], *, imap: bool) -> tuple[Any, Any, Any]:
    from django.core.management import call_command

    from sequencer.clock import system_clock
    from sequencer.sequences import authoring
    from sequencer.sequences.authoring import StepInput
    from sequencer.workspace import services

    call_command("migrate", interactive=False, verbosity=0)
    admin = services.set_up_workspace(
        "Race", "admin@race.test", "correct-horse-battery-staple", admin_name="Admin"
    )
    mailbox = _mailbox(admin, args, ALICE, imap=imap)
    sequence = authoring.create_sequence(
        admin,
        name="Race",
        settings=ALL_DAY,
        steps=[
            StepInput(delay_days=0, subject="Hello {{ person.first_name }}", body_html="<p>1</p>"),
            StepInput(delay_days=2, subject="", body_html="<p>2</p>"),
            StepInput(delay_days=2, subject="", body_html="<p>3</p>"),
        ],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    return admin, mailbox, sequence


def _mailbox(admin: Any, args: dict[str, Any], email: str, *, imap: bool = True) -> Any:
    """A mailbox sending through the SMTP peer and, with ``imap``, reading ``email``'s
    Dovecot inbox (password "secret")."""
    from sequencer.clock import system_clock
    from sequencer.mail import mailboxes, proof
    from sequencer.mail.models import AddressProof

    data: dict[str, Any] = {
        "provider": "smtp_imap",
        "email": email,
        "display_name": email.split("@")[0].title(),
        "smtp": {
            "host": "127.0.0.1",
            "port": args["smtp_port"],
            "security": "none",
            "username": "alice",
            "password": "secret",
        },
    }
    if imap:
        data["imap"] = {
            "host": "127.0.0.1",
            "port": args["imap_port"],
            "security": "none",
            "username": email,
            "password": "secret",
        }
    mailbox = mailboxes.create_mailbox(admin, mailboxes.NewMailbox.model_validate(data))
    # As tests.peers.fixtures.mark_address_proven: these tests are about inbound mail.
    proof.mark_proven(mailbox, AddressProof.ADMIN, system_clock)
    mailbox.min_spacing_seconds = 0
    mailbox.per_hour = 10_000
    mailbox.per_day = 100_000
    mailbox.save()
    return mailbox


def _enroll(admin: Any, sequence: Any, mailbox: Any, name: str, clock: Any) -> Any:
    from sequencer.crm.models import EmailAddress, Person
    from sequencer.sequences import enrollment
    from sequencer.sequences.models import Enrollment

    person = Person.objects.create(first_name=name, last_name="Tester")
    EmailAddress.objects.create(
        person=person, email=f"{name.lower()}@initech.test", is_primary=True
    )
    [outcome] = enrollment.enroll(
        admin,
        sequence.pk,
        [enrollment.Recipient(person.pk)],
        mailbox_id=mailbox.pk,
        clock=clock,
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def _reply(name: str, in_reply_to: str) -> bytes:
    from tests.integration.inbound import messages

    return messages.reply(
        in_reply_to,
        sender=f"{name} <{name.lower()}@initech.test>",
        subject=f"Re: Hello {name}",
    )


def reply_race(args: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from sequencer.engine.worker import Worker, inbound_handler
    from sequencer.mail import inbound_store
    from sequencer.sequences.models import ScheduledEmail

    # The clock moves about 800 days over the iterations: the worker's daily
    # housekeeping would delete the cancelled emails this test counts.
    settings.SEQUENCER_KEEP_FINISHED_DELIVERIES_DAYS = "0"
    admin, mailbox, sequence = _setup(args, imap=False)
    clock = TickingClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    worker = Worker(clock=clock, name="race-worker")
    rng = random.Random(args.get("seed", 1))
    errors: list[str] = []
    for i in range(args["iterations"]):
        name = f"P{i}"
        enrolled = _enroll(admin, sequence, mailbox, name, clock)
        worker.tick()
        first = ScheduledEmail.objects.get(enrollment=enrolled, step=0, state="sent")
        clock.advance(timedelta(days=2, minutes=1))  # the second email is due now
        raw = _reply(name, first.message_id)
        barrier = threading.Barrier(2)

        def send(offset: float, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                time.sleep(offset)
                worker.tick()
            except Exception as exc:  # reported, and fails the test
                errors.append(f"tick: {exc!r}")
            finally:
                connection.close()

        def record(offset: float, barrier: threading.Barrier = barrier, raw: bytes = raw) -> None:
            try:
                barrier.wait()
                time.sleep(offset)
                inbound_store.ingest(
                    mailbox, raw, received_at=None, clock=clock, act=inbound_handler(clock)
                )
            except Exception as exc:
                errors.append(f"reply: {exc!r}")
            finally:
                connection.close()

        threads = [
            threading.Thread(target=send, args=(rng.uniform(0, 0.02),)),
            threading.Thread(target=record, args=(rng.uniform(0, 0.02),)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # Whatever the order, a later tick must not send anything more.
        clock.advance(timedelta(days=5))
        worker.tick()
        clock.advance(timedelta(days=1))
    from sequencer.sequences.models import Enrollment

    rows = [
        {
            "enrollment": e.enrollment_id,
            "step": e.step,
            "state": e.state,
            "message_id": e.message_id,
            "attempted_at": e.attempted_at.isoformat() if e.attempted_at else None,
        }
        for e in ScheduledEmail.objects.order_by("enrollment_id", "step", "pk")
    ]
    enrollments = {
        str(e.pk): {
            "status": e.status,
            "exit_reason": e.exit_reason,
            "finished_at": e.finished_at.isoformat() if e.finished_at else None,
        }
        for e in Enrollment.objects.all()
    }
    return {"rows": rows, "enrollments": enrollments, "errors": errors}


def _deliver(args: dict[str, Any], raw: bytes, to: str = ALICE) -> None:
    with smtplib.LMTP("127.0.0.1", args["lmtp_port"], local_hostname="localhost") as lmtp:
        lmtp.sendmail("someone@else.test", [to], raw)


def two_runners(args: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection

    from sequencer.clock import system_clock
    from sequencer.engine.worker import inbound_handler
    from sequencer.mail import inbound_store
    from sequencer.mail.models import InboundMessage
    from sequencer.mail.sync import runner

    _setup(args, imap=True)
    log: list[tuple[str, float, float, str]] = []
    log_lock = threading.Lock()
    real = inbound_store.ingest

    def logged(box: Any, raw: bytes, **kwargs: Any) -> Any:
        started = time.monotonic()
        time.sleep(0.005)  # widen the window two readers would share
        stored = real(box, raw, **kwargs)
        with log_lock:
            log.append(
                (threading.current_thread().name, started, time.monotonic(), raw[-40:].hex())
            )
        return stored

    inbound_store.ingest = logged  # type: ignore[assignment]
    stop = threading.Event()
    errors: list[str] = []
    rounds = {"reader-1": 0, "reader-2": 0}

    def read(owner: str) -> None:
        try:
            while not stop.is_set():
                runner.sync_mailboxes(
                    system_clock.now(),
                    owner=owner,
                    clock=system_clock,
                    act=inbound_handler(system_clock),
                    interval=timedelta(0),
                    budget_seconds=60,
                )
                rounds[owner] += 1
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=read, args=(n,), name=n) for n in rounds]
    for thread in threads:
        thread.start()
    for i in range(args["messages"]):
        _deliver(args, _reply(f"N{i}", f"<nothing-{i}@example.test>"))
        time.sleep(args.get("pause", 0.01))
    deadline = time.monotonic() + 60
    while InboundMessage.objects.count() < args["messages"] and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(60)
    return {
        "log": log,
        "stored": InboundMessage.objects.count(),
        "distinct": InboundMessage.objects.values("message_id").distinct().count(),
        "rounds": rounds,
        "errors": errors,
    }


def idle(args: dict[str, Any]) -> dict[str, Any]:
    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker
    from sequencer.mail.models import SyncCursor
    from sequencer.sequences.models import Enrollment, ScheduledEmail

    admin, mailbox, sequence = _setup(args, imap=True)
    worker = Worker(name="idle-test-worker", clock=system_clock)
    people = []
    for i in range(args["replies"]):
        enrolled = _enroll(admin, sequence, mailbox, f"I{i}", system_clock)
        people.append(enrolled)
    while worker.tick().claimed:
        pass
    stop = threading.Event()
    loop = _start_loop(
        stop, "idle-test", scan_seconds=0.2, reissue_seconds=args.get("reissue_seconds", 25 * 60)
    )
    deadline = time.monotonic() + 30
    while mailbox.pk not in loop.watched():
        assert time.monotonic() < deadline, "the mailbox was not watched"
        time.sleep(0.02)
    lease_owner = SyncCursor.objects.get(mailbox=mailbox, folder="INBOX").lease_owner
    # A worker's tick leaves the mailbox to the IDLE session.
    Worker(name="other-worker", clock=system_clock).tick()
    lease_after_tick = SyncCursor.objects.get(mailbox=mailbox, folder="INBOX").lease_owner
    timings = []
    for enrolled in people:
        first = ScheduledEmail.objects.get(enrollment=enrolled, step=0, state="sent")
        raw = _reply(enrolled.person.first_name, first.message_id)
        time.sleep(args.get("gap", 0.0))
        started = time.monotonic()
        _deliver(args, raw)
        while True:
            status = Enrollment.objects.filter(pk=enrolled.pk).values_list("status", flat=True)[0]
            if status == "exited":
                timings.append(time.monotonic() - started)
                break
            if time.monotonic() - started > 30:
                timings.append(float("inf"))
                break
            time.sleep(0.02)
    stop.set()
    # The session sees the stop within its check interval and gives the lease back; the
    # test asserts the lease is free, so wait for that (or ten seconds), not a fixed time.
    deadline = time.monotonic() + 10
    while True:
        cursor = SyncCursor.objects.get(mailbox=mailbox, folder="INBOX")
        if not cursor.lease_owner or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return {
        "timings": timings,
        "lease_owner": lease_owner,
        "lease_after_tick": lease_after_tick,
        "lease_after_stop": cursor.lease_owner,
        "exit_reasons": sorted(Enrollment.objects.values_list("exit_reason", flat=True).distinct()),
    }


def _start_loop(stop: threading.Event, owner: str, **options: Any) -> Any:
    """The IMAP watch loop as ``sequencer worker`` starts it, renewing leases each second."""
    from sequencer.clock import system_clock
    from sequencer.engine.worker import inbound_handler
    from sequencer.mail.sync import runner

    return runner.start_idle_loop(
        stop,
        owner=owner,
        clock=system_clock,
        act=inbound_handler(system_clock),
        renew_seconds=1.0,
        **options,
    )


def _send_first_emails(worker: Any) -> None:
    from sequencer.sequences.models import ScheduledEmail

    deadline = time.monotonic() + 60
    while ScheduledEmail.objects.filter(step=0).exclude(state="sent").exists():
        assert time.monotonic() < deadline, "the first emails were not sent"
        worker.tick()


def watch(args: dict[str, Any]) -> dict[str, Any]:
    """Many mailboxes in one IMAP watch loop: one whose server never answers, one that
    another worker holds; replies to a few; a mailbox added, and one given IMAP, while
    the loop runs."""
    import socket

    from django.db import connection
    from django.db.backends.signals import connection_created

    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker
    from sequencer.mail.models import SyncCursor
    from sequencer.mail.sync import idle_client, leases
    from sequencer.sequences.models import Enrollment, ScheduledEmail

    # Which threads opened a database connection (each Django thread has its own).
    db_threads: set[str] = set()
    connection_created.connect(
        lambda sender, **kwargs: db_threads.add(threading.current_thread().name), weak=False
    )
    admin, alice, sequence = _setup(args, imap=True)
    boxes = [alice, *(_mailbox(admin, args, user) for user in args["users"])]
    # Given IMAP while the loop runs: sends first, reads later.
    upgraded = _mailbox(admin, args, args["upgraded_user"], imap=False)
    picked = sorted({0, len(boxes) // 2, len(boxes) - 1})[: args.get("replies", 3)]
    people = [(_enroll(admin, sequence, boxes[i], f"W{i}", system_clock), boxes[i]) for i in picked]
    later = _enroll(admin, sequence, upgraded, "Upgraded", system_clock)
    worker = Worker(name="watch-test-worker", clock=system_clock)
    _send_first_emails(worker)
    # A server that takes the connection and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    broken = _mailbox(admin, {**args, "imap_port": silent.getsockname()[1]}, "mute@example.test")
    other = _mailbox(admin, args, args["held_user"])
    leases.acquire(other.pk, "another-worker", system_clock.now(), ttl=timedelta(hours=1))
    if args.get("no_idle"):
        idle_client.IdleClient.can_idle = property(lambda self: False)  # type: ignore[method-assign,assignment]
    before = {t.name for t in threading.enumerate()}
    stop = threading.Event()
    loop = _start_loop(
        stop,
        "watch-test",
        scan_seconds=0.5,
        timeout=2.0,
        max_backoff_seconds=2.0,
        poll_seconds=args.get("poll_seconds", 30.0),
    )
    started = time.monotonic()
    expected = {b.pk for b in boxes}
    while not expected <= loop.watched():
        assert time.monotonic() - started < 90, "not every mailbox was watched"
        time.sleep(0.05)
    result: dict[str, Any] = {"watch_all_seconds": time.monotonic() - started}
    result["threads"] = sorted(t.name for t in threading.enumerate() if t.name not in before)
    owners = dict(
        SyncCursor.objects.filter(folder="INBOX").values_list("mailbox_id", "lease_owner")
    )
    result["owners"] = sorted({owners[b.pk] for b in boxes})
    result["other_owner"] = owners[other.pk]
    Worker(name="other-worker", clock=system_clock).tick()  # leaves them to the loop

    def reply_and_wait(enrolled: Any, mailbox: Any, name: str) -> float:
        first = ScheduledEmail.objects.get(enrollment=enrolled, step=0, state="sent")
        began = time.monotonic()
        _deliver(args, _reply(name, first.message_id), to=mailbox.email)
        while Enrollment.objects.get(pk=enrolled.pk).status != "exited":
            if time.monotonic() - began > 30:
                return float("inf")
            time.sleep(0.02)
        return time.monotonic() - began

    result["timings"] = [
        reply_and_wait(enrolled, box, f"W{i}")
        for (enrolled, box), i in zip(people, picked, strict=True)
    ]
    # All leases renewed together (every second here)...
    held = SyncCursor.objects.filter(mailbox=boxes[-1], folder="INBOX")
    before_renewal = held.get().lease_until
    time.sleep(1.5)
    result["renewed"] = held.get().lease_until > before_renewal
    # ...and a lease another worker took over (as after a stall) ends that watch.
    stolen = boxes[1]
    SyncCursor.objects.filter(mailbox=stolen, folder="INBOX").update(
        lease_owner="thief", lease_until=system_clock.now() + timedelta(hours=1)
    )
    stolen_at = time.monotonic()
    while stolen.pk in loop.held() and time.monotonic() - stolen_at < 30:
        time.sleep(0.02)
    result["stolen_dropped_seconds"] = time.monotonic() - stolen_at
    # A mailbox added now: watched within seconds, a reply 2 s later acted on.
    added_at = time.monotonic()
    added = _mailbox(admin, args, args["late_user"])
    fresh = _enroll(admin, sequence, added, "Late", system_clock)
    _send_first_emails(worker)
    while added.pk not in loop.watched() and time.monotonic() - added_at < 30:
        time.sleep(0.02)
    result["added_watched_seconds"] = time.monotonic() - added_at
    time.sleep(max(0.0, added_at + 2.0 - time.monotonic()))
    result["added_reply_seconds"] = reply_and_wait(fresh, added, "Late")
    # An existing mailbox given IMAP now.
    changed_at = time.monotonic()
    upgraded.imap_host = "127.0.0.1"
    upgraded.imap_port = args["imap_port"]
    upgraded.imap_security = "none"
    upgraded.imap_username = upgraded.email
    upgraded.imap_password = "secret"
    upgraded.save()
    while upgraded.pk not in loop.watched() and time.monotonic() - changed_at < 30:
        time.sleep(0.02)
    result["upgraded_watched_seconds"] = time.monotonic() - changed_at
    result["upgraded_reply_seconds"] = reply_and_wait(later, upgraded, "Upgraded")
    result["broken_watched"] = broken.pk in loop.watched()
    result["broken_held"] = broken.pk in loop.held()
    result["broken_error"] = SyncCursor.objects.get(mailbox=broken, folder="INBOX").last_error
    result["other_watched"] = other.pk in loop.held()
    result["db_threads"] = sorted(n for n in db_threads if n.startswith("imap-"))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            result["pg_connections"] = cursor.fetchone()[0]
    stop.set()
    for thread in threading.enumerate():
        if thread.name == "imap-watch-loop":
            thread.join(30)
    result["threads_after_stop"] = sorted(
        t.name for t in threading.enumerate() if t.name not in before
    )
    result["owners_after_stop"] = sorted(
        set(
            SyncCursor.objects.exclude(mailbox__in=[other, stolen]).values_list(
                "lease_owner", flat=True
            )
        )
    )
    result["exit_reasons"] = sorted(
        set(Enrollment.objects.exclude(exit_reason="").values_list("exit_reason", flat=True))
    )
    silent.close()
    return result


SCENARIOS = {"reply_race": reply_race, "two_runners": two_runners, "idle": idle, "watch": watch}


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    result = SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
    print(json.dumps(result, default=str), flush=True)
