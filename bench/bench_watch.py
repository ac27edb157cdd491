"""A thousand IMAP mailboxes watched by one worker process, and replies acted on meanwhile.

A real Dovecot serves 1,000 users (its process and connection limits raised for that:
see ``connections`` in tests/peers/dovecot.py). The child process (SQLite file database)
connects one mailbox per user, sends a first email to one person in each of 20 of
them, and starts the IMAP watch loop (:func:`sequencer.mail.sync.runner.start_idle_loop`)
as ``sequencer worker`` does. Once every mailbox is in IDLE it measures the process's
resident memory and the database connections the loop's threads opened; then it delivers
the 20 replies over LMTP, one at a time, each timed until the recipient reads ``exited``.
Last, a mailbox is connected while the others are watched, and a reply is delivered to
it 2 s later.
"""

from __future__ import annotations

import math
import resource
import smtplib
import sys
import threading
import time
from typing import Any

from bench import support
from bench.bench_reply_exit import reply

MAILBOXES = 1000
REPLIES = 20
PASSWORD = "secret"

FIGURES = {
    "mailboxes_watched_per_worker": (
        "IMAP mailboxes one worker process holds in IDLE at once (one event loop, a real "
        "Dovecot with one user per mailbox)",
        "",
        (">=", 1000),
    ),
    "watch_all_seconds": (
        "from the watch loop's start to all those mailboxes in IDLE (first pass of each included)",
        "s",
        None,
    ),
    "watch_rss_mb": (
        "resident memory of that worker process (Django included) while all are watched",
        "MB",
        ("<=", 300),
    ),
    "watch_db_connections": (
        "database connections the watch loop opened for all of them (its database "
        "thread and its sync threads)",
        "",
        ("<=", 10),
    ),
    "reply_to_exit_p95_seconds": (
        "from a reply delivered over LMTP to the recipient shown as exited, while all "
        "1,000 mailboxes are watched (95th percentile of 20 replies, SQLite)",
        "s",
        ("<=", 5),
    ),
    "reply_to_exit_new_mailbox_seconds": (
        "the same for a reply delivered 2 s after its mailbox was connected, while the "
        "1,000 others are watched",
        "s",
        ("<=", 5),
    ),
}


def _user(i: int) -> str:
    return f"user{i}@example.test"


LATE = "late@example.test"


def _more_files(wanted: int) -> None:
    """One socket per mailbox, and then some: raise the soft limit on open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def run() -> dict[str, float]:
    from tests.peers.dovecot import Dovecot

    _more_files(8192)
    users = [_user(i) for i in range(MAILBOXES)] + [LATE]
    with support.sink_smtp_server() as smtp_port:
        dovecot = Dovecot(
            users=dict.fromkeys(users, PASSWORD), relay_port=smtp_port, connections=len(users)
        ).start()
        try:
            result = support.run_child(
                "bench_watch",
                str(smtp_port),
                str(dovecot.imap_port),
                str(dovecot.lmtp_port),
                timeout=900,
            )
        finally:
            dovecot.stop()
    timings = sorted(result["timings"])
    return {
        "mailboxes_watched_per_worker": result["watched"],
        "watch_all_seconds": result["watch_all_seconds"],
        "watch_rss_mb": result["rss_mb"],
        "watch_db_connections": len(result["db_threads"]),
        "reply_to_exit_p95_seconds": timings[math.ceil(0.95 * len(timings)) - 1],
        "reply_to_exit_new_mailbox_seconds": result["new_mailbox_seconds"],
    }


# -- child ----------------------------------------------------------------------------


def _mailbox(admin: Any, email: str, smtp_port: int, imap_port: int) -> Any:
    from sequencer.clock import system_clock
    from sequencer.mail import mailboxes, proof
    from sequencer.mail.models import AddressProof

    box = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {
                "provider": "smtp_imap",
                "email": email,
                "display_name": email.split("@")[0],
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
                "imap": {
                    "host": "127.0.0.1",
                    "port": imap_port,
                    "security": "none",
                    "username": email,
                    "password": PASSWORD,
                },
            }
        ),
    )
    box.per_hour = 10_000
    box.per_day = 100_000
    box.min_spacing_seconds = 0
    box.save()
    return proof.mark_proven(box, AddressProof.ADMIN, system_clock)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(smtp_port: int, imap_port: int, lmtp_port: int) -> dict[str, Any]:
    _more_files(8192)
    support.setup_django()
    from django.db.backends.signals import connection_created

    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker, inbound_handler
    from sequencer.mail.sync.runner import start_idle_loop
    from sequencer.sequences import enrollment
    from sequencer.sequences.enrollment import Recipient
    from sequencer.sequences.models import Enrollment, ScheduledEmail

    db_threads: set[str] = set()
    connection_created.connect(
        lambda sender, **kwargs: db_threads.add(threading.current_thread().name), weak=False
    )
    admin = support.make_admin()
    sequence = support.publish_sequence(admin, steps=2)
    boxes = [_mailbox(admin, _user(i), smtp_port, imap_port) for i in range(MAILBOXES)]
    people = support.make_people(REPLIES + 1, "watch")
    step = MAILBOXES // REPLIES
    enrolled = []
    for n, person in enumerate(people[:REPLIES]):
        box = boxes[n * step]
        [outcome] = enrollment.enroll(
            admin, sequence.pk, [Recipient(person)], mailbox_id=box.pk, clock=system_clock
        ).outcomes
        enrolled.append((outcome.enrollment_id, box.email))
    worker = Worker(name="bench-worker", clock=system_clock)

    def send_first_emails() -> None:
        deadline = time.monotonic() + 120
        while ScheduledEmail.objects.filter(step=0).exclude(state="sent").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the first emails were not sent")
            worker.tick()

    send_first_emails()

    stop = threading.Event()
    loop = start_idle_loop(
        stop, owner="bench", clock=system_clock, act=inbound_handler(system_clock)
    )
    started = time.monotonic()
    while len(loop.watched()) < MAILBOXES:
        if time.monotonic() - started > 600:
            raise RuntimeError(f"only {len(loop.watched())} mailboxes watched after 10 min")
        time.sleep(0.1)
    watch_all = time.monotonic() - started
    time.sleep(2.0)  # the last passes are done
    watched = len(loop.watched())
    rss = _rss_mb()

    def reply_and_wait(enrollment_id: int, recipient: str) -> float:
        row = Enrollment.objects.get(pk=enrollment_id)
        first = ScheduledEmail.objects.get(enrollment=row, step=0, state="sent")
        raw = reply(first.message_id, row.email, first.subject, recipient)
        began = time.monotonic()
        with smtplib.LMTP("127.0.0.1", lmtp_port, local_hostname="localhost") as lmtp:
            lmtp.sendmail(row.email, [recipient], raw)
        while Enrollment.objects.filter(pk=enrollment_id).values_list("status", flat=True)[0] != (
            "exited"
        ):
            if time.monotonic() - began > 60:
                raise RuntimeError("a reply was not acted on within a minute")
            time.sleep(0.01)
        return time.monotonic() - began

    timings = []
    for enrollment_id, recipient in enrolled:
        time.sleep(0.3)
        timings.append(reply_and_wait(enrollment_id, recipient))

    connected = time.monotonic()
    late = _mailbox(admin, LATE, smtp_port, imap_port)
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(people[REPLIES])], mailbox_id=late.pk, clock=system_clock
    ).outcomes
    send_first_emails()
    while late.pk not in loop.watched():
        if time.monotonic() - connected > 60:
            raise RuntimeError("the new mailbox was not watched within a minute")
        time.sleep(0.01)
    watched_after = time.monotonic() - connected
    time.sleep(max(0.0, connected + 2.0 - time.monotonic()))
    new_mailbox = reply_and_wait(outcome.enrollment_id, LATE)
    stop.set()
    return {
        "watched": watched,
        "watch_all_seconds": watch_all,
        "rss_mb": rss,
        "db_threads": sorted(n for n in db_threads if n.startswith("imap-")),
        "timings": timings,
        "new_mailbox_watched_seconds": watched_after,
        "new_mailbox_seconds": new_mailbox,
    }


if __name__ == "__main__":
    support.emit(child(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
