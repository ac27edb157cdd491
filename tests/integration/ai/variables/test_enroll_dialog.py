"""The Enroll dialog's preview writes each slot's text, and that text is what is sent."""

from __future__ import annotations

import html as html_lib
from email import message_from_bytes, policy

import pytest
from django.test import Client

from sequencer.ai.models import AiText
from tests.integration.ai.variables.helpers import WITH_FALLBACK as WITH_FALLBACK_SLOT
from tests.integration.ai.variables.helpers import enroll, one_step

pytestmark = pytest.mark.django_db


def test_the_dialog_preview_writes_the_text_that_the_recipient_then_receives(
    admin, publish, person, mailbox, clock, generator, worker, smtp_server
):
    sequence = publish(one_step())
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    page = browser.get(f"/enroll/?sequence={sequence.pk}&person={person.pk}&preview={person.pk}")

    assert page.status_code == 200
    [row] = AiText.objects.all()
    assert row.text in html_lib.unescape(page.content.decode())
    assert len(generator.requests) == 1

    enroll(admin, sequence, mailbox, person, clock)
    assert worker.tick().handed_over == 1
    [received] = smtp_server.messages
    message = message_from_bytes(received.data, policy=policy.default)
    assert row.text in message.get_body(("plain",)).get_content()
    assert len(generator.requests) == 1


def test_the_dialog_preview_says_when_the_fallback_stands_in_and_why(
    admin, publish, person, mailbox, generator
):
    from tests.integration.ai.variables.deriving import failing
    from tests.integration.ai.variables.helpers import WITH_FALLBACK

    generator.script = failing(3)
    sequence = publish(one_step(f"<p>Hi,</p><p>{WITH_FALLBACK}</p>"))
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    page = html_lib.unescape(
        browser.get(
            f"/enroll/?sequence={sequence.pk}&person={person.pk}&preview={person.pk}"
        ).content.decode()
    )

    assert "I hope the quarter is going well." in page
    assert (
        "AI text could not be written (the model server did not answer (3 tries)), "
        "so the fallback you wrote is sent instead." in page
    )
    # Shown again from the stored fallback, without asking the model again.
    again = browser.get(f"/enroll/?sequence={sequence.pk}&person={person.pk}&preview={person.pk}")
    assert "so the fallback you wrote is sent instead" in again.content.decode()
    assert len(generator.requests) == 3


def test_a_preview_with_model_text_has_no_fallback_note(admin, publish, person, mailbox, generator):
    sequence = publish(one_step(f"<p>Hi,</p><p>{WITH_FALLBACK_SLOT}</p>"))
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    page = browser.get(f"/enroll/?sequence={sequence.pk}&person={person.pk}&preview={person.pk}")

    assert "fallback you wrote" not in page.content.decode()
    assert AiText.objects.get().source == "model"
