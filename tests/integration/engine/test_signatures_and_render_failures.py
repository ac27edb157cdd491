"""Signatures in sent mail, and templates that cannot be rendered for a recipient.

Sends go through the worker to the aiosmtpd peer; previews through the API.
"""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from sequencer.mail.signatures import create_signature
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment
from sequencer.sequences.rendering import StepRenderError, render_step
from sequencer.sequences.templating import AiTextMissing

pytestmark = pytest.mark.django_db

ONE_STEP = [(0, "Hello {{ person.first_name }}", "<p>Hi {{ person.first_name }}.</p>")]


def _html_and_text(received) -> tuple[str, str]:
    message = message_from_bytes(received.data, policy=policy.default)
    return (
        message.get_body(("html",)).get_content(),
        message.get_body(("plain",)).get_content(),
    )


def _preview_url(sequence, person, mailbox) -> str:
    return f"sequences/{sequence.pk}/preview?person_id={person.pk}&mailbox_id={mailbox.pk}"


def _enroll(admin, sequence, mailbox, person, clock) -> Enrollment:
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome
    return Enrollment.objects.get(pk=outcome.enrollment_id)


@pytest.fixture
def signed_mailbox(mailbox):
    create_signature(mailbox, {"name": "Full", "body_html": "<p>Alice Liddell, Wonderland Inc</p>"})
    create_signature(mailbox, {"name": "Short", "body_html": "<p>-- Alice</p>"})
    return mailbox


def test_the_default_signature_appears_in_sent_emails(
    admin, publish, signed_mailbox, person, clock, worker, smtp_server
):
    sequence = publish(ONE_STEP, include_signature=True)
    _enroll(admin, sequence, signed_mailbox, person, clock)

    assert worker.tick().handed_over == 1
    [sent] = smtp_server.messages
    html, text = _html_and_text(sent)
    assert "Alice Liddell, Wonderland Inc" in html
    assert "Alice Liddell, Wonderland Inc" in text
    assert "-- Alice" not in html
    # The signature comes after the body and before the unsubscribe line.
    assert html.index("Hi Ada.") < html.index("Wonderland Inc") < html.index("Unsubscribe")


def test_a_sequence_can_choose_another_of_the_senders_signatures(
    admin, publish, signed_mailbox, person, clock, worker, smtp_server
):
    sequence = publish(ONE_STEP, include_signature=True, signature="short")
    _enroll(admin, sequence, signed_mailbox, person, clock)

    worker.tick()
    [sent] = smtp_server.messages
    html, text = _html_and_text(sent)
    assert "-- Alice" in html and "-- Alice" in text
    assert "Wonderland Inc" not in html


def test_a_sender_without_the_chosen_signature_signs_with_their_default(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    create_signature(mailbox, {"name": "Mine", "body_html": "<p>Regards, Alice</p>"})
    sequence = publish(ONE_STEP, include_signature=True, signature="Short")
    _enroll(admin, sequence, mailbox, person, clock)

    worker.tick()
    html, _ = _html_and_text(smtp_server.messages[0])
    assert "Regards, Alice" in html


def test_turning_signatures_off_sends_none(
    admin, publish, signed_mailbox, person, clock, worker, smtp_server
):
    sequence = publish(ONE_STEP, include_signature=False, signature="Short")
    _enroll(admin, sequence, signed_mailbox, person, clock)

    worker.tick()
    html, _ = _html_and_text(smtp_server.messages[0])
    assert "-- Alice" not in html and "Wonderland Inc" not in html


def test_an_unusable_signature_setting_is_refused_naming_the_field(api):
    answer = api.post("sequences", {"name": "x", "settings": {"signature": "  "}})
    assert answer.status_code == 400
    assert answer.data["error"]["field"] == "settings.signature"


# --- Render failures -----------------------------------------------------------------


def test_an_ai_slot_without_text_stops_the_email_naming_its_step(
    admin, publish, mailbox, person, clock
):
    sequence = publish(
        [
            (0, "Hello", "<p>Hi {{ person.first_name }},</p>"),
            (1, "", "<p>Hi,{% ai %}A line about {{ company.name }}{% endai %} Thanks</p>"),
        ]
    )
    enrolled = _enroll(admin, sequence, mailbox, person, clock)
    snapshot = {"settings": enrolled.version.settings, "steps": enrolled.version.steps}

    with pytest.raises(AiTextMissing) as caught:
        render_step(
            snapshot=snapshot,
            step=1,
            person=person,
            address=enrolled.email,
            sender=mailbox,
            enrollment_id=enrolled.pk,
        )
    assert caught.value.step == 1
    assert "Step 2 has an AI slot" in str(caught.value)


def test_an_ai_slot_with_a_fallback_sends_the_fallback(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    sequence = publish(
        [(0, "Hello", '<p>Hi,{% ai fallback: " hope all is well." %}x{% endai %}</p>')]
    )
    _enroll(admin, sequence, mailbox, person, clock)

    worker.tick()
    html, _ = _html_and_text(smtp_server.messages[0])
    assert "Hi, hope all is well." in html


def test_the_preview_says_an_ai_slot_will_wait(api, publish, mailbox, person):
    sequence = publish([(0, "Hello", "<p>Hi,{% ai %}A line{% endai %} Thanks</p>")])
    answer = api.get(
        f"sequences/{sequence.pk}/preview?person_id={person.pk}&mailbox_id={mailbox.pk}"
    )
    assert answer.status_code == 200
    [email] = answer.data
    assert email["problem"].startswith("AI text not written yet: this email will wait")
    assert "Thanks" in email["html"]


def test_a_template_failing_for_one_recipient_is_a_render_error_naming_step_and_field(
    admin, publish, mailbox, person, clock
):
    # Publishes: the divisor is a record value, and "Ada" reads as 0 only when rendered.
    sequence = publish([(0, "Hello", "<p>{{ 10 | divided_by: person.first_name }}</p>")])
    enrolled = _enroll(admin, sequence, mailbox, person, clock)

    with pytest.raises(StepRenderError) as caught:
        render_step(
            snapshot={"settings": enrolled.version.settings, "steps": enrolled.version.steps},
            step=0,
            person=person,
            address=enrolled.email,
            sender=mailbox,
            enrollment_id=enrolled.pk,
        )
    message = str(caught.value)
    assert message.startswith("Step 1's body cannot be rendered: divided_by: can't divide by 0")
    assert "(line 1)" in message and "publish the sequence again" in message
    assert (caught.value.step, caught.value.field) == (0, "body")


def test_the_preview_of_a_template_that_fails_shows_the_reason_instead_of_an_error(
    api, publish, mailbox, person
):
    sequence = publish(
        [
            (0, "Hello", "<p>{{ 10 | divided_by: person.first_name }}</p>"),
            (1, "", "<p>Second.</p>"),
        ]
    )
    answer = api.get(
        f"sequences/{sequence.pk}/preview?person_id={person.pk}&mailbox_id={mailbox.pk}"
    )
    assert answer.status_code == 200
    first, second = answer.data
    assert "divided_by: can't divide by 0" in first["problem"]
    assert second["problem"] is None and "Second." in second["html"]


def test_a_range_built_from_a_record_value_fails_that_render_not_the_process(
    admin, publish, mailbox, person, clock
):
    person.first_name = "3000000"
    person.save()
    sequence = publish([(0, "Hello", '<p>{{ (1..person.first_name) | join: "" | size }}</p>')])
    enrolled = _enroll(admin, sequence, mailbox, person, clock)

    with pytest.raises(StepRenderError, match="a range of 3000000 numbers is too long"):
        render_step(
            snapshot={"settings": enrolled.version.settings, "steps": enrolled.version.steps},
            step=0,
            person=person,
            address=enrolled.email,
            sender=mailbox,
            enrollment_id=enrolled.pk,
        )
