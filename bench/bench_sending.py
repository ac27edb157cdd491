"""How fast one worker sends, compared with smtplib pushing the same bytes.

Two runs, each with an aiosmtpd server in its own process and a child process (SQLite
file database) that enrolls people in a one-step sequence that may send all day from
mailboxes whose limits are out of the way:

* instant: the server discards each message at once; N people on one mailbox;
* latent: the server waits 200 ms before answering each message's final "." (as a
  provider's server does while it queues and scans); 100 mailboxes with 10 people each,
  enrolled mailbox by mailbox (so the due list is in mailbox blocks).

In each, the child then

* raw: builds every message first, exactly as the worker would (render, MIME, bytes),
  and times smtplib sending them: over one connection (instant), or from as many
  threads as the worker's send concurrency, each with its own connection, taking the
  next message from a shared queue (latent; the best of two rounds);
* engine: times one :class:`~sequencer.engine.worker.Worker` with its default settings
  ticking until nothing is due: claim, re-check, render, commit *sending*, build, send,
  record *sent*. The worker's own CPU time (``time.process_time``, all its threads; the
  SMTP server is another process) and the wall time of each phase
  (:mod:`sequencer.engine.phases`, summed over the sending threads, from the ticks'
  reports) are divided by the emails sent.

A few emails go through both paths first, untimed, so imports and caches are warm.
"""

from __future__ import annotations

import queue
import smtplib
import sys
import threading
import time
from typing import Any

from bench import support

# The worker's default send concurrency (SEQUENCER_SEND_CONCURRENCY); the latent run
# checks that the worker it measures uses it.
CONCURRENCY = 8
LATENCY = 0.2
MAILBOXES = 100
PER_MAILBOX = 10

FIGURES = {
    "send_ratio_vs_raw_smtp": (
        "one worker's end-to-end send rate divided by smtplib sending the same pre-built "
        "messages over one connection (500 emails from one mailbox, local aiosmtpd that "
        "answers at once, SQLite)",
        "ratio",
        (">=", 0.3),
    ),
    "send_ratio_vs_raw_smtp_latent": (
        f"one worker's end-to-end send rate (default send concurrency, {CONCURRENCY} "
        f"mailboxes at once) divided by the best rate of smtplib sending the same pre-built "
        f"messages from {CONCURRENCY} threads, each with its own connection; local aiosmtpd "
        f"that waits {LATENCY * 1000:g} ms before answering each message, "
        f"{MAILBOXES} mailboxes x {PER_MAILBOX} due emails, SQLite",
        "ratio",
        (">=", 0.8),
    ),
    "send_emails_per_second_latent": (
        "emails one worker sends end to end per second in the run of send_ratio_vs_raw_smtp_latent",
        "emails/s",
        None,
    ),
    "raw_smtp_emails_per_second_latent": (
        "the same messages, pre-built, sent with smtplib from as many threads as the "
        "worker's send concurrency (the best of two rounds)",
        "emails/s",
        None,
    ),
    "send_cpu_ms_per_email_latent": (
        "the worker process's CPU time (all threads) per email in the run of "
        "send_ratio_vs_raw_smtp_latent",
        "ms",
        None,
    ),
    "send_concurrency_latent": (
        "the worker's send concurrency in the run of send_ratio_vs_raw_smtp_latent (its "
        "default, SEQUENCER_SEND_CONCURRENCY)",
        "threads",
        None,
    ),
    "send_emails_per_second": (
        "emails one worker sends end to end per second (claim, checks, render, build, send, "
        "record) to a local aiosmtpd server, SQLite",
        "emails/s",
        None,
    ),
    "raw_smtp_emails_per_second": (
        "the same messages, pre-built, sent with smtplib over one connection",
        "emails/s",
        None,
    ),
    "send_cpu_ms_per_email": (
        "the worker process's CPU time (user + system) per email sent end to end, in the "
        "same run as send_emails_per_second",
        "ms",
        None,
    ),
}
PHASE_FIGURES = {
    "claim": "claiming it and re-checking it (locks, limits, window), committing sending",
    "render": "rendering its templates for the recipient",
    "compose": "building the MIME message and checking its bytes",
    "handover": "handing it to the provider (SMTP, the server's time included)",
    "record": "recording it sent and scheduling the next step",
}
FIGURES.update(
    {
        f"send_ms_per_email_{phase}": (
            f"wall time per email spent {what}, in the same run as send_emails_per_second",
            "ms",
            None,
        )
        for phase, what in PHASE_FIGURES.items()
    }
)

EMAILS = 500
WARM_UP = 20
RAW_ROUNDS = 3
LATENT_RAW_ROUNDS = 2


def run() -> dict[str, float]:
    with support.sink_smtp_server() as port:
        result = support.run_child("bench_sending", "instant", str(port))
    with support.latent_smtp_server(LATENCY) as port:
        latent = support.run_child("bench_sending", "latent", str(port), timeout=900)
    if latent["concurrency"] != CONCURRENCY:
        raise RuntimeError(
            f"the worker sent from {latent['concurrency']} mailboxes at once, not the "
            f"default {CONCURRENCY}: is SEQUENCER_SEND_CONCURRENCY set?"
        )
    return {
        "send_emails_per_second": result["engine"],
        "raw_smtp_emails_per_second": result["raw"],
        "send_ratio_vs_raw_smtp": result["engine"] / result["raw"],
        "send_cpu_ms_per_email": result["cpu_ms"],
        **{f"send_ms_per_email_{phase}": ms for phase, ms in result["phase_ms"].items()},
        "send_ratio_vs_raw_smtp_latent": latent["engine"] / latent["raw"],
        "send_emails_per_second_latent": latent["engine"],
        "raw_smtp_emails_per_second_latent": latent["raw"],
        "send_cpu_ms_per_email_latent": latent["cpu_ms"],
        "send_concurrency_latent": latent["concurrency"],
    }


# -- child ----------------------------------------------------------------------------


def _enroll(admin: Any, sequence: Any, mailbox: Any, count: int, tag: str) -> None:
    from sequencer.clock import system_clock
    from sequencer.sequences import enrollment
    from sequencer.sequences.enrollment import Recipient

    people = support.make_people(count, tag)
    outcomes = enrollment.enroll(
        admin,
        sequence.pk,
        [Recipient(p) for p in people],
        mailbox_id=mailbox.pk,
        clock=system_clock,
    ).outcomes
    assert all(o.enrolled for o in outcomes), outcomes[:3]


def _prebuilt() -> list[tuple[str, str, bytes]]:
    """Every scheduled email rendered and built as dispatch does, without sending it:
    (sender, recipient, bytes) in due order."""
    from sequencer.clock import system_clock
    from sequencer.mail.compose import build_message, wire_bytes
    from sequencer.sequences.models import ScheduledEmail
    from sequencer.sequences.rendering import render_step

    built = []
    for email in (
        ScheduledEmail.objects.filter(state="scheduled")
        .select_related("enrollment__version", "enrollment__person", "mailbox")
        .order_by("due_at", "id")
    ):
        enrollment, mailbox = email.enrollment, email.mailbox
        version = enrollment.version
        rendered = render_step(
            snapshot={"settings": version.settings, "steps": version.steps},
            step=email.step,
            person=enrollment.person,
            address=enrollment.email,
            mailbox=mailbox,
            enrollment_id=enrollment.pk,
        )
        message = build_message(
            from_=(mailbox.display_name, mailbox.email),
            to=(enrollment.person.full_name, enrollment.email),
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            date=system_clock.now(),
            message_id=email.message_id,
            unsubscribe_url=rendered.unsubscribe_url,
            unsubscribe_mailto=rendered.unsubscribe_mailto,
        )
        built.append((mailbox.email, enrollment.email, wire_bytes(message)))
    return built


def _send_raw(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
    for sender, recipient, data in messages:
        conn.sendmail(sender, [recipient], data)
    conn.quit()
    return len(messages) / (time.perf_counter() - started)


def send_raw_threads(port: int, messages: list[tuple[str, str, bytes]], threads: int) -> float:
    """smtplib from ``threads`` threads, each with its own connection, each taking the
    next message from one shared queue until none is left; messages per second."""
    work: queue.SimpleQueue[tuple[str, str, bytes]] = queue.SimpleQueue()
    for message in messages:
        work.put(message)

    def sender() -> None:
        conn = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
        while True:
            try:
                from_, recipient, data = work.get_nowait()
            except queue.Empty:
                break
            conn.sendmail(from_, [recipient], data)
        conn.quit()

    started = time.perf_counter()
    pool = [threading.Thread(target=sender) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return len(messages) / (time.perf_counter() - started)


def _drain(worker: Any) -> dict[str, Any]:
    """Tick until nothing is due: emails per second, CPU ms and phase ms per email."""
    from sequencer.engine.phases import PhaseTimes
    from sequencer.sequences.models import ScheduledEmail

    due = ScheduledEmail.objects.filter(state="scheduled").count()
    phases = PhaseTimes()
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        report = worker.tick()
        phases.add(report.phases)
        if not report.claimed:
            if not worker.sending:
                break
            # Sends a tick left going on past its budget: the next tick reports them and
            # claims the emails due from their mailboxes.
            worker.wait_for_sending(600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    left = ScheduledEmail.objects.exclude(state="sent").count()
    if left:
        raise RuntimeError(f"{left} emails were not sent")
    return {
        "per_second": due / elapsed,
        "cpu_ms": cpu * 1000 / due,
        "phase_ms": {phase: s * 1000 / due for phase, s in phases.seconds.items()},
    }


def instant(port: int, emails: int = EMAILS) -> dict[str, Any]:
    """``emails`` emails from one mailbox, to the server that answers at once (fewer
    than the figure's only for a quick look or a profile)."""
    support.setup_django()
    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker
    from sequencer.sequences.models import ScheduledEmail

    admin = support.make_admin()
    sequence = support.publish_sequence(admin)
    mailbox = support.make_mailbox(admin, smtp_port=port)
    worker = Worker(name="bench-worker", clock=system_clock)

    # Warm both paths (imports, template and schedule caches, the first connection).
    _enroll(admin, sequence, mailbox, WARM_UP, "warm")
    _send_raw(port, _prebuilt())
    _drain(worker)

    _enroll(admin, sequence, mailbox, emails, "timed")
    messages = _prebuilt()
    assert len(messages) == emails
    raw = sorted(_send_raw(port, messages) for _ in range(RAW_ROUNDS))
    engine = _drain(worker)
    assert ScheduledEmail.objects.filter(state="sent").count() == emails + WARM_UP
    return {
        "raw": raw[len(raw) // 2],
        "engine": engine["per_second"],
        "cpu_ms": engine["cpu_ms"],
        "phase_ms": engine["phase_ms"],
    }


def latent(port: int, mailboxes: int = MAILBOXES) -> dict[str, Any]:
    """``mailboxes`` x PER_MAILBOX emails to the server that waits before each answer
    (fewer mailboxes than the figure's only for a quick look)."""
    support.setup_django()
    from sequencer.clock import system_clock
    from sequencer.engine.worker import Worker
    from sequencer.sequences.models import ScheduledEmail

    admin = support.make_admin()
    sequence = support.publish_sequence(admin)
    boxes = [
        support.make_mailbox(admin, smtp_port=port, email=f"sender{i:03}@example.test")
        for i in range(mailboxes)
    ]
    worker = Worker(name="bench-worker", clock=system_clock)
    threads = worker.send_concurrency

    # Warm both paths: one email from each of a few mailboxes.
    for box in boxes[: threads * 2]:
        _enroll(admin, sequence, box, 1, f"warm{box.pk}")
    send_raw_threads(port, _prebuilt(), threads)
    _drain(worker)

    for box in boxes:
        _enroll(admin, sequence, box, PER_MAILBOX, f"timed{box.pk}")
    messages = _prebuilt()
    assert len(messages) == mailboxes * PER_MAILBOX
    raw = max(send_raw_threads(port, messages, threads) for _ in range(LATENT_RAW_ROUNDS))
    engine = _drain(worker)
    assert ScheduledEmail.objects.exclude(state="sent").count() == 0
    return {
        "raw": raw,
        "engine": engine["per_second"],
        "cpu_ms": engine["cpu_ms"],
        "phase_ms": engine["phase_ms"],
        "concurrency": threads,
    }


if __name__ == "__main__":
    run_one = {"instant": instant, "latent": latent}[sys.argv[1]]
    support.emit(run_one(*map(int, sys.argv[2:])))
