"""The notifications menu: the unread count on the bell, invitations answered from it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import delegation
from sequencer.sequences.models import DelegatedSender
from sequencer.workspace.models import Notification
from tests.integration.delegation.helpers import set_level

from .conftest import LEVELS
from .test_sequence_settings_tab import mailbox_of

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_bell_counts_unread_notifications_and_opening_it_marks_them_read(
    admin, browser_of, make_member
):
    mia = make_member(name="Mia Member")
    for text in ("Your mailbox was paused.", "Your mailbox is back."):
        Notification.objects.create(user=mia, kind="mailbox_paused", message=text)
    client = browser_of(mia)

    before = client.get("/sequences/").content.decode()
    panel = client.get("/notifications/", **HTMX).content.decode()
    after = client.get("/sequences/").content.decode()

    assert '<span class="visually-hidden">Notifications, 2 unread</span>' in before
    assert "Your mailbox was paused." in panel and "New: " in panel
    assert not Notification.objects.filter(user=mia, read_at__isnull=True).exists()
    assert '<span class="visually-hidden">Notifications</span>' in after


def test_members_see_only_their_own_notifications(admin, browser_of, make_member):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    Notification.objects.create(user=tom, kind="mailbox_paused", message="Tom's mailbox paused.")

    panel = browser_of(mia).get("/notifications/", **HTMX).content.decode()

    assert "Tom's mailbox paused." not in panel and "Nothing new." in panel


@pytest.mark.parametrize("level", LEVELS)
def test_an_invitation_is_accepted_from_the_menu_only_by_the_member_it_is_addressed_to(
    admin, browser_of, make_sequence, member_with, make_member, level
):
    sequence = make_sequence(name="Q3 outreach")
    invitee = member_with(sequence, "read_only" if level == "no_access" else level)
    mailbox_of(invitee, "invitee@mail.test")
    stranger = make_member(name="Stranger")
    invitation = delegation.invite(admin, sequence.pk, invitee.pk, clock=system_clock).row
    if level == "no_access":
        # Invited while they could see it, then access was taken away.
        set_level(sequence, invitee, "no_access")
    url = f"/notifications/invitations/{invitation.pk}/accept/"

    by_stranger = browser_of(stranger).post(url, **HTMX)
    panel = browser_of(invitee).get("/notifications/", **HTMX).content.decode()
    by_invitee = browser_of(invitee).post(url, **HTMX)

    assert by_stranger.status_code == 404
    invitation.refresh_from_db()
    if level == "no_access":
        assert by_invitee.status_code == 404 and "Delegation invitations" not in panel
        assert invitation.accepted_at is None
    else:
        assert "Q3 outreach" in panel and ">Accept</button>" in panel
        assert by_invitee.status_code == 200 and invitation.accepted_at is not None
        assert (
            "Accepted: teammates can now send “Q3 outreach” as you" in by_invitee.content.decode()
        )


def test_declining_removes_the_invitation_and_only_its_invitee_may(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    invitation = delegation.invite(admin, sequence.pk, mia.pk, clock=system_clock).row
    url = f"/notifications/invitations/{invitation.pk}/decline/"

    assert browser_of(tom).post(url, **HTMX).status_code == 404
    assert browser_of(admin).post(url, **HTMX).status_code == 404
    declined = browser_of(mia).post(url, **HTMX)

    assert "Declined" in declined.content.decode()
    assert not DelegatedSender.objects.filter(pk=invitation.pk).exists()


def test_accepting_without_a_mailbox_says_what_to_do_and_keeps_the_invitation(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    mia = make_member(name="Mia")
    invitation = delegation.invite(admin, sequence.pk, mia.pk, clock=system_clock).row

    answer = browser_of(mia).post(f"/notifications/invitations/{invitation.pk}/accept/", **HTMX)

    assert "Not accepted: You have no mailbox yet" in answer.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_without_javascript_the_menu_is_a_page_and_answers_redirect_back(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence()
    mia = make_member(name="Mia")
    mailbox_of(mia, "mia@mail.test")
    invitation = delegation.invite(admin, sequence.pk, mia.pk, clock=system_clock).row
    client = browser_of(mia)

    page = client.get("/notifications/")
    accepted = client.post(f"/notifications/invitations/{invitation.pk}/accept/", follow=True)

    assert page.status_code == 200 and "<h1>Notifications</h1>" in page.content.decode()
    assert "Accepted: teammates can now send" in accepted.content.decode()


def test_the_menu_costs_the_same_queries_with_2_or_30_invitations(
    admin, browser_of, make_sequence, make_member
):
    mia = make_member(name="Mia")
    client = browser_of(mia)
    counts = []
    for total in (2, 30):
        DelegatedSender.objects.filter(member=mia).delete()
        for i in range(total):
            delegation.invite(
                admin, make_sequence(name=f"S{total}-{i}").pk, mia.pk, clock=system_clock
            )
        with CaptureQueriesContext(connection) as queries:
            panel = client.get("/notifications/", **HTMX)
        assert panel.content.decode().count(">Accept</button>") == total
        counts.append(len(queries))
    assert counts[0] == counts[1]
