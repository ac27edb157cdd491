"""What the engine does with each failure a provider can report, to the second.

The provider is :class:`~sequencer.testing.CaptureProvider` (tested on its own) and the
retry jitter is a fixed draw, so every due time is exact.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sequencer.crm.models import EmailAddress
from sequencer.engine import dispatch
from sequencer.engine.worker import Worker
from sequencer.mail.providers.errors import (
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from sequencer.sequences.templating import AiTextMissing
from sequencer.testing import CaptureProvider
from sequencer.workspace.models import Notification
from tests.integration.engine.conftest import START, make_person

pytestmark = pytest.mark.django_db

# A draw of 0.25 scatters a wait by 1 + 0.2 * (2 * 0.25 - 1) = 0.9.
DRAW = 0.25


@pytest.fixture
def capture() -> CaptureProvider:
    return CaptureProvider()


@pytest.fixture
def worker(clock, capture) -> Worker:
    return Worker(
        clock=clock, name="capture-worker", provider_for=lambda _: capture, random=lambda: DRAW
    )


def enroll_one(admin, sequence, mailbox, person, clock) -> Enrollment:
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def first_email(enrolled: Enrollment) -> ScheduledEmail:
    return ScheduledEmail.objects.get(enrollment=enrolled, step=0)


def test_a_transient_failure_retries_after_the_jittered_backoff_and_counts_nothing(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(TransientFailure("421 try again later"))

    assert worker.tick().handed_over == 1

    email = first_email(enrolled)
    assert (email.state, email.due_at, email.attempts) == (
        "scheduled",
        START + timedelta(seconds=54),
        1,
    )
    assert email.attempted_at is None  # a failed attempt does not count against the limits
    assert email.last_error == "421 try again later"
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_a_longer_retry_after_from_the_server_sets_the_retry_time(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(TransientFailure("rate limited", retry_after=600))

    worker.tick()

    assert first_email(enrolled).due_at == START + timedelta(minutes=10)


def test_the_retry_waits_double_with_each_attempt_then_it_is_sent(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(TransientFailure("busy"), TransientFailure("busy"))

    worker.tick()
    clock.advance(timedelta(seconds=54))
    worker.tick()
    assert first_email(enrolled).due_at == START + timedelta(seconds=54 + 108)
    clock.advance(timedelta(seconds=108))
    worker.tick()

    email = first_email(enrolled)
    assert (email.state, email.sent_at, email.attempts) == ("sent", clock.now(), 3)
    assert [c.message_id for c in capture.sent] == [email.message_id]


def test_after_the_last_allowed_attempt_the_recipient_fails_with_the_reason(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    ScheduledEmail.objects.filter(enrollment=enrolled).update(attempts=dispatch.MAX_ATTEMPTS - 1)
    capture.fail_next(TransientFailure("still busy"))

    worker.tick()

    email = first_email(enrolled)
    enrolled.refresh_from_db()
    assert email.state == "failed"
    assert enrolled.status == "failed"
    assert enrolled.failure_reason == f"Gave up after {dispatch.MAX_ATTEMPTS} attempts: still busy"


def test_a_rejected_recipient_bounces_and_the_address_is_marked_undeliverable(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(RecipientRejected("550 5.1.1 no such user", recipient="ada@initech.test"))

    worker.tick()

    email = first_email(enrolled)
    enrolled.refresh_from_db()
    assert (email.state, email.last_error) == ("bounced", "550 5.1.1 no such user")
    assert (enrolled.status, enrolled.exit_reason, enrolled.finished_at) == (
        "exited",
        "bounced",
        START,
    )
    address = EmailAddress.objects.get(email="ada@initech.test")
    assert address.undeliverable_since == START
    assert not ScheduledEmail.objects.filter(enrollment=enrolled, step=1).exists()


def test_a_mailbox_failure_disconnects_the_mailbox_keeps_the_email_and_tells_its_owner(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(MailboxFailure("535 authentication failed", problem="auth"))

    worker.tick()

    email = first_email(enrolled)
    mailbox.refresh_from_db()
    assert (email.state, email.due_at) == ("scheduled", START + dispatch.DISCONNECTED_RECHECK)
    assert email.attempted_at is None
    assert mailbox.status == "disconnected"
    assert Notification.objects.filter(user=mailbox.owner, kind="mailbox_paused").count() == 1


def test_a_paused_mailbox_keeps_the_email_until_the_pause_ends(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(MailboxFailure("452 daily quota", problem="quota", pause_seconds=900))

    worker.tick()

    mailbox.refresh_from_db()
    assert mailbox.paused_until == START + timedelta(seconds=900)
    assert first_email(enrolled).due_at == START + timedelta(seconds=900)


def test_a_rejected_message_fails_the_recipient_with_the_reason(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(MessageRejected("552 message too big"))

    worker.tick()

    enrolled.refresh_from_db()
    assert first_email(enrolled).state == "failed"
    assert (enrolled.status, enrolled.failure_reason) == ("failed", "552 message too big")


def test_an_unknown_outcome_is_settled_by_the_sent_search_and_the_next_step_follows(
    admin, publish, mailbox, person, clock, worker, capture
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    capture.fail_next(OutcomeUnknown("connection lost after DATA"))

    worker.tick()
    assert first_email(enrolled).state == "unknown"

    capture.answer_find_sent(True)
    clock.advance(timedelta(minutes=1))
    assert worker.tick().settled == 1

    email = first_email(enrolled)
    second = ScheduledEmail.objects.get(enrollment=enrolled, step=1)
    assert (email.state, email.sent_at) == ("sent", START)
    assert capture.searched == [email.message_id]
    # Step 2 waits two days after the first email's attempt, in an all-day window.
    assert (second.state, second.due_at) == ("scheduled", START + timedelta(days=2))


def test_a_missing_ai_text_keeps_the_recipient_waiting_with_the_reason(
    admin, publish, mailbox, person, clock, worker, capture, monkeypatch
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)

    def no_ai_text(**kwargs):  # rendering in steps: the templates, then the rest
        yield
        raise AiTextMissing(kwargs["step"])

    monkeypatch.setattr(dispatch, "render_step_in_steps", no_ai_text)
    worker.tick()

    email = first_email(enrolled)
    enrolled.refresh_from_db()
    assert capture.sent == []
    assert (email.state, email.due_at) == ("scheduled", START + dispatch.AI_TEXT_RECHECK)
    assert email.last_error == str(AiTextMissing(0))
    assert enrolled.status == "active"


def test_a_template_that_raises_fails_only_its_recipient_and_the_tick_sends_the_rest(
    admin, publish, mailbox, person, clock, worker, capture, monkeypatch
):
    broken = enroll_one(admin, publish(), mailbox, person, clock)
    other = enroll_one(admin, publish(), mailbox, make_person("Bob", "bob@initech.test"), clock)
    real = dispatch.render_step_in_steps

    def render(**kwargs):
        if kwargs["enrollment_id"] == broken.pk:
            raise ZeroDivisionError("division by zero")
        return (yield from real(**kwargs))

    monkeypatch.setattr(dispatch, "render_step_in_steps", render)
    worker.tick()

    broken.refresh_from_db()
    assert broken.status == "failed"
    assert "division by zero" in broken.failure_reason
    assert [c.message_id for c in capture.sent] == [first_email(other).message_id]


def test_a_raw_line_break_in_a_name_never_stops_the_others_in_the_same_tick(
    admin, publish, mailbox, clock, worker, capture
):
    sequence = publish()
    eve = enroll_one(
        admin, sequence, mailbox, make_person("Eve\r\nBcc: x@evil.test", "eve@initech.test"), clock
    )
    ada = enroll_one(admin, sequence, mailbox, make_person("Ada", "ada@initech.test"), clock)

    worker.tick()

    assert first_email(ada).state == "sent"
    assert first_email(ada).message_id in [c.message_id for c in capture.sent]
    eve_email = first_email(eve)
    eve.refresh_from_db()
    if eve_email.state == "failed":  # refused while building: that one recipient fails
        assert eve.status == "failed" and eve.failure_reason
    else:  # neutralised while building: sent, with no injected header
        assert eve_email.state == "sent"
    assert all(c.message.get("Bcc") is None for c in capture.sent)
