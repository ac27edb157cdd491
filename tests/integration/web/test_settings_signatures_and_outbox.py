"""Settings, Signatures and Outbox pages, and the notification of a paused mailbox."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person
from sequencer.engine.dispatch import _mailbox_failed
from sequencer.mail import signatures
from sequencer.mail.models import Signature
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.sequences import authoring, enrollment
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import ScheduledEmail
from sequencer.workspace.models import Notification

from .test_sequence_settings_tab import mailbox_of

pytestmark = pytest.mark.django_db


def _published(owner):
    sequence = authoring.create_sequence(
        owner,
        name="Spring outreach",
        # Every day, all day: the email is due now whatever day the test runs on.
        settings={
            "window": {"start": "00:00", "end": "00:00"},
            "time_zone": "UTC",
            "business_days_only": False,
        },
        steps=[StepInput(subject="Hello", body_html="<p>Hi</p>")],
        clock=system_clock,
    )
    authoring.publish(owner, sequence.pk, clock=system_clock)
    return sequence


def _enroll(owner, box, count: int, prefix: str) -> None:
    sequence = _published(owner)
    people = []
    for i in range(count):
        person = Person.objects.create(first_name=f"{prefix}{i}", last_name="Tester")
        EmailAddress.objects.create(
            person=person, email=f"{prefix}{i}@initech.test", is_primary=True
        )
        people.append(person)
    enrollment.enroll(
        owner,
        sequence.pk,
        [enrollment.Recipient(person_id=p.pk) for p in people],
        mailbox_id=box.pk,
        clock=system_clock,
    )


# -- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/signatures/", "/settings/outbox/"])
def test_signed_out_visitors_are_sent_to_sign_in(admin, path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_member_writes_a_signature_and_it_is_sanitised(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    box = mailbox_of(mia, "mia@mail.test")
    client = browser_of(mia)

    form = client.get(f"/settings/signatures/new/{box.pk}/").content.decode()
    response = client.post(
        f"/settings/signatures/new/{box.pk}/",
        {"name": "Formal", "body_html": "<p>Mia <script>alert(1)</script><b>Sales</b></p>"},
    )

    assert "data-prose-editor" in form and "data-insert-variable" not in form
    assert response.status_code == 302
    signature = Signature.objects.get(mailbox=box)
    assert signature.is_default  # the mailbox's first
    assert "<script>" not in signature.body_html and "<b>Sales</b>" in signature.body_html
    listing = client.get("/settings/signatures/").content.decode()
    assert "Formal" in listing and "alert(1)" not in listing


def test_a_signature_without_a_name_is_refused_next_to_the_name(admin, browser_of):
    box = mailbox_of(admin, "ada@mail.test")

    response = browser_of(admin).post(
        f"/settings/signatures/new/{box.pk}/", {"name": " ", "body_html": "<p>Kept</p>"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="name-error">Give the signature a name.' in page and "&lt;p&gt;Kept" in page


def test_making_another_signature_the_default_keeps_one_default(admin, browser_of):
    box = mailbox_of(admin, "ada@mail.test")
    first = signatures.create_signature(box, {"name": "Long", "body_html": "<p>A</p>"})
    second = signatures.create_signature(box, {"name": "Short", "body_html": "<p>B</p>"})

    browser_of(admin).post(f"/settings/signatures/{second.pk}/default/")

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/settings/signatures/new/{box}/"),
        ("get", "/settings/signatures/{sig}/"),
        ("post", "/settings/signatures/{sig}/"),
        ("post", "/settings/signatures/{sig}/default/"),
        ("post", "/settings/signatures/{sig}/delete/"),
        ("get", "/settings/outbox/?mailbox={box}"),
    ],
)
def test_another_members_mailbox_and_signatures_are_not_found(
    admin, browser_of, make_member, method, path
):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    toms = mailbox_of(tom, "tom@mail.test")
    sig = signatures.create_signature(toms, {"name": "Tom's", "body_html": "<p>T</p>"})

    response = getattr(browser_of(mia), method)(
        path.format(box=toms.pk, sig=sig.pk), {"name": "Stolen"} if method == "post" else {}
    )

    assert response.status_code == 404
    sig.refresh_from_db()
    assert sig.name == "Tom's"


def test_an_admin_manages_every_members_signatures(admin, browser_of, make_member):
    tom = make_member(name="Tom")
    toms = mailbox_of(tom, "tom@mail.test")
    sig = signatures.create_signature(toms, {"name": "Tom's", "body_html": "<p>T</p>"})

    response = browser_of(admin).post(
        f"/settings/signatures/{sig.pk}/", {"name": "Tom, edited", "body_html": "<p>T2</p>"}
    )

    assert response.status_code == 302
    sig.refresh_from_db()
    assert sig.name == "Tom, edited"


# -- outbox -------------------------------------------------------------------------------


def test_a_member_sees_the_queue_of_their_own_mailboxes_only(admin, browser_of, make_member):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    _enroll(mia, mailbox_of(mia, "mia@mail.test"), 1, "miasperson")
    _enroll(tom, mailbox_of(tom, "tom@mail.test"), 1, "tomsperson")

    mine = browser_of(mia).get("/settings/outbox/").content.decode()
    everyone = browser_of(admin).get("/settings/outbox/").content.decode()

    assert "miasperson0@initech.test" in mine and "tomsperson0@initech.test" not in mine
    assert "Spring outreach" in mine and "Due now" in mine
    assert "miasperson0@initech.test" in everyone and "tomsperson0@initech.test" in everyone


def test_the_outbox_page_costs_the_same_queries_for_10_or_200_emails(
    admin, browser_of, make_member
):
    few_member, many_member = make_member(name="Few"), make_member(name="Many")
    _enroll(few_member, mailbox_of(few_member, "few@mail.test"), 10, "few")
    _enroll(many_member, mailbox_of(many_member, "many@mail.test"), 200, "many")
    few, many = browser_of(few_member), browser_of(many_member)
    few.get("/settings/outbox/")
    many.get("/settings/outbox/")

    with CaptureQueriesContext(connection) as small:
        few.get("/settings/outbox/")
    with CaptureQueriesContext(connection) as large:
        page = many.get("/settings/outbox/").content.decode()

    assert "200 waiting" in page and "And 100 more later" in page
    assert len(large) == len(small)


# -- the engine's notification ------------------------------------------------------------


def test_a_paused_mailbox_notifies_its_owner_with_a_link_to_it(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    box = mailbox_of(mia, "mia@mail.test")
    _enroll(mia, box, 1, "someone")
    email = ScheduledEmail.objects.get(mailbox=box)

    _mailbox_failed(
        email,
        MailboxFailure("Daily sending limit exceeded.", problem="quota", pause_seconds=3600),
        system_clock,
    )

    note = Notification.objects.get(user=mia)
    panel = browser_of(mia).get("/notifications/", HTTP_HX_REQUEST="true").content.decode()
    assert note.link == f"/settings/mailboxes/{box.pk}/"
    assert f'<a href="/settings/mailboxes/{box.pk}/">Sending from mia@mail.test stopped' in panel
    page = browser_of(mia).get(note.link).content.decode()
    assert "Sequencer paused it: Daily sending limit exceeded." in page and "Resume" in page
