"""Previews never hand out a working unsubscribe link: whoever looks at a preview is not
the recipient, and may not even be allowed to remove them (security finding 2)."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, Sequence, Suppression
from sequencer.sequences.suppression import read_unsubscribe_token

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"'<>)\]]+")


def redeem_every_link(previews):
    """Try each link of the previews as an attacker would: open it, and POST to it the
    way the unsubscribe button and one-click clients do."""
    links = {link for p in previews for link in LINK.findall(p["html"] + p["text"])}
    assert links, "the preview shows an unsubscribe link"
    for link in links:
        path = urlsplit(link).path
        token = path.removeprefix("/u/").strip("/")
        assert read_unsubscribe_token(token) is None, link
        client = Client()
        client.get(path)
        client.post(path)
        client.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    return links


def test_a_read_only_members_preview_of_an_enrollment_holds_no_working_token(
    admin, make_member, api_as, publish, mailbox, person, clock, settings
):
    settings.BASE_URL = "https://sequencer.example.test"
    sequence = publish()
    Sequence.objects.filter(pk=sequence.pk).update(workspace_access="read_only")
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    reader = api_as(make_member("reader@acme.test"))

    previews = reader.get(f"enrollments/{outcome.enrollment_id}/preview").data

    links = redeem_every_link(previews)
    assert links == {"https://sequencer.example.test/u/preview/"}
    assert not Suppression.objects.exists()
    assert Enrollment.objects.get(pk=outcome.enrollment_id).status == "active"


def test_a_preview_for_any_address_from_a_mailbox_with_someone_elses_address_holds_no_token(
    admin, make_member, api_as, publish, mailbox, person, clock
):
    sequence = publish()
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    mallory = make_member("mallory@acme.test")
    client = api_as(mallory)
    # Mallory claims the admin's sending address for a mailbox of her own.
    created = client.post(
        "mailboxes",
        {"email": mailbox.email, "smtp": {"host": "smtp.example.test", "port": 587}},
    )
    assert created.status_code == 201
    previews = client.get(
        f"sequences/{sequence.pk}/preview",
        data={
            "person_id": person.pk,
            "email": "ada@initech.test",
            "mailbox_id": created.data["id"],
        },
    ).data

    redeem_every_link(previews)
    assert not Suppression.objects.exists()
    assert Enrollment.objects.get(pk=outcome.enrollment_id).status == "active"


def test_the_preview_link_leads_to_a_page_that_says_it_is_a_preview():
    response = Client().get("/u/preview/")
    assert response.status_code == 200
    assert b"This is a preview" in response.content
    assert Client().post("/u/preview/").status_code == 405
