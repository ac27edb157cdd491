"""The template library, attachments and inline images."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.sequences import attachments
from sequencer.sequences.models import Attachment
from tests.integration.sequences.helpers import step

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _upload(
    client, name="terms.pdf", data=b"%PDF-1.4 hello", content_type="application/pdf", inline=False
):
    files = {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    return client.upload("attachments", files, {"inline": "true" if inline else "false"})


def _sequence(api, steps):
    created = api.post("sequences", {"name": "With files", "steps": steps})
    assert created.status_code == 201, created.data
    return created.data


# --- Attachments -----------------------------------------------------------------------------


def test_an_uploaded_file_is_stored_in_the_database_and_attached_to_a_step(api):
    uploaded = _upload(api)
    assert uploaded.status_code == 201, uploaded.data
    assert uploaded.data["name"] == "terms.pdf"
    assert uploaded.data["size"] == len(b"%PDF-1.4 hello")
    assert uploaded.data["inline"] is False
    assert uploaded.data["content_id"] is None
    assert bytes(Attachment.objects.get(pk=uploaded.data["id"]).data) == b"%PDF-1.4 hello"

    created = _sequence(
        api, [step(0, "Hi", "<p>See attached</p>", attachment_ids=[uploaded.data["id"]])]
    )
    assert created["steps"][0]["attachment_ids"] == [uploaded.data["id"]]
    api.post(f"sequences/{created['id']}/publish")
    version = api.get(f"sequences/{created['id']}/versions/1").data
    assert version["steps"][0]["attachment_ids"] == [uploaded.data["id"]]


def test_reading_a_sequence_does_not_load_the_bytes_of_its_files(api):
    upload = _upload(api).data["id"]
    created = _sequence(api, [step(0, "Hi", "<p>a</p>", attachment_ids=[upload])])
    with CaptureQueriesContext(connection) as queries:
        assert api.get(f"sequences/{created['id']}").status_code == 200
    attachment_queries = [q["sql"] for q in queries if "sequences_attachment" in q["sql"]]
    assert attachment_queries
    assert not any('"data"' in sql for sql in attachment_queries)


def test_an_attachment_can_be_downloaded_as_a_file(api):
    uploaded = _upload(api).data
    response = api.get(f"attachments/{uploaded['id']}/content")
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 hello"
    assert response["Content-Disposition"].startswith("attachment;")


def test_an_inline_image_gets_a_content_id_used_in_the_body(api):
    image = _upload(api, "logo.png", PNG, "image/png", inline=True)
    assert image.status_code == 201, image.data
    cid = image.data["content_id"]
    assert cid
    body = f'<p>Logo:</p><img src="cid:{cid}" alt="logo">'
    created = _sequence(api, [step(0, "Hi", body)])
    saved = created["steps"][0]
    assert f'src="cid:{cid}"' in saved["body_html"]
    assert saved["inline_image_ids"] == [image.data["id"]]
    assert saved["attachment_ids"] == []
    assert api.post(f"sequences/{created['id']}/publish").status_code == 200


def test_an_inline_upload_must_be_an_image(api):
    response = _upload(api, "x.png", b"not an image", "image/png", inline=True)
    assert response.status_code == 400
    assert (response.data["error"]["field"], response.data["error"]["code"]) == (
        "file",
        "not_an_image",
    )


def test_a_file_over_the_cap_is_refused_with_a_clear_message(api, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_FILE_BYTES", 1000)
    response = _upload(api, data=b"x" * 1001)
    assert response.status_code == 400
    assert response.data["error"]["code"] == "file_too_large"
    assert "at most" in response.data["error"]["message"]


def test_an_email_over_the_total_cap_is_refused_naming_the_step(api, monkeypatch):
    first = _upload(api, data=b"a" * 600).data["id"]
    second = _upload(api, data=b"b" * 600).data["id"]
    monkeypatch.setattr(attachments, "MAX_EMAIL_BYTES", 1000)
    created = _sequence(api, [step(0, "Hi", "<p>a</p>")])
    response = api.patch(
        f"sequences/{created['id']}",
        {"steps": [step(0, "Hi", "<p>a</p>", attachment_ids=[first, second])]},
    )
    assert response.status_code == 400
    assert (response.data["error"]["field"], response.data["error"]["code"]) == (
        "steps.0.attachment_ids",
        "attachments_too_large",
    )


def test_a_member_cannot_attach_or_read_someone_elses_private_upload(api, make_member, api_as):
    private = _upload(api).data["id"]
    other = api_as(make_member())
    created = other.post("sequences", {"steps": [step(0, "Hi", "<p>a</p>")]}).data
    response = other.patch(
        f"sequences/{created['id']}",
        {"steps": [step(0, "Hi", "<p>a</p>", attachment_ids=[private])]},
    )
    assert response.status_code == 400
    assert response.data["error"]["field"] == "steps.0.attachment_ids.0"
    assert other.get(f"attachments/{private}").status_code == 404
    assert other.get(f"attachments/{private}/content").status_code == 404


def test_files_of_a_sequence_a_member_can_see_stay_usable_by_them(api, make_member, api_as):
    upload = _upload(api).data["id"]
    shared = _sequence(api, [step(0, "Hi", "<p>a</p>", attachment_ids=[upload])])
    colleague = api_as(make_member())
    # The colleague has read and write access by default and can keep the file.
    same = colleague.patch(f"sequences/{shared['id']}", {"steps": shared["steps"]})
    assert same.status_code == 200, same.data
    assert colleague.get(f"attachments/{upload}").status_code == 200


# --- Template library ----------------------------------------------------------------------------


def test_a_step_is_saved_as_a_template_and_inserted_into_another_sequence(api):
    upload = _upload(api).data["id"]
    source = _sequence(
        api,
        [step(0, "Welcome {{ person.first_name }}", "<p>Body</p>", attachment_ids=[upload])],
    )
    saved = api.post(
        f"sequences/{source['id']}/steps/0/save-as-template", {"name": "Welcome email"}
    )
    assert saved.status_code == 201, saved.data
    template = saved.data
    assert template["name"] == "Welcome email"
    assert template["subject"] == "Welcome {{ person.first_name }}"
    assert template["body_html"] == "<p>Body</p>"
    assert template["attachment_ids"] == [upload]

    target = _sequence(api, [step(0, "Old", "<p>Old</p>"), step(2, "", "<p>Second</p>")])
    inserted = api.post(
        f"sequences/{target['id']}/steps/1/insert-template", {"template_id": template["id"]}
    )
    assert inserted.status_code == 200, inserted.data
    second = inserted.data["steps"][1]
    assert second["body_html"] == "<p>Body</p>"
    assert second["attachment_ids"] == [upload]
    assert second["delay_days"] == 2  # the step keeps its place in the schedule
    assert second["subject"] == "RE: Old"  # threaded: the template subject is not shown


def test_inserting_one_past_the_last_step_adds_a_step(api):
    template = api.post("templates", {"name": "T", "subject": "S", "body_html": "<p>B</p>"}).data
    target = _sequence(api, [step(0, "A", "<p>A</p>")])
    added = api.post(
        f"sequences/{target['id']}/steps/1/insert-template", {"template_id": template["id"]}
    )
    assert [s["body_html"] for s in added.data["steps"]] == ["<p>A</p>", "<p>B</p>"]
    assert added.data["steps"][1]["delay_days"] == 1
    too_far = api.post(
        f"sequences/{target['id']}/steps/5/insert-template", {"template_id": template["id"]}
    )
    assert too_far.status_code == 404


def test_templates_are_listed_read_changed_and_deleted(api):
    created = api.post(
        "templates", {"name": "Intro", "subject": "Hi", "body_html": "<p onclick='x()'>B</p>"}
    )
    assert created.status_code == 201
    assert created.data["body_html"] == "<p>B</p>"
    template_id = created.data["id"]
    assert api.get("templates").data["count"] == 1
    assert api.get(f"templates/{template_id}").data["name"] == "Intro"
    changed = api.patch(f"templates/{template_id}", {"name": "Intro v2"})
    assert changed.data["name"] == "Intro v2"
    assert changed.data["subject"] == "Hi"
    assert api.delete(f"templates/{template_id}").status_code == 204
    assert api.get(f"templates/{template_id}").status_code == 404


def test_a_template_needs_a_name(api):
    response = api.post("templates", {"name": "  ", "body_html": "<p>B</p>"})
    assert (response.data["error"]["field"], response.data["error"]["code"]) == (
        "name",
        "required",
    )


def test_two_templates_cannot_share_a_name(api):
    first = api.post("templates", {"name": "Intro", "body_html": "<p>A</p>"}).data
    other = api.post("templates", {"name": "Other", "body_html": "<p>B</p>"}).data

    again = api.post("templates", {"name": " intro ", "body_html": "<p>C</p>"})
    renamed = api.patch(f"templates/{other['id']}", {"name": "INTRO"})
    kept = api.patch(f"templates/{first['id']}", {"name": "Intro"})

    for refused in (again, renamed):
        assert refused.status_code == 400
        assert (refused.data["error"]["field"], refused.data["error"]["code"]) == (
            "name",
            "duplicate",
        )
    assert kept.status_code == 200


def test_only_the_creator_or_an_admin_changes_a_template(api, make_member, api_as):
    author = make_member()
    author_api = api_as(author)
    template_id = author_api.post("templates", {"name": "Mine", "body_html": "<p>B</p>"}).data["id"]
    colleague = api_as(make_member())
    assert colleague.get(f"templates/{template_id}").status_code == 200
    assert colleague.patch(f"templates/{template_id}", {"name": "Ours"}).status_code == 403
    assert colleague.delete(f"templates/{template_id}").status_code == 403
    assert author_api.patch(f"templates/{template_id}", {"name": "Still mine"}).status_code == 200
    assert api.delete(f"templates/{template_id}").status_code == 204


def test_inserting_an_unknown_template_answers_404(api):
    target = _sequence(api, [step(0, "A", "<p>A</p>")])
    response = api.post(f"sequences/{target['id']}/steps/0/insert-template", {"template_id": 9999})
    assert response.status_code == 404
