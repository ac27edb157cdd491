from urllib.parse import urlsplit

import pytest
from django.test import Client

from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, Suppression
from sequencer.sequences.suppression import unsubscribe_token, unsubscribe_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(admin, publish, mailbox, person, clock):
    [outcome] = enrollment.enroll(
        admin, publish().pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    return Enrollment.objects.get(pk=outcome.enrollment_id)


def path_of(enrolled):
    return urlsplit(unsubscribe_url(enrolled.mailbox.email, enrolled.email, enrolled.pk)).path


def test_opening_the_link_only_asks_for_confirmation(enrolled):
    response = Client().get(path_of(enrolled))
    assert response.status_code == 200
    assert b"Unsubscribe" in response.content
    assert not Suppression.objects.exists()
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_a_one_click_post_without_cookies_unsubscribes_and_ends_the_enrollment(enrolled):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        path_of(enrolled),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "unsubscribed")
    assert Suppression.objects.get().recipient_email == "ada@initech.test"
    assert {e.state for e in enrolled.emails.all()} == {"cancelled"}


def test_the_confirmation_button_unsubscribes_and_a_second_click_changes_nothing(enrolled):
    client = Client(enforce_csrf_checks=True)
    assert client.post(path_of(enrolled)).status_code == 200
    assert client.post(path_of(enrolled)).status_code == 200
    assert Suppression.objects.count() == 1


def test_a_forged_or_altered_token_is_refused(enrolled):
    token = unsubscribe_token(enrolled.mailbox.email, "someone-else@initech.test", None)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert Client().post(f"/u/{tampered}").status_code == 404
    assert Client().post("/u/not-a-token").status_code == 404
    assert not Suppression.objects.exists()
