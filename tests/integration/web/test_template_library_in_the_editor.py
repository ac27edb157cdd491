"""Insert template and Save as template in the step composer: the endpoints behind them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import attachments, authoring, library
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import EmailTemplate

from .conftest import LEVELS
from .test_sequence_editor_page import _form

pytestmark = pytest.mark.django_db

WRITERS = {"read_write", "full_access", "admin"}


def _template(user, name: str = "Intro", **fields: object) -> EmailTemplate:
    values: dict[str, object] = {"subject": f"{name} subject", "body_html": f"<p>{name} body</p>"}
    values.update(fields)
    return library.create_template(user, name=name, clock=system_clock, **values)  # type: ignore[arg-type]


def _pdf(user):
    return attachments.upload(
        user, name="terms.pdf", data=b"%PDF-1.4 terms", content_type="application/pdf"
    )


def _save_url(sequence, position: int = 0) -> str:
    return f"/sequences/{sequence.pk}/steps/{position}/save-as-template/"


# --- The buttons ------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_only_members_who_may_edit_see_the_template_buttons(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence(steps=2)
    viewer = member_with(sequence, level)

    response = browser_of(viewer).get(f"/sequences/{sequence.pk}/")

    if level == "no_access":
        assert response.status_code == 404
        return
    html = response.content.decode()
    shown = level in WRITERS
    assert html.count("Insert template</button>") == (2 if shown else 0)
    assert html.count("Save as template</button>") == (2 if shown else 0)
    assert ('id="template-picker"' in html) == shown
    assert ("template_library.js" in html) == shown


def test_an_archived_sequence_offers_no_template_buttons(admin, browser_of, make_sequence):
    sequence = make_sequence()
    authoring.archive(admin, sequence.pk, clock=system_clock)

    html = browser_of(admin).get(f"/sequences/{sequence.pk}/").content.decode()

    assert "Insert template</button>" not in html and "Save as template</button>" not in html


# --- The picker -------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in_from_every_template_endpoint(admin, make_sequence):
    sequence = make_sequence()
    template = _template(admin)
    client = Client()

    for response in (
        client.get(f"/sequences/{sequence.pk}/templates/"),
        client.get(f"/sequences/{sequence.pk}/templates/{template.pk}/"),
        client.post(_save_url(sequence), {"template_name": "x"}),
    ):
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert EmailTemplate.objects.count() == 1


@pytest.mark.parametrize("level", LEVELS)
def test_the_picker_is_for_members_who_may_edit_the_sequence(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence()
    _template(admin, "Welcome")
    viewer = member_with(sequence, level)

    response = browser_of(viewer).get(f"/sequences/{sequence.pk}/templates/")

    expected = {"no_access": 404, "read_only": 403}.get(level, 200)
    assert response.status_code == expected
    assert ("Welcome" in response.content.decode()) == (expected == 200)


def test_the_picker_shows_name_subject_and_the_start_of_the_text(admin, browser_of, make_sequence):
    sequence = make_sequence()
    long_body = '<p>Hi {{ person.first_name | default: "you" }},</p><p>' + "word " * 60 + "</p>"
    _template(admin, "Follow-up", subject="Checking in", body_html=long_body)
    _template(admin, "<b>Bold</b> name", subject="", body_html="")

    html = browser_of(admin).get(f"/sequences/{sequence.pk}/templates/").content.decode()

    assert 'role="listbox"' in html and html.count('role="option"') == 2
    assert "Follow-up" in html and "Checking in" in html
    # Variables read as their labels, like the composer's chips.
    assert "Hi [First name], word word" in html
    assert "word …" not in html and "word…" in html  # cut at a word, short enough to scan
    # Names are text, never markup; a template without a subject says so.
    assert "&lt;b&gt;Bold&lt;/b&gt; name" in html and "No subject" in html


def test_the_search_matches_every_word_in_name_subject_or_body(admin, browser_of, make_sequence):
    sequence = make_sequence()
    _template(admin, "Pricing", subject="Our plans", body_html="<p>Discount for startups</p>")
    _template(admin, "Breakup", subject="Closing the loop", body_html="<p>Last note</p>")
    client = browser_of(admin)

    def names(q: str) -> str:
        return client.get(f"/sequences/{sequence.pk}/templates/", {"q": q}).content.decode()

    assert "Pricing" in names("plans") and "Breakup" not in names("plans")
    assert "Breakup" in names("loop LAST") and "Pricing" not in names("loop last")
    assert "Pricing" in names("startups")
    nothing = names("webinar")
    assert "No template matches “webinar”" in nothing and 'role="listbox"' not in nothing


def test_an_empty_library_says_how_to_fill_it(admin, browser_of, make_sequence):
    sequence = make_sequence()

    html = browser_of(admin).get(f"/sequences/{sequence.pk}/templates/").content.decode()

    assert "No templates yet: write a step and use Save as template" in html


def test_the_pickers_queries_do_not_grow_with_the_library(admin, browser_of, make_sequence):
    sequence = make_sequence()
    client = browser_of(admin)
    url = f"/sequences/{sequence.pk}/templates/"
    for i in range(10):
        _template(admin, f"Template {i:03}")
    client.get(url)  # the session and caches are warm for both counts

    with CaptureQueriesContext(connection) as ten:
        assert client.get(url).content.decode().count('role="option"') == 10
    for i in range(10, 200):
        _template(admin, f"Template {i:03}")
    with CaptureQueriesContext(connection) as two_hundred:
        html = client.get(url).content.decode()

    assert html.count('role="option"') == library_shown() and "type more words" in html
    assert len(two_hundred) == len(ten)


def library_shown() -> int:
    from sequencer.web.sequences.template_library import SHOWN

    return SHOWN


# --- What inserting puts into the step --------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_a_templates_content_is_for_members_who_may_edit_the_sequence(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence()
    template = _template(
        admin, "Welcome", body_html='<p>Hi {{ person.first_name | default: "there" }}</p>'
    )
    viewer = member_with(sequence, level)

    response = browser_of(viewer).get(f"/sequences/{sequence.pk}/templates/{template.pk}/")

    expected = {"no_access": 404, "read_only": 403}.get(level, 200)
    assert response.status_code == expected
    if expected == 200:
        assert response.json() == {
            "id": template.pk,
            "name": "Welcome",
            "subject": "Welcome subject",
            "body_html": '<p>Hi {{ person.first_name | default: "there" }}</p>',
            "attachment_ids": [],
            "attachments": [],
        }


def test_a_templates_files_come_with_it_and_a_missing_template_is_not_found(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    pdf = _pdf(admin)
    template = _template(admin, "With terms", attachment_ids=[pdf.pk])
    client = browser_of(admin)

    found = client.get(f"/sequences/{sequence.pk}/templates/{template.pk}/")
    missing = client.get(f"/sequences/{sequence.pk}/templates/{template.pk + 1}/")

    assert found.json()["attachment_ids"] == [pdf.pk]
    # Named and sized, so the step's attachment list can show them at once.
    assert [(f["name"], f["url"]) for f in found.json()["attachments"]] == [
        (pdf.name, f"/files/{pdf.pk}/")
    ]
    assert missing.status_code == 404


def test_what_the_page_fills_in_autosaves_like_any_edit(admin, browser_of, make_sequence):
    """The page puts the template's fields in the form; the usual autosave stores them."""
    sequence = make_sequence(steps=2)
    pdf = _pdf(admin)
    template = _template(admin, "With terms", attachment_ids=[pdf.pk])
    client = browser_of(admin)
    content = client.get(f"/sequences/{sequence.pk}/templates/{template.pk}/").json()
    form = _form(
        sequence,
        **{
            "steps-0-subject": content["subject"],
            "steps-0-body_html": content["body_html"],
            "steps-0-attachment_ids": content["attachment_ids"],
        },
    )

    assert client.post(f"/sequences/{sequence.pk}/save/", form).status_code == 200

    step = authoring.draft_snapshot(sequence)["steps"][0]
    assert step["subject"] == "With terms subject"
    assert step["body_html"] == "<p>With terms body</p>"
    assert step["attachment_ids"] == [pdf.pk]


# --- Save as template --------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_saving_a_step_as_a_template_needs_to_see_the_sequence(
    admin, browser_of, make_sequence, member_with, level
):
    """As the library service decides: saving a step only reads the sequence."""
    sequence = make_sequence()
    viewer = member_with(sequence, level)
    form = _form(sequence, **{"steps-0-subject": "Changed on screen", "template_name": "Mine"})

    response = browser_of(viewer).post(_save_url(sequence), form)

    if level == "no_access":
        assert response.status_code == 404
        assert not EmailTemplate.objects.exists()
        return
    assert response.status_code == 201
    assert response.json()["message"] == 'Saved "Mine" to the template library.'
    template = EmailTemplate.objects.get()
    assert (template.name, template.created_by) == ("Mine", viewer)
    # Who may edit saves what is on screen (the draft is saved first); a read-only
    # member, whose fields cannot change, gets the step as stored and changes nothing.
    if level in WRITERS:
        assert template.subject == "Changed on screen"
        assert authoring.draft_snapshot(sequence)["steps"][0]["subject"] == "Changed on screen"
    else:
        assert template.subject == "Hello 0"
        assert authoring.draft_snapshot(sequence)["steps"][0]["subject"] == "Hello 0"


def test_a_saved_template_keeps_the_body_with_its_variables_and_files(
    admin, browser_of, make_sequence
):
    pdf = _pdf(admin)
    sequence = authoring.create_sequence(
        admin,
        name="Files",
        steps=[StepInput(subject="Hi", body_html="<p>Old</p>", attachment_ids=[pdf.pk])],
        clock=system_clock,
    )
    body = '<p>Hi {{ person.first_name | default: "there" }}</p>'
    form = _form(
        sequence,
        **{"steps-0-body_html": body, "steps-0-attachment_ids": [pdf.pk], "template_name": " Hi "},
    )

    response = browser_of(admin).post(_save_url(sequence), form)

    assert response.status_code == 201
    template = EmailTemplate.objects.get()
    assert (template.name, template.body_html) == ("Hi", body)
    assert [a.pk for a in template.attachments.all()] == [pdf.pk]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the template a name."),
        ("   ", "Give the template a name."),
        ("intro", 'A template named "intro" already exists; choose another name.'),
        ("x" * 201, "The name is 201 characters; use at most 200."),
    ],
)
def test_a_name_the_library_refuses_is_shown_next_to_the_name_field(
    admin, browser_of, make_sequence, name, message
):
    sequence = make_sequence()
    _template(admin, "Intro")

    response = browser_of(admin).post(_save_url(sequence), _form(sequence, template_name=name))

    assert response.status_code == 400
    assert response.json() == {"field": "template_name", "message": message}
    assert EmailTemplate.objects.count() == 1


def test_a_post_without_the_editors_form_saves_the_stored_step_and_keeps_the_draft(
    admin, browser_of, make_sequence
):
    sequence = make_sequence(steps=2)

    response = browser_of(admin).post(_save_url(sequence, 1), {"template_name": "Second"})

    assert response.status_code == 201
    assert EmailTemplate.objects.get().body_html == "<p>Body 1</p>"
    assert len(authoring.draft_snapshot(sequence)["steps"]) == 2


def test_a_draft_that_cannot_be_saved_is_named_and_no_template_is_made(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    form = _form(sequence, time_zone="Mars/Olympus", template_name="Mine")

    response = browser_of(admin).post(_save_url(sequence), form)

    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] is None
    assert answer["message"].startswith("The draft could not be saved")
    assert "Time zone:" in answer["message"]
    assert not EmailTemplate.objects.exists()


def test_saving_a_step_that_does_not_exist_is_not_found(admin, browser_of, make_sequence):
    sequence = make_sequence(steps=1)
    form = _form(sequence, template_name="Mine")

    response = browser_of(admin).post(_save_url(sequence, position=3), form)

    assert response.status_code == 404
    assert not EmailTemplate.objects.exists()


def test_saving_as_a_template_needs_the_pages_csrf_token_and_a_post(admin, make_sequence):
    sequence = make_sequence()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    forged = client.post(_save_url(sequence), _form(sequence, template_name="Mine"))
    fetched = client.get(_save_url(sequence))

    assert forged.status_code == 403
    assert fetched.status_code == 405
    assert not EmailTemplate.objects.exists()
