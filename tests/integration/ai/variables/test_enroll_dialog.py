"""The Enroll dialog's preview writes each slot's text, and that text is what is sent."""

from __future__ import annotations

import html as html_lib
from email import message_from_bytes, policy

import pytest
from django.test import Client

from sequencer.ai.models import AiText
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
