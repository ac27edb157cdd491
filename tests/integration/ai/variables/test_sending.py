"""AI text in sent emails: written in the preview or ahead of the send, never by the send,
and an email whose text cannot be written waits, saying why, instead of going out broken.

Emails go to the real SMTP peer; the model is a generator deriving its text from the
request (see ``deriving``).
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.test import Client

from sequencer.ai import variables
from sequencer.ai.models import AiGeneration, AiText
from sequencer.engine import dispatch
from sequencer.engine.ai_ahead import write_ahead
from sequencer.engine.claim import claim_due
from sequencer.engine.outbox import outbox
from sequencer.engine.worker import Worker
from sequencer.sequences.models import ScheduledEmail, SequenceVersion
from sequencer.sequences.templating import AiTextMissing
from tests.integration.ai.variables.deriving import failing
from tests.integration.ai.variables.helpers import SLOT, WITH_FALLBACK, enroll, one_step, preview
from tests.integration.engine.conftest import START, make_person

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=5)


def received(smtp_server):
    return [message_from_bytes(m.data, policy=policy.default) for m in smtp_server.messages]


def bodies(message):
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return html, text


def test_what_the_preview_showed_is_what_the_recipient_receives(
    admin, publish, person, mailbox, clock, generator, worker, smtp_server
):
    sequence = publish(one_step())
    shown = preview(sequence, person, mailbox, clock)
    asked = len(generator.requests)
    enrolled = enroll(admin, sequence, mailbox, person, clock)

    assert worker.tick().handed_over == 1

    [message] = received(smtp_server)
    html, text = bodies(message)
    [row] = AiText.objects.all()
    assert row.text in html
    # The email as previewed and as received, up to the unsubscribe footer (whose link
    # is a placeholder in a preview).
    assert text.split("Thanks")[0] == shown.text.split("Thanks")[0]
    assert len(generator.requests) == asked  # the send wrote nothing
    assert enrolled.emails.get(step=0).state == "sent"


def test_the_engine_writes_the_text_ahead_and_sends_it_in_the_same_round(
    admin, publish, person, mailbox, clock, generator, worker, smtp_server
):
    enroll(admin, publish(one_step()), mailbox, person, clock)

    report = worker.tick()

    assert (report.ai_written, report.handed_over) == (1, 1)
    [row] = AiText.objects.all()
    [message] = received(smtp_server)
    assert row.text in bodies(message)[1]
    assert [g.outcome for g in AiGeneration.objects.all()] == ["ok"]


def test_the_send_itself_never_calls_the_model_and_waits_for_the_text(
    admin, publish, person, mailbox, clock, generator
):
    enrolled = enroll(admin, publish(one_step()), mailbox, person, clock)
    [email_id] = claim_due(clock.now(), limit=5, lease=LEASE, owner="w")

    def no_provider(mailbox):
        raise AssertionError("nothing is handed over while the text is missing")

    handed_over = dispatch.send_claimed(
        [email_id],
        owner="w",
        clock=clock,
        lease=LEASE,
        provider_for=no_provider,
        random=lambda: 0.5,
        ai_generator=generator,
    )

    assert not handed_over

    assert generator.requests == []
    email = ScheduledEmail.objects.get(pk=email_id)
    assert (email.state, email.due_at) == ("scheduled", START + dispatch.AI_TEXT_RECHECK)
    assert email.last_error == str(AiTextMissing(0))
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_a_model_failing_three_times_holds_the_email_showing_why_and_sends_nothing(
    admin, api, publish, person, mailbox, clock, generator, worker, smtp_server
):
    generator.script = failing(3)
    sequence = publish(one_step())
    enrolled = enroll(admin, sequence, mailbox, person, clock)

    assert worker.tick().handed_over == 0

    assert smtp_server.messages == []
    email = enrolled.emails.get(step=0)
    reason = "the model server did not answer (3 tries)"
    assert email.state == "scheduled"
    assert email.last_error == str(AiTextMissing(0, reason))
    assert reason in email.last_error
    assert [g.outcome for g in AiGeneration.objects.all()] == ["failed"] * 3
    shown = api.get(f"enrollments/{enrolled.pk}").data
    assert shown["status"] == "active"
    assert shown["emails"][0]["last_error"] == email.last_error
    # The Recipients tab says it too, in the recipient's detail.
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    page = browser.get(f"/sequences/{sequence.pk}/recipients/?recipient={enrolled.pk}")
    assert f"Email 1: {email.last_error}" in page.content.decode()
    # And the sender's outbox.
    [queue] = outbox([mailbox], clock)
    [waiting] = queue.emails
    assert waiting.reason == email.last_error

    # The model works again: the slot is tried again once its wait is over, then sent.
    clock.advance(variables.RETRY_AFTER)
    report = worker.tick()
    assert (report.ai_written, report.handed_over) == (1, 1)
    [message] = received(smtp_server)
    assert AiText.objects.get().text in bodies(message)[1]
    assert [r.seed for r in generator.requests] == [0, 1, 2, 3]


def test_with_a_fallback_the_fallback_is_sent_after_three_failed_tries(
    admin, publish, person, mailbox, clock, generator, worker, smtp_server
):
    generator.script = failing(3)
    sequence = publish(one_step(f"<p>Hi {{{{ person.first_name }}}},</p><p>{WITH_FALLBACK}</p>"))
    enroll(admin, sequence, mailbox, person, clock)

    assert worker.tick().handed_over == 1

    [message] = received(smtp_server)
    assert "<p>I hope the quarter is going well.</p>" in bodies(message)[0]
    assert len(generator.requests) == 3


def test_without_a_model_a_fallback_goes_out_and_a_slot_without_one_waits_saying_so(
    admin, publish, person, mailbox, clock, smtp_server
):
    no_model = Worker(clock=clock, name="plain-worker", ai_generator=lambda: None)
    with_fallback = publish(one_step(f"<p>Hi,</p><p>{WITH_FALLBACK}</p>"))
    without = publish(one_step())
    enroll(admin, with_fallback, mailbox, person, clock)
    held = enroll(admin, without, mailbox, person, clock)

    assert no_model.tick().handed_over == 1

    [message] = received(smtp_server)
    assert "I hope the quarter is going well." in bodies(message)[1]
    email = held.emails.get(step=0)
    assert email.state == "scheduled"
    assert email.last_error == str(AiTextMissing(0, variables.NO_MODEL))


def test_the_writer_looks_only_at_emails_due_soon_and_writes_a_few_each_round(
    admin, publish, person, mailbox, clock, generator
):
    soon = publish(one_step())
    later = publish([(0, "Hello", "<p>Hi,</p>"), (2, "", f"<p>{SLOT}</p>")])
    enroll(admin, soon, mailbox, person, clock)
    enroll(admin, soon, mailbox, make_person("Bob", "bob@initech.test"), clock)
    enroll(admin, later, mailbox, make_person("Cy", "cy@initech.test"), clock)

    assert write_ahead(clock.now(), clock=clock, generator=generator, per_tick=1) == 1
    assert write_ahead(clock.now(), clock=clock, generator=generator, per_tick=1) == 1
    assert write_ahead(clock.now(), clock=clock, generator=generator, per_tick=1) == 0

    # Two texts: the first emails of the sequence with a slot; the other sequence's slot
    # is in its second email, not due for two days.
    assert AiText.objects.count() == 2
    assert len(generator.requests) == 2


def test_a_version_is_marked_at_publish_for_whether_any_step_has_an_ai_variable(publish):
    plain = publish([(0, "Hello", "<p>Hi,</p>")])
    later_slot = publish([(0, "Hello", "<p>Hi,</p>"), (2, "", f"<p>{SLOT}</p>")])
    in_subject = publish([(0, "{% ai %}A subject{% endai %}", "<p>Hi,</p>")])

    assert [s.versions.get().has_ai_slots for s in (plain, later_slot, in_subject)] == [
        False,
        True,
        True,
    ]


def test_the_writer_reads_nothing_when_no_due_email_belongs_to_a_version_with_ai(
    admin, publish, mailbox, clock, generator, django_assert_num_queries
):
    plain = publish([(0, "Hello", "<p>Hi {{ person.first_name }},</p>")])
    for n in range(5):
        enroll(admin, plain, mailbox, make_person(f"P{n}", f"p{n}@initech.test"), clock)

    # One query that finds no candidate: no email, version or setting is read.
    with django_assert_num_queries(1):
        assert write_ahead(clock.now(), clock=clock, generator=generator) == 0
    assert generator.requests == []


def test_a_threaded_follow_up_keeps_the_first_subject_and_writes_its_body(
    admin, publish, person, mailbox, clock, generator, worker, smtp_server
):
    sequence = publish(
        [
            (0, "{% ai %}A few words on {{ company.name }}{% endai %}", "<p>Hi,</p>"),
            (1, "", f"<p>Following up.</p><p>{SLOT}</p>"),
        ]
    )
    enroll(admin, sequence, mailbox, person, clock)
    assert worker.tick().handed_over == 1
    clock.advance(timedelta(days=1))
    assert worker.tick().handed_over == 1

    first, second = received(smtp_server)
    subject_text = AiText.objects.get(field="subject").text
    body_text = AiText.objects.get(step=1, field="body").text
    assert first["Subject"] == subject_text
    assert second["Subject"] == f"RE: {subject_text}"
    assert body_text in bodies(second)[1]
    assert AiText.objects.count() == 2


def test_the_enrollment_preview_shows_sent_text_as_stored_and_writes_the_next_emails(
    admin, api, publish, person, mailbox, clock, generator, worker, smtp_server
):
    sequence = publish([*one_step(), (2, "", f"<p>Next: {SLOT}</p>")])
    enrolled = enroll(admin, sequence, mailbox, person, clock)
    assert worker.tick().handed_over == 1
    sent_text = AiText.objects.get(step=0).text

    shown = api.get(f"enrollments/{enrolled.pk}/preview").data

    assert shown[0]["state"] == "sent" and sent_text in shown[0]["html"]
    next_text = AiText.objects.get(step=1).text
    assert next_text in shown[1]["html"] and shown[1]["problem"] is None
    assert len(generator.requests) == 2


def test_the_writer_starts_no_new_email_once_its_time_budget_is_spent(
    admin, publish, person, mailbox, clock, generator
):
    sequence = publish(one_step())
    enroll(admin, sequence, mailbox, person, clock)
    enroll(admin, sequence, mailbox, make_person("Bob", "bob@initech.test"), clock)
    slow = generator.generate

    def generate_slowly(request):
        clock.advance(timedelta(seconds=45))
        return slow(request)

    generator.generate = generate_slowly
    started = clock.now()

    assert write_ahead(started, clock=clock, generator=generator, budget=timedelta(seconds=40)) == 1
    assert AiText.objects.count() == 1


def test_versions_published_before_the_flag_existed_are_marked_by_the_migration(publish):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("sequencer.sequences.migrations.0009_version_has_ai_slots")
    plain = publish([(0, "Hello", "<p>Hi,</p>")])
    with_ai = publish([(0, "Hello", "<p>{%- ai -%}A line{% endai %}</p>")])
    SequenceVersion.objects.update(has_ai_slots=False)  # as every row was before it ran

    migration.mark_versions(apps, None)

    assert not plain.versions.get().has_ai_slots
    assert with_ai.versions.get().has_ai_slots
