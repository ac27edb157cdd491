from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from tests.integration.engine.conftest import START, make_person

pytestmark = pytest.mark.django_db


def parsed(received):
    return message_from_bytes(received.data, policy=policy.default)


def enroll_one(admin, sequence, mailbox, person, clock):
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    )
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def test_an_enrolled_person_receives_a_personalised_email_then_a_threaded_follow_up(
    admin, publish, mailbox, person, clock, worker, smtp_server, settings
):
    settings.BASE_URL = "https://sequencer.example.test"
    sequence = publish()
    enrolled = enroll_one(admin, sequence, mailbox, person, clock)

    assert worker.tick().handed_over == 1
    [first] = smtp_server.messages
    message = parsed(first)
    assert first.rcpt_tos == ["ada@initech.test"]
    assert message["Subject"] == "Hello Ada"
    assert message["Message-ID"].endswith("@example.test>")
    assert "Hi Ada, first." in message.get_body(("html",)).get_content()
    assert "Hi Ada, first." in message.get_body(("plain",)).get_content()
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://sequencer.example.test/u/")
    assert "<mailto:alice@example.test?subject=unsubscribe>" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"=?" not in first.data.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]
    assert "Unsubscribe" in message.get_body(("html",)).get_content()

    # Nothing more until the two-day delay has passed.
    clock.advance(timedelta(days=1, hours=23))
    assert worker.tick().handed_over == 0
    clock.advance(timedelta(hours=2))
    assert worker.tick().handed_over == 1
    second = parsed(smtp_server.messages[1])
    assert second["Subject"] == "RE: Hello Ada"
    assert second["In-Reply-To"] == message["Message-ID"]
    assert second["References"] == message["Message-ID"]
    assert "Initech" in second.get_body(("html",)).get_content()

    clock.advance(timedelta(days=3, minutes=1))
    worker.tick()
    third = parsed(smtp_server.messages[2])
    assert third["References"].split() == [message["Message-ID"], second["Message-ID"]]
    enrolled.refresh_from_db()
    assert enrolled.status == "completed"
    assert [e.state for e in enrolled.emails.order_by("step")] == ["sent"] * 3


def test_an_email_never_goes_out_twice_even_when_ticked_again(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    worker.tick()
    clock.advance(timedelta(minutes=30))
    worker.tick()
    assert len(smtp_server.messages) == 1


def test_an_empty_variable_without_fallback_fails_the_recipient_with_the_reason(
    admin, publish, mailbox, clock, worker, smtp_server
):
    nameless = make_person("", "anon@initech.test")
    enrolled = enroll_one(admin, publish(), mailbox, nameless, clock)
    worker.tick()
    assert smtp_server.messages == []
    enrolled.refresh_from_db()
    assert enrolled.status == "failed"
    assert "person.first_name" in enrolled.failure_reason

    nameless.first_name = "Grace"
    nameless.save()
    enrollment.resume(enrolled.sequence.created_by, enrolled.pk, clock=clock)
    worker.tick()
    assert parsed(smtp_server.messages[0])["Subject"] == "Hello Grace"


def test_outside_the_window_the_email_waits_for_it_to_open(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    sequence = publish(window={"start": "13:00", "end": "14:00"})
    enrolled = enroll_one(admin, sequence, mailbox, person, clock)
    email = enrolled.emails.get()
    assert email.due_at == START.replace(hour=13)
    clock.advance(timedelta(hours=2, minutes=59))
    assert worker.tick().handed_over == 0
    clock.advance(timedelta(minutes=1))
    assert worker.tick().handed_over == 1


def test_pacing_defers_emails_over_the_hourly_limit_and_drops_none(
    admin, publish, mailbox, clock, worker, smtp_server
):
    mailbox.per_hour = 2
    mailbox.save()
    sequence = publish()
    for i in range(3):
        enroll_one(admin, sequence, mailbox, make_person(f"P{i}", f"p{i}@initech.test"), clock)
    worker.tick()
    assert len(smtp_server.messages) == 2
    waiting = ScheduledEmail.objects.get(state="scheduled", step=0)
    assert waiting.due_at == START + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    worker.tick()
    assert len(smtp_server.messages) == 3


def test_a_recipient_rejected_permanently_exits_as_bounced(
    admin, publish, mailbox, clock, worker, smtp_server
):
    smtp_server.reply_to("gone@initech.test", "550 5.1.1 No such user", at="rcpt")
    enrolled = enroll_one(
        admin, publish(), mailbox, make_person("Gone", "gone@initech.test"), clock
    )
    worker.tick()
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "bounced")
    assert enrolled.emails.get().state == "bounced"

    # The address is now known to be undeliverable: no sequence may enroll it again.
    other = publish()
    [again] = enrollment.enroll(
        admin, other.pk, [Recipient(enrolled.person_id)], mailbox_id=mailbox.pk, clock=clock
    )
    assert again.code == "undeliverable"
    assert "gone@initech.test" in again.message and "5.1.1" in again.message


def test_a_temporary_failure_is_retried_later(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    smtp_server.queue("421 4.7.0 Try again later", at="mail")
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    email = enrolled.emails.get()
    assert email.state == "scheduled" and email.attempts == 1
    assert email.due_at > START
    clock.set(email.due_at)
    worker.tick()
    assert len(smtp_server.messages) == 1
    email.refresh_from_db()
    assert email.state == "sent"


def test_an_authentication_failure_pauses_the_mailbox_keeps_the_email_and_tells_its_owner(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    mailbox.smtp_password = "wrong"
    mailbox.save()
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    mailbox.refresh_from_db()
    assert mailbox.status in ("paused", "disconnected")
    assert enrolled.emails.get().state == "scheduled"
    assert admin.notifications.filter(kind="mailbox_paused").exists()


def test_an_unsubscribed_address_gets_nothing_more(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    from sequencer.sequences.suppression import suppress

    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    suppress(mailbox.email, "ada@initech.test", reason="unsubscribed")
    worker.tick()
    assert smtp_server.messages == []
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "unsubscribed")


def test_pause_stops_and_resume_recomputes_from_now(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    enrollment.pause(admin, enrolled.pk, clock=clock)
    clock.advance(timedelta(days=1))
    worker.tick()
    assert smtp_server.messages == []
    enrollment.resume(admin, enrolled.pk, clock=clock)
    live = enrolled.emails.exclude(state="cancelled").get()
    assert live.due_at == clock.now()
    worker.tick()
    assert len(smtp_server.messages) == 1


def test_send_now_skips_the_wait_but_not_the_limits(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    mailbox.min_spacing_seconds = 600
    mailbox.save()
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    clock.advance(timedelta(minutes=1))
    enrollment.send_now(admin, enrolled.pk, clock=clock)
    worker.tick()
    assert len(smtp_server.messages) == 1  # ten minutes must pass between two emails
    clock.advance(timedelta(minutes=9))
    worker.tick()
    assert len(smtp_server.messages) == 2
