"""The state machines of ``domain/lifecycle.py`` hold for the real engine, not only the table.

Each seed drives the worker, the services and the real peers through a random walk of
what happens to recipients (enrolled, time passes and the worker ticks, a reply arrives in
the mailbox, paused, resumed, removed, a one-click unsubscribe), and after every step reads
the database and the SMTP peer and checks:

* every enrollment's status and every email's state was reached from the one seen before
  by moves the domain tables allow (new ones start as ``active`` and ``scheduled``);
* an enrollment that ended (exited or completed) has no pending email and is sent nothing
  more, and a paused one is sent nothing while it stays paused;
* what the database says was sent is exactly what reached the SMTP peer.

A seeded loop rather than hypothesis: each walk needs a fresh database and fresh peers,
which pytest gives a parametrised test and not a hypothesis example. A failure prints the
seed and the steps so far; rerun that seed alone to see it again.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from django.test import Client

from sequencer.domain.errors import InvalidInput
from sequencer.domain.lifecycle import (
    EMAIL_MOVES,
    EMAIL_PENDING,
    ENROLLMENT_MOVES,
    EmailState,
    EnrollmentStatus,
    is_final,
)
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from tests.integration.engine.conftest import make_person
from tests.integration.inbound import messages

# About 20-40 s in all on a busy machine: slow, so it runs in parallel with the rest.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

T = TypeVar("T")
ALICE = messages.ALICE

SEEDS = range(5)
STEPS = 40
# Enough for the clock to cross the sequence's 2- and 3-day delays within a walk.
CLOCK_STEPS = [
    timedelta(0),
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=3),
]
# Longer than the mailbox reading interval, so the tick after a delivery reads the inbox.
READ_INBOX_AFTER = timedelta(minutes=2)


def reachable(moves: dict[T, frozenset[T]], start: T) -> set[T]:
    """Every state ``start`` can reach in zero or more allowed moves."""
    seen = {start}
    frontier = [start]
    while frontier:
        for target in moves[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.fixture
def mailbox(admin: Any, peer_mailbox: Any) -> Any:
    """Alice's mailbox, sending through the SMTP peer and reading her Dovecot INBOX."""
    box = peer_mailbox(admin, imap=True)
    box.min_spacing_seconds = 0
    box.save()
    return box


@dataclass
class Walk:
    seed: int
    admin: Any
    sequence: Any
    mailbox: Any
    clock: Any
    worker: Any
    smtp_server: Any
    dovecot: Any
    rng: random.Random = field(init=False)
    log: list[str] = field(default_factory=list)
    people: int = 0
    statuses: dict[int, EnrollmentStatus] = field(default_factory=dict)
    states: dict[int, EmailState] = field(default_factory=dict)
    # Messages each address had received when its enrollment was seen ended or paused.
    frozen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def fail(self, message: str) -> None:
        steps = "\n  ".join(self.log)
        pytest.fail(f"seed {self.seed}: {message}\nsteps:\n  {steps}")

    # -- the actions ---------------------------------------------------------------------

    def step(self) -> None:
        enrollments = list(Enrollment.objects.order_by("pk"))
        # Weighted so that recipients accumulate and live long enough to be paused,
        # resumed and sent several steps before a reply or an unsubscribe ends them.
        actions = [self.enroll] * 3 + [self.tick] * 6
        if enrollments:
            actions += [self.pause] * 2 + [self.resume] * 2 + [self.remove]
        if self.smtp_server.messages:
            actions += [self.reply, self.unsubscribe]
        self.rng.choice(actions)(enrollments)

    def _pick(self, enrollments: list[Enrollment]) -> Enrollment:
        """Mostly one that can still move; sometimes any, to try refused moves too."""
        open_ = [e for e in enrollments if not is_final(EnrollmentStatus(e.status))]
        return self.rng.choice(open_ if open_ and self.rng.random() < 0.8 else enrollments)

    def enroll(self, _: list[Enrollment]) -> None:
        self.people += 1
        # Every fifth person has no first name: the first email cannot be rendered and
        # the enrollment fails, which resume then retries.
        first = "" if self.people % 5 == 0 else f"P{self.people}"
        person = make_person(first, f"p{self.people}@initech.test")
        [outcome] = enrollment.enroll(
            self.admin,
            self.sequence.pk,
            [Recipient(person.pk)],
            mailbox_id=self.mailbox.pk,
            clock=self.clock,
        ).outcomes
        self.log.append(f"enroll {person.pk} -> {outcome.code or outcome.enrollment_id}")

    def tick(self, _: list[Enrollment]) -> None:
        delta = self.rng.choice(CLOCK_STEPS)
        self.clock.advance(delta)
        report = self.worker.tick()
        self.log.append(f"advance {delta} and tick: {report}")

    def _service(self, name: str, chosen: Enrollment) -> None:
        action = getattr(enrollment, name)
        try:
            action(self.admin, chosen.pk, clock=self.clock)
            outcome = "done"
        except InvalidInput as refused:
            outcome = f"refused ({refused.code})"
            after = Enrollment.objects.get(pk=chosen.pk).status
            if after != chosen.status:
                self.fail(f"a refused {name} moved {chosen.pk} from {chosen.status} to {after}")
        self.log.append(f"{name} {chosen.pk} ({chosen.status}): {outcome}")

    def pause(self, enrollments: list[Enrollment]) -> None:
        self._service("pause", self._pick(enrollments))

    def resume(self, enrollments: list[Enrollment]) -> None:
        self._service("resume", self._pick(enrollments))

    def remove(self, enrollments: list[Enrollment]) -> None:
        self._service("remove", self._pick(enrollments))

    def _received(self) -> Any:
        received = self.rng.choice(self.smtp_server.messages)
        return message_from_bytes(received.data, policy=policy.default)

    def reply(self, _: list[Enrollment]) -> None:
        """The recipient of one received email answers it, and the worker reads it."""
        message = self._received()
        replied = Enrollment.objects.get(
            emails__message_id=message["Message-ID"], emails__state=EmailState.SENT
        )
        sender = f"{replied.person.first_name or 'Someone'} <{replied.email}>"
        self.dovecot.deliver(
            ALICE, messages.reply(message["Message-ID"], sender=sender), sender=replied.email
        )
        self.clock.advance(READ_INBOX_AFTER)
        report = self.worker.tick()
        after = Enrollment.objects.get(pk=replied.pk)
        self.log.append(f"reply to {replied.pk} ({replied.status}) and tick: {report}")
        if replied.status == EnrollmentStatus.ACTIVE and (after.status, after.exit_reason) != (
            EnrollmentStatus.EXITED,
            "replied",
        ):
            self.fail(f"a reply left {replied.pk} {after.status} ({after.exit_reason})")

    def unsubscribe(self, _: list[Enrollment]) -> None:
        """The recipient of one received email clicks its one-click unsubscribe."""
        message = self._received()
        url = str(message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        answer = Client(enforce_csrf_checks=True).post(
            urlsplit(url).path,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        self.log.append(f"unsubscribe {message['To']}: {answer.status_code}")
        if answer.status_code != 200:
            self.fail(f"the one-click unsubscribe answered {answer.status_code}")

    # -- the checks ----------------------------------------------------------------------

    def check(self) -> None:
        received = Counter(to for m in self.smtp_server.messages for to in m.rcpt_tos)
        for enrolled in Enrollment.objects.order_by("pk"):
            status = EnrollmentStatus(enrolled.status)
            before = self.statuses.get(enrolled.pk, EnrollmentStatus.ACTIVE)
            if status not in reachable(ENROLLMENT_MOVES, before):
                self.fail(f"enrollment {enrolled.pk} went from {before} to {status}")
            self.statuses[enrolled.pk] = status
            emails = list(ScheduledEmail.objects.filter(enrollment=enrolled))
            for email in emails:
                state = EmailState(email.state)
                was = self.states.get(email.pk, EmailState.SCHEDULED)
                if state not in reachable(EMAIL_MOVES, was):
                    self.fail(f"email {email.pk} went from {was} to {state}")
                self.states[email.pk] = state
            sent = sum(e.state in (EmailState.SENT, EmailState.BOUNCED) for e in emails)
            if sent != received[enrolled.email]:
                self.fail(
                    f"{enrolled.email}: {sent} emails recorded as sent, "
                    f"{received[enrolled.email]} received"
                )
            if is_final(status) and any(e.state in EMAIL_PENDING for e in emails):
                self.fail(f"enrollment {enrolled.pk} is {status} with an email still pending")
            if status == EnrollmentStatus.PAUSED or is_final(status):
                got = self.frozen.setdefault(enrolled.email, received[enrolled.email])
                if received[enrolled.email] != got:
                    self.fail(f"{enrolled.email} was sent mail while {status}")
            else:
                self.frozen.pop(enrolled.email, None)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_walk_of_the_real_engine_only_makes_moves_the_lifecycle_allows(
    seed, admin, publish, mailbox, clock, worker, smtp_server, dovecot
):
    walk = Walk(seed, admin, publish(), mailbox, clock, worker, smtp_server, dovecot)
    for _ in range(STEPS):
        walk.step()
        walk.check()
    # The walk did something worth checking: mail went out and some recipients moved on.
    assert smtp_server.messages, walk.log
