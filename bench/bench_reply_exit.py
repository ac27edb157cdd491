"""How long from a reply landing in the mailbox to the recipient shown as exited.

A real Dovecot (IMAP, LMTP) holds Alice's mailbox; an aiosmtpd sink takes what she
sends. The child process (SQLite file database) enrolls a few people in a two-step
sequence, sends their first emails with a worker, and starts the IMAP IDLE loop
(:func:`sequencer.mail.sync.runner.start_idle_loop`) in a thread, as ``sequencer worker``
runs it. Then, one at a time, each person's reply is delivered over LMTP (as Alice's
mail server would deliver it) and the clock runs until that person's enrollment reads
``exited`` in the database (polled every 10 ms by another connection).

The figure is the median over the replies; the slowest is reported too.
"""

from __future__ import annotations

import smtplib
import statistics
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from bench import support

FIGURES = {
    "reply_to_exit_seconds": (
        "from a reply delivered over LMTP into a Dovecot IMAP mailbox to the recipient "
        "shown as exited (IDLE loop running in a thread; median of 7 replies, SQLite)",
        "s",
        ("<=", 5),
    ),
    "reply_to_exit_seconds_worst": (
        "the slowest of those replies",
        "s",
        None,
    ),
}

REPLIES = 7
ALICE = "alice@example.test"
PASSWORD = "secret"


def run() -> dict[str, float]:
    from tests.peers.dovecot import Dovecot

    with support.sink_smtp_server() as smtp_port:
        dovecot = Dovecot(users={ALICE: PASSWORD}, relay_port=smtp_port).start()
        try:
            with dovecot.imap(ALICE) as client:
                client.create_folder("Sent")
            result = support.run_child(
                "bench_reply_exit",
                str(smtp_port),
                str(dovecot.imap_port),
                str(dovecot.lmtp_port),
            )
        finally:
            dovecot.stop()
    timings = result["timings"]
    return {
        "reply_to_exit_seconds": statistics.median(timings),
        "reply_to_exit_seconds_worst": max(timings),
    }


# -- child ----------------------------------------------------------------------------


def reply(to_message_id: str, sender: str, subject: str, recipient: str = ALICE) -> bytes:
    """A reply to the email ``to_message_id``, as the recipient's client would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Re: {subject}"
    message["Message-ID"] = make_msgid(domain="initech.test")
    message["In-Reply-To"] = to_message_id
    message["References"] = to_message_id
    message.set_content("Thanks, let's talk on Tuesday.\n\n> earlier text\n")
    return message.as_bytes()


def child(smtp_port: int, imap_port: int, lmtp_port: int) -> dict[str, Any]:
    support.setup_django()
    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker, inbound_handler
    from sequencer.mail.sync.runner import start_idle_loop
    from sequencer.sequences import enrollment
    from sequencer.sequences.enrollment import Recipient
    from sequencer.sequences.models import Enrollment, ScheduledEmail

    admin = support.make_admin()
    sequence = support.publish_sequence(admin, steps=2)
    mailbox = support.make_mailbox(admin, smtp_port=smtp_port)
    mailbox.imap_host = "127.0.0.1"
    mailbox.imap_port = imap_port
    mailbox.imap_security = "none"
    mailbox.imap_username = ALICE
    mailbox.imap_password = PASSWORD
    mailbox.save()
    people = support.make_people(REPLIES, "reply")
    outcomes = enrollment.enroll(
        admin,
        sequence.pk,
        [Recipient(p) for p in people],
        mailbox_id=mailbox.pk,
        clock=system_clock,
    ).outcomes
    worker = Worker(name="bench-worker", clock=system_clock)
    while worker.tick().claimed:
        pass

    stop = threading.Event()
    loop = start_idle_loop(
        stop,
        owner="bench",
        clock=system_clock,
        act=inbound_handler(system_clock),
        scan_seconds=0.5,
    )
    deadline = time.monotonic() + 30
    while mailbox.pk not in loop.watched():
        if time.monotonic() > deadline:
            raise RuntimeError("the mailbox was not watched within 30 s")
        time.sleep(0.01)

    timings = []
    for outcome in outcomes:
        enrolled = Enrollment.objects.get(pk=outcome.enrollment_id)
        first = ScheduledEmail.objects.get(enrollment=enrolled, step=0, state="sent")
        raw = reply(first.message_id, enrolled.email, first.subject)
        time.sleep(0.5)  # the session is back in IDLE
        started = time.monotonic()
        with smtplib.LMTP("127.0.0.1", lmtp_port, local_hostname="localhost") as lmtp:
            lmtp.sendmail(enrolled.email, [ALICE], raw)
        while Enrollment.objects.filter(pk=enrolled.pk).values_list("status", flat=True)[0] != (
            "exited"
        ):
            if time.monotonic() - started > 60:
                raise RuntimeError("a reply was not acted on within a minute")
            time.sleep(0.01)
        timings.append(time.monotonic() - started)
    stop.set()
    return {"timings": timings}


if __name__ == "__main__":
    support.emit(child(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
