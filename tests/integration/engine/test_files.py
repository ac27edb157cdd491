import base64
from email import message_from_bytes, policy

import pytest

from sequencer.clock import system_clock
from sequencer.engine.worker import Worker
from sequencer.sequences import attachments, authoring, enrollment
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.enrollment import Recipient
from tests.integration.engine.conftest import ALL_DAY

pytestmark = pytest.mark.django_db

# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_attachments_and_inline_images_arrive_in_the_right_mime_structure(
    admin, mailbox, person, clock, smtp_server
):
    pdf = attachments.upload(
        admin, name="brochure.pdf", content_type="application/pdf", data=b"%PDF-1.4 tiny"
    )
    logo = attachments.upload(
        admin, name="logo.png", content_type="image/png", data=PIXEL, inline=True
    )
    sequence = authoring.create_sequence(
        admin,
        name="Files",
        settings=ALL_DAY,
        steps=[
            StepInput(
                delay_days=0,
                subject="With files",
                body_html=f'<p>Hi {{{{ person.first_name }}}}</p><img src="cid:{logo.content_id}">',
                attachment_ids=[pdf.pk],
            )
        ],
        clock=system_clock,
    )
    authoring.publish(admin, sequence.pk, clock=system_clock)
    enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    )
    Worker(clock=clock).tick()

    message = message_from_bytes(smtp_server.messages[0].data, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert files["brochure.pdf"].get_content() == b"%PDF-1.4 tiny"
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{logo.content_id}>"
    assert image.get_content() == PIXEL
    html = message.get_body(("html",)).get_content()
    assert f"cid:{logo.content_id}" in html and "Hi Ada" in html
