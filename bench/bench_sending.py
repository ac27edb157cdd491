"""How fast one worker sends, compared with smtplib pushing the same bytes.

An aiosmtpd server that discards what it receives runs in its own process. The child
process (SQLite file database) enrolls N people in a one-step sequence that may send all
day from a mailbox whose limits are out of the way, then:

* raw: builds every message first, exactly as the worker would (render, MIME, bytes),
  and times smtplib sending them over one connection;
* engine: times one :class:`~sequencer.engine.worker.Worker` ticking until nothing is
  due: claim, re-check, render, commit *sending*, build, send, record *sent*. The
  worker's own CPU time (``time.process_time``; the SMTP server is another process) and
  the wall time of each phase (:mod:`sequencer.engine.phases`, summed from the ticks'
  reports) are divided by the emails sent.

A few emails go through both paths first, untimed, so imports and caches are warm.
"""

from __future__ import annotations

import smtplib
import sys
import time
from typing import Any

from bench import support

FIGURES = {
    "send_ratio_vs_raw_smtp": (
        "one worker's end-to-end send rate divided by smtplib sending the same pre-built "
        "messages over one connection (500 emails, local aiosmtpd, SQLite)",
        "ratio",
        (">=", 0.8),
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


def run() -> dict[str, float]:
    with support.sink_smtp_server() as port:
        result = support.run_child("bench_sending", str(port), str(EMAILS))
    return {
        "send_emails_per_second": result["engine"],
        "raw_smtp_emails_per_second": result["raw"],
        "send_ratio_vs_raw_smtp": result["engine"] / result["raw"],
        "send_cpu_ms_per_email": result["cpu_ms"],
        **{f"send_ms_per_email_{phase}": ms for phase, ms in result["phase_ms"].items()},
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


def _prebuilt(mailbox: Any) -> list[tuple[str, bytes]]:
    """Every scheduled email rendered and built as dispatch does, without sending it."""
    from sequencer.clock import system_clock
    from sequencer.mail.compose import build_message, wire_bytes
    from sequencer.sequences.models import ScheduledEmail
    from sequencer.sequences.rendering import render_step

    built = []
    for email in ScheduledEmail.objects.filter(state="scheduled").select_related(
        "enrollment__version", "enrollment__person"
    ):
        enrollment = email.enrollment
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
        built.append((enrollment.email, wire_bytes(message)))
    return built


def _send_raw(port: int, sender: str, messages: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
    for recipient, data in messages:
        conn.sendmail(sender, [recipient], data)
    conn.quit()
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
            break
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    left = ScheduledEmail.objects.exclude(state="sent").count()
    if left:
        raise RuntimeError(f"{left} emails were not sent")
    return {
        "per_second": due / elapsed,
        "cpu_ms": cpu * 1000 / due,
        "phase_ms": {phase: s * 1000 / due for phase, s in phases.seconds.items()},
    }


def child(port: int, count: int) -> dict[str, float]:
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
    _send_raw(port, mailbox.email, _prebuilt(mailbox))
    _drain(worker)

    _enroll(admin, sequence, mailbox, count, "timed")
    messages = _prebuilt(mailbox)
    assert len(messages) == count
    raw = sorted(_send_raw(port, mailbox.email, messages) for _ in range(RAW_ROUNDS))
    engine = _drain(worker)
    assert ScheduledEmail.objects.filter(state="sent").count() == count + WARM_UP
    return {
        "raw": raw[len(raw) // 2],
        "engine": engine["per_second"],
        "cpu_ms": engine["cpu_ms"],
        "phase_ms": engine["phase_ms"],
    }


if __name__ == "__main__":
    support.emit(child(int(sys.argv[1]), int(sys.argv[2])))
