import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from tests.integration.engine.conftest import START, make_person

pytestmark = pytest.mark.django_db


def parsed(received):
    return message_from_bytes(received.data, policy=policy.default)


def sent_to(smtp_server):
    """Who each received message went to, in arrival order."""
    return [received.rcpt_tos for received in smtp_server.messages]


def enroll_one(admin, sequence, mailbox, person, clock):
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
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
    assert first.mail_from == "alice@example.test"
    assert first.rcpt_tos == ["ada@initech.test"]
    assert message["From"] == "Alice <alice@example.test>"
    assert message["To"] == "Ada Lovelace <ada@initech.test>"
    assert message["Subject"] == "Hello Ada"
    step0 = enrolled.emails.get(step=0)
    assert message["Message-ID"] == step0.message_id
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.test>", step0.message_id)
    assert (step0.state, step0.sent_at, step0.subject) == ("sent", START, "Hello Ada")
    html = message.get_body(("html",)).get_content()
    assert html.startswith("<p>Hi Ada, first.</p>\r\n")
    assert message.get_body(("plain",)).get_content().startswith("Hi Ada, first.\r\n\r\n")
    unsubscribe = re.fullmatch(
        r"<(?P<url>https://sequencer\.example\.test/u/[\w.:-]+)>, "
        r"<mailto:alice@example\.test\?subject=unsubscribe>",
        message["List-Unsubscribe"],
    )
    assert unsubscribe is not None, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"=?" not in first.data.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]
    assert f'<a href="{unsubscribe["url"]}">Unsubscribe</a>' in html
    # The second step is due two days after the first went out, at the same time of day.
    [step1] = enrolled.emails.filter(state="scheduled")
    assert (step1.step, step1.due_at) == (1, START + timedelta(days=2))

    # Nothing more until the two-day delay has passed.
    clock.advance(timedelta(days=1, hours=23))
    assert worker.tick().handed_over == 0
    clock.advance(timedelta(hours=2))
    assert worker.tick().handed_over == 1
    second = parsed(smtp_server.messages[1])
    assert second["Subject"] == "RE: Hello Ada"
    assert second["Message-ID"] == step1.message_id
    assert second["In-Reply-To"] == message["Message-ID"]
    assert second["References"] == message["Message-ID"]
    assert "<p>Second note for Initech.</p>" in second.get_body(("html",)).get_content()
    # The third is due three days after the second actually went out (an hour late).
    [step2] = enrolled.emails.filter(state="scheduled")
    second_sent = START + timedelta(days=2, hours=1)
    assert (step2.step, step2.due_at) == (2, second_sent + timedelta(days=3))

    clock.advance(timedelta(days=3, minutes=1))
    assert worker.tick().handed_over == 1
    third = parsed(smtp_server.messages[2])
    assert third["Subject"] == "RE: Hello Ada"
    assert third["Message-ID"] == step2.message_id
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"].split() == [message["Message-ID"], second["Message-ID"]]
    assert sent_to(smtp_server) == [["ada@initech.test"]] * 3
    enrolled.refresh_from_db()
    assert enrolled.status == "completed"
    assert [(e.step, e.state, e.sent_at) for e in enrolled.emails.order_by("step")] == [
        (0, "sent", START),
        (1, "sent", second_sent),
        (2, "sent", second_sent + timedelta(days=3, minutes=1)),
    ]


def test_an_email_never_goes_out_twice_even_when_ticked_again(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    assert worker.tick().handed_over == 1
    assert worker.tick().claimed == 0
    clock.advance(timedelta(minutes=30))
    assert worker.tick().claimed == 0
    assert sent_to(smtp_server) == [["ada@initech.test"]]
    assert [(e.step, e.state) for e in enrolled.emails.order_by("step")] == [
        (0, "sent"),
        (1, "scheduled"),
    ]


def test_an_empty_variable_without_fallback_fails_the_recipient_with_the_reason(
    admin, publish, mailbox, clock, worker, smtp_server
):
    nameless = make_person("", "anon@initech.test")
    enrolled = enroll_one(admin, publish(), mailbox, nameless, clock)
    assert worker.tick().handed_over == 0
    assert smtp_server.messages == []
    enrolled.refresh_from_db()
    assert enrolled.status == "failed"
    reason = (
        "person.first_name is empty for this recipient and has no fallback: fill it in on "
        'the record, or give it one with | default: "...", then resume the recipient.'
    )
    assert enrolled.failure_reason == reason
    assert [(e.state, e.last_error) for e in enrolled.emails.all()] == [("failed", reason)]

    nameless.first_name = "Grace"
    nameless.save()
    enrollment.resume(enrolled.sequence.created_by, enrolled.pk, clock=clock)
    assert worker.tick().handed_over == 1
    assert sent_to(smtp_server) == [["anon@initech.test"]]
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
    assert sent_to(smtp_server) == [["ada@initech.test"]]
    email.refresh_from_db()
    assert (email.state, email.sent_at) == ("sent", START.replace(hour=13))


def test_pacing_defers_emails_over_the_hourly_limit_and_drops_none(
    admin, publish, mailbox, clock, worker, smtp_server
):
    mailbox.per_hour = 2
    mailbox.save()
    sequence = publish()
    for i in range(3):
        enroll_one(admin, sequence, mailbox, make_person(f"P{i}", f"p{i}@initech.test"), clock)
    assert worker.tick().handed_over == 2
    # All three are due at once, so which one waits is the database's choice.
    waiting = ScheduledEmail.objects.get(state="scheduled", step=0)
    first_two = [to for [to] in sent_to(smtp_server)]
    assert sorted([*first_two, waiting.enrollment.email]) == [
        "p0@initech.test",
        "p1@initech.test",
        "p2@initech.test",
    ]
    assert waiting.due_at == START + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    assert worker.tick().handed_over == 1
    assert sent_to(smtp_server)[2:] == [[waiting.enrollment.email]]
    assert ScheduledEmail.objects.filter(state="sent").count() == 3


def test_a_recipient_rejected_permanently_exits_as_bounced(
    admin, publish, mailbox, clock, worker, smtp_server
):
    smtp_server.reply_to("gone@initech.test", "550 5.1.1 No such user", at="rcpt")
    enrolled = enroll_one(
        admin, publish(), mailbox, make_person("Gone", "gone@initech.test"), clock
    )
    worker.tick()
    assert smtp_server.messages == []
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "bounced")
    bounced = enrolled.emails.get()
    assert (bounced.state, bounced.attempts) == ("bounced", 1)
    refusal = "The recipient was rejected (recipient gone@initech.test): 550 5.1.1 No such user"
    assert bounced.last_error == refusal

    # The address is now known to be undeliverable: no sequence may enroll it again.
    other = publish()
    [again] = enrollment.enroll(
        admin, other.pk, [Recipient(enrolled.person_id)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert (again.code, again.enrollment_id) == ("undeliverable", None)
    assert again.message == (
        f"Mail to gone@initech.test bounced on 2026-03-02 ({refusal}); "
        "correct the address or choose another of theirs."
    )


def test_a_recipient_rejected_permanently_ends_their_other_sequences_at_that_address(
    admin, publish, mailbox, clock, worker, smtp_server
):
    smtp_server.reply_to("gone@initech.test", "550 5.1.1 No such user", at="rcpt")
    person = make_person("Gone", "gone@initech.test")
    EmailAddress.objects.create(person=person, email="gone@home.test", position=1)
    first = enroll_one(admin, publish(), mailbox, person, clock)
    # Two more sequences, due at the same moment: one to the same address, one to the
    # person's other address.
    second = enroll_one(admin, publish(), mailbox, person, clock)
    [home] = enrollment.enroll(
        admin,
        publish().pk,
        [Recipient(person.pk, email="gone@home.test")],
        mailbox_id=mailbox.pk,
        clock=clock,
    ).outcomes
    assert home.enrolled, home

    worker.tick()

    # The refused address got nothing more, not even the email claimed with it.
    assert sent_to(smtp_server) == [["gone@home.test"]]
    for ended in (first, second):
        ended.refresh_from_db()
        assert (ended.status, ended.exit_reason) == ("exited", "bounced")
    assert second.emails.get().state == "cancelled"
    assert Enrollment.objects.get(pk=home.enrollment_id).status == "active"


def test_a_temporary_failure_is_retried_later(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    smtp_server.queue("421 4.7.0 Try again later", at="mail")
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    assert worker.tick().handed_over == 1
    assert smtp_server.messages == []
    email = enrolled.emails.get()
    assert (email.state, email.attempts) == ("scheduled", 1)
    assert "421 4.7.0 Try again later" in email.last_error
    # The first retry waits a minute, give or take the 20 % jitter that spreads retries.
    assert START + timedelta(seconds=48) <= email.due_at <= START + timedelta(seconds=72)
    clock.set(email.due_at - timedelta(microseconds=1))
    assert worker.tick().claimed == 0
    clock.set(email.due_at)
    assert worker.tick().handed_over == 1
    assert sent_to(smtp_server) == [["ada@initech.test"]]
    email.refresh_from_db()
    assert (email.state, email.attempts, email.sent_at) == ("sent", 2, email.due_at)


def test_an_authentication_failure_pauses_the_mailbox_keeps_the_email_and_tells_its_owner(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    mailbox.smtp_password = "wrong"
    mailbox.save()
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    assert smtp_server.messages == []
    mailbox.refresh_from_db()
    assert mailbox.status == "disconnected"
    kept = enrolled.emails.get()
    assert (kept.state, kept.sent_at) == ("scheduled", None)
    [notice] = admin.notifications.all()
    assert notice.kind == "mailbox_paused"
    assert notice.message.startswith("Sending from alice@example.test stopped: ")
    assert notice.message.endswith("Its emails are kept and go out once the mailbox works again.")


def test_an_unsubscribed_address_gets_nothing_more(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    from sequencer.sequences.suppression import suppress

    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    suppress(mailbox.email, "ada@initech.test", reason="unsubscribed", clock=system_clock)
    worker.tick()
    assert smtp_server.messages == []
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "unsubscribed")
    assert [e.state for e in enrolled.emails.all()] == ["cancelled"]
    clock.advance(timedelta(days=10))
    assert worker.tick().claimed == 0


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
    assert (live.step, live.state, live.due_at) == (0, "scheduled", START + timedelta(days=1))
    assert worker.tick().handed_over == 1
    assert sent_to(smtp_server) == [["ada@initech.test"]]
    live.refresh_from_db()
    assert (live.state, live.sent_at) == ("sent", START + timedelta(days=1))


def test_send_now_skips_the_wait_but_not_the_limits(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    mailbox.min_spacing_seconds = 600
    mailbox.save()
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    assert worker.tick().handed_over == 1
    clock.advance(timedelta(minutes=1))
    enrollment.send_now(admin, enrolled.pk, clock=clock)
    [waiting] = enrolled.emails.filter(state="scheduled")
    assert (waiting.step, waiting.due_at) == (1, START + timedelta(minutes=1))
    assert worker.tick().handed_over == 0
    assert len(smtp_server.messages) == 1  # ten minutes must pass between two emails
    waiting.refresh_from_db()
    assert waiting.due_at == START + timedelta(minutes=10)
    clock.advance(timedelta(minutes=9))
    assert worker.tick().handed_over == 1
    assert sent_to(smtp_server) == [["ada@initech.test"]] * 2
    waiting.refresh_from_db()
    assert (waiting.state, waiting.sent_at) == ("sent", START + timedelta(minutes=10))
