"""The composer's files: uploading attachments and inline images, the list, reading back."""

from __future__ import annotations

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import attachments, authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Attachment, Sequence

from .conftest import LEVELS
from .test_sequence_editor_page import _form

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _upload(client: Client, sequence: Sequence, name: str, data: bytes, **fields: object):
    return client.post(
        f"/sequences/{sequence.pk}/files/",
        {"file": SimpleUploadedFile(name, data, content_type="application/pdf"), **fields},
    )


def _with_files(admin, make_sequence) -> tuple[Sequence, Attachment, Attachment]:
    """A sequence whose step has an attachment and shows an inline image."""
    pdf = attachments.upload(
        admin, name="brochure.pdf", content_type="application/pdf", data=b"%PDF"
    )
    logo = attachments.upload(
        admin, name="logo.png", content_type="image/png", data=PIXEL, inline=True
    )
    sequence = make_sequence(name="With files")
    authoring.update_draft(
        admin,
        sequence.pk,
        steps=[
            StepInput(
                subject="Hello",
                body_html=f'<p>Hi <img src="cid:{logo.content_id}"></p>',
                attachment_ids=[pdf.pk],
            )
        ],
        clock=system_clock,
    )
    return sequence, pdf, logo


@pytest.mark.parametrize("level", ["not_signed_in", *LEVELS])
def test_uploading_a_file_needs_read_and_write_access_to_the_sequence(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence()
    client = Client() if level == "not_signed_in" else browser_of(member_with(sequence, level))

    response = _upload(client, sequence, "plan.pdf", b"%PDF-1.4 plan")

    stored = Attachment.objects.filter(name="plan.pdf")
    if level == "not_signed_in":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif level == "no_access":
        assert response.status_code == 404
    elif level == "read_only":
        assert response.status_code == 403
    else:
        assert response.status_code == 201
        answer = response.json()
        assert answer["name"] == "plan.pdf" and answer["size"] == 13
        assert answer["size_label"] == "13\xa0bytes" and answer["inline"] is False
        assert answer["url"] == f"/files/{answer['id']}/"
        assert stored.get().pk == answer["id"]
        return
    assert not stored.exists()


def test_an_upload_without_the_csrf_token_is_refused(admin, make_sequence):
    sequence = make_sequence()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    response = _upload(client, sequence, "plan.pdf", b"%PDF")

    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_an_archived_sequence_takes_no_uploads(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.archive(admin, sequence.pk, clock=system_clock)

    response = _upload(browser_of(admin), sequence, "plan.pdf", b"%PDF")

    assert response.status_code == 400
    assert "archived" in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "inline", "message"),
    [
        (
            b"x" * int(12.3 * MB),
            "0",
            "The file is 12.3 MB; each file may be at most 10 MB. "
            "Share larger files as a link instead.",
        ),
        (b"", "0", "The file is empty; choose another."),
        (b"%PDF-1.4 not a picture", "1", "An inline image must be a PNG, JPEG, GIF or WebP file."),
    ],
    ids=["too_large", "empty", "not_an_image_for_inline"],
)
def test_a_refused_upload_says_why_in_words(
    admin, browser_of, make_sequence, data, inline, message
):
    sequence = make_sequence()

    response = _upload(browser_of(admin), sequence, "file.png", data, inline=inline)

    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not Attachment.objects.exists()


def test_a_file_that_would_take_the_email_over_25_mb_is_refused_before_it_is_stored(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    big = [
        attachments.upload(admin, name=f"{i}.bin", content_type="", data=b"x" * (9 * MB))
        for i in range(2)
    ]

    response = _upload(
        browser_of(admin),
        sequence,
        "third.bin",
        b"x" * (9 * MB),
        attachment_ids=[str(f.pk) for f in big],
        body_html="<p>Hi</p>",
    )

    assert response.status_code == 400
    assert response.json()["error"] == (
        "With this file, the attachments and images of this email would add up to 27.0 MB; "
        "one email may carry at most 25 MB."
    )
    assert Attachment.objects.count() == 2


def test_an_inline_image_upload_answers_its_content_id_and_display_address(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()

    response = _upload(browser_of(admin), sequence, "logo.png", PIXEL, inline="1")

    answer = response.json()
    assert response.status_code == 201 and answer["inline"] is True
    assert answer["content_id"].endswith("@sequencer")
    assert answer["url"] == f"/files/inline/{answer['content_id']}/"
    assert Attachment.objects.get().content_type == "image/png"  # sniffed, not as declared


@pytest.mark.parametrize("level", ["not_signed_in", *LEVELS])
def test_files_are_read_back_only_by_members_who_may_use_them(
    admin, browser_of, make_sequence, member_with, level
):
    sequence, pdf, logo = _with_files(admin, make_sequence)
    client = Client() if level == "not_signed_in" else browser_of(member_with(sequence, level))

    download = client.get(f"/files/{pdf.pk}/")
    image = client.get(f"/files/inline/{logo.content_id}/")

    if level == "not_signed_in":
        assert download.status_code == image.status_code == 302
    elif level == "no_access":
        assert download.status_code == image.status_code == 404
    else:
        assert download.status_code == 200 and download.content == b"%PDF"
        assert download["Content-Disposition"] == 'attachment; filename="brochure.pdf"'
        assert download["X-Content-Type-Options"] == "nosniff"
        assert image.status_code == 200 and image.content == PIXEL
        assert image["Content-Type"] == "image/png"
        assert image["X-Content-Type-Options"] == "nosniff"
        assert "img-src 'self'" in image["Content-Security-Policy"]


def test_a_file_nobody_shared_is_not_found_even_by_id(admin, browser_of, make_member):
    mine = attachments.upload(admin, name="private.pdf", content_type="", data=b"secret")
    image = attachments.upload(admin, name="p.png", content_type="", data=PIXEL, inline=True)
    other = browser_of(make_member())

    assert other.get(f"/files/{mine.pk}/").status_code == 404
    assert other.get(f"/files/inline/{image.content_id}/").status_code == 404
    # An attachment is never shown inline, even to its owner.
    assert browser_of(admin).get(f"/files/inline/{mine.content_id or 'x'}/").status_code == 404


def test_attached_files_and_inline_images_are_kept_with_the_draft_and_published(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    client = browser_of(admin)
    pdf = _upload(client, sequence, "brochure.pdf", b"%PDF-1.4").json()
    logo = _upload(client, sequence, "logo.png", PIXEL, inline="1").json()
    body = f'<p>See <img src="cid:{logo["content_id"]}" alt="logo"></p>'

    saved = client.post(
        f"/sequences/{sequence.pk}/save/",
        _form(sequence, **{"steps-0-body_html": body, "steps-0-attachment_ids": [pdf["id"]]}),
    )
    assert "all changes saved" in saved.content.decode()

    page = client.get(f"/sequences/{sequence.pk}/").content.decode()
    assert f'<a href="/files/{pdf["id"]}/" download>brochure.pdf</a>' in page
    assert 'aria-label="Remove brochure.pdf"' in page
    assert f'name="steps-0-attachment_ids" value="{pdf["id"]}"' in page
    assert f"&lt;img src=&quot;cid:{logo['content_id']}&quot; alt=&quot;logo&quot;&gt;" in page
    assert 'aria-label="Attach file"' in page and 'aria-label="Insert image"' in page
    assert "Attachments: up to 10 MB each, 25 MB per email." in page

    client.post(f"/sequences/{sequence.pk}/publish/", _form(Sequence.objects.get(pk=sequence.pk)))
    version = authoring.latest_version(sequence)
    assert version is not None
    assert version.steps[0]["attachment_ids"] == [pdf["id"]]
    assert version.steps[0]["inline_image_ids"] == [logo["id"]]
    assert version.steps[0]["body_html"] == body


def test_saving_without_an_attachment_removes_it_from_the_step(admin, browser_of, make_sequence):
    sequence, pdf, _ = _with_files(admin, make_sequence)
    form = _form(sequence)
    assert form["steps-0-attachment_ids"] == [pdf.pk]
    del form["steps-0-attachment_ids"]  # the form as posted once "Remove" was pressed

    browser_of(admin).post(f"/sequences/{sequence.pk}/save/", form)

    assert authoring.draft_snapshot(sequence)["steps"][0]["attachment_ids"] == []


def test_an_unknown_attachment_id_is_refused_next_to_the_attachments(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    response = browser_of(admin).post(
        f"/sequences/{sequence.pk}/save/", _form(sequence, **{"steps-0-attachment_ids": ["999"]})
    )
    assert "Not saved: Step 1 · Attachments: There is no attachment with id 999" in (
        response.content.decode()
    )


def test_a_read_only_member_sees_the_files_but_cannot_change_them(
    admin, browser_of, make_sequence, member_with
):
    sequence, pdf, logo = _with_files(admin, make_sequence)
    viewer = member_with(sequence, "read_only")

    page = browser_of(viewer).get(f"/sequences/{sequence.pk}/").content.decode()

    assert f'<a href="/files/{pdf.pk}/" download>brochure.pdf</a>' in page
    assert f"cid:{logo.content_id}" in page
    assert "Remove brochure.pdf" not in page
    assert 'aria-label="Attach file"' not in page and 'aria-label="Insert image"' not in page
    assert "data-attachment-row" not in page


def test_the_editor_costs_the_same_queries_for_1_and_12_attachments(
    admin, browser_of, make_sequence
):
    client = browser_of(admin)

    def sequence_with(count: int) -> Sequence:
        files = [
            attachments.upload(admin, name=f"{i}.pdf", content_type="", data=b"%PDF")
            for i in range(count)
        ]
        sequence = make_sequence()
        steps = [
            StepInput(subject="Hi", body_html="<p>Hi</p>", attachment_ids=[f.pk for f in files])
            for _ in range(3)
        ]
        authoring.update_draft(admin, sequence.pk, steps=steps, clock=system_clock)
        return sequence

    few, many = sequence_with(1), sequence_with(12)
    client.get(f"/sequences/{few.pk}/")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/sequences/{few.pk}/")
    with CaptureQueriesContext(connection) as twelve:
        page = client.get(f"/sequences/{many.pk}/").content.decode()

    assert len(re.findall(r'aria-label="Remove \d+\.pdf"', page)) == 36
    assert len(twelve) == len(one)


def test_adding_a_step_keeps_the_files_listed_on_the_others(admin, browser_of, make_sequence):
    sequence, pdf, _ = _with_files(admin, make_sequence)

    canvas = browser_of(admin).post(
        f"/sequences/{sequence.pk}/steps/", _form(sequence, action="add")
    )

    assert f'aria-label="Remove {pdf.name}"' in canvas.content.decode()
    assert authoring.draft_snapshot(sequence)["steps"][0]["attachment_ids"] == [pdf.pk]
