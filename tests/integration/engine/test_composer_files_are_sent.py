"""Files added in the sequence editor travel with the email, through the real SMTP peer."""

from email import message_from_bytes, policy

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sequencer.clock import system_clock
from sequencer.engine.worker import Worker
from sequencer.sequences import authoring, enrollment
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Sequence
from tests.integration.engine.conftest import ALL_DAY
from tests.integration.engine.test_files import PIXEL
from tests.integration.web.test_sequence_editor_page import _form

pytestmark = pytest.mark.django_db


def test_an_attachment_and_an_inline_image_from_the_composer_are_in_the_sent_email(
    admin, mailbox, person, clock, smtp_server
):
    sequence = authoring.create_sequence(
        admin,
        name="Files",
        settings=ALL_DAY,
        steps=[StepInput(delay_days=0, subject="With files", body_html="<p>Hi</p>")],
        clock=system_clock,
    )
    browser = Client()
    browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    upload = f"/sequences/{sequence.pk}/files/"
    pdf = browser.post(
        upload, {"file": SimpleUploadedFile("brochure.pdf", b"%PDF-1.4 tiny", "application/pdf")}
    ).json()
    logo = browser.post(
        upload, {"file": SimpleUploadedFile("logo.png", PIXEL, "image/png"), "inline": "1"}
    ).json()
    body = f'<p>Hi {{{{ person.first_name }}}} <img src="cid:{logo["content_id"]}" alt="logo"></p>'
    form = _form(
        sequence, **{"steps-0-body_html": body, "steps-0-attachment_ids": [str(pdf["id"])]}
    )
    assert browser.post(f"/sequences/{sequence.pk}/publish/", form).status_code == 302
    assert Sequence.objects.get(pk=sequence.pk).status != "draft"

    enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    )
    Worker(clock=clock).tick()

    message = message_from_bytes(smtp_server.messages[0].data, policy=policy.default)
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert files["brochure.pdf"].get_content() == b"%PDF-1.4 tiny"
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{logo['content_id']}>"
    assert image.get_content() == PIXEL
    html = message.get_body(("html",)).get_content()
    assert f'src="cid:{logo["content_id"]}"' in html and "Hi Ada" in html
