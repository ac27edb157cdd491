"""Suppressions in Settings: search by address, why and when, lift with a reason."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.sequences import suppression
from sequencer.sequences.models import Suppression
from sequencer.workspace.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


def _suppress(recipient: str, sender: str = "ada@acme.test", **kwargs) -> Suppression:
    return suppression.suppress(
        sender, recipient, reason=kwargs.pop("reason", "unsubscribed"), clock=system_clock, **kwargs
    )


def test_the_page_shows_who_is_suppressed_why_and_since_when(admin, browser_of):
    _suppress("bob@client.test", source="one-click", member_id=admin.pk)
    _suppress("cat@client.test", reason="bounced")

    page = browser_of(admin).get("/settings/suppressions/").content.decode()

    assert "bob@client.test" in page and "Unsubscribed" in page and "one-click" in page
    assert "cat@client.test" in page and "Bounced" in page
    assert "every mailbox of Ada Admin" in page


def test_searching_by_address_shows_only_the_matches(admin, browser_of):
    _suppress("bob@client.test")
    _suppress("cat@client.test")

    page = browser_of(admin).get("/settings/suppressions/?q=BOB@").content.decode()

    assert "bob@client.test" in page and "cat@client.test" not in page


def test_a_search_without_matches_says_so_and_offers_everything(admin, browser_of):
    page = browser_of(admin).get("/settings/suppressions/?q=nobody").content.decode()
    assert "No suppression matches" in page and "Show all suppressions" in page


def test_lifting_with_a_reason_lets_the_sender_email_again_and_is_in_the_audit_log(
    admin, browser_of
):
    row = _suppress("bob@client.test")

    answer = browser_of(admin).post(
        f"/settings/suppressions/{row.pk}/lift/",
        {"note": "Asked by phone to hear again"},
        follow=True,
    )

    page = answer.content.decode()
    assert not suppression.is_suppressed("ada@acme.test", "bob@client.test")
    assert "Lifted: bob@client.test may be emailed from ada@acme.test again." in page
    assert "Asked by phone to hear again" in page  # in the audit log of lifts
    entry = AuditEntry.objects.get(action="suppression.lifted")
    assert entry.actor == admin and entry.detail["note"] == "Asked by phone to hear again"


def test_lifting_without_a_reason_is_refused_next_to_the_reason(admin, browser_of):
    row = _suppress("bob@client.test")

    answer = browser_of(admin).post(f"/settings/suppressions/{row.pk}/lift/", {"note": "  "})

    page = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="lift-again-note-error"' in page and "Say why this address may be emailed" in page
    assert suppression.is_suppressed("ada@acme.test", "bob@client.test")


def test_lifted_suppressions_show_only_when_asked(admin, browser_of):
    row = _suppress("bob@client.test")
    suppression.lift(row.pk, admin, note="ok", clock=system_clock)

    hidden = browser_of(admin).get("/settings/suppressions/").content.decode()
    shown = browser_of(admin).get("/settings/suppressions/?lifted=on").content.decode()

    assert "Nobody is suppressed" in hidden
    assert "Lifted" in shown and "by Ada Admin" in shown


@pytest.mark.parametrize("method,path", [("get", "/settings/suppressions/"), ("post", "LIFT")])
def test_signed_out_visitors_are_sent_to_sign_in(admin, method, path):
    row = _suppress("bob@client.test")
    url = f"/settings/suppressions/{row.pk}/lift/" if path == "LIFT" else path
    answer = getattr(Client(), method)(url, {"note": "x"} if method == "post" else None)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_members_who_are_not_admins_can_neither_see_nor_lift(admin, make_member, browser_of):
    row = _suppress("bob@client.test", member_id=admin.pk)
    client = browser_of(make_member(role=Role.MEMBER))

    page = client.get("/settings/suppressions/")
    lifted = client.post(f"/settings/suppressions/{row.pk}/lift/", {"note": "please"})

    assert page.status_code == 403 and lifted.status_code == 403
    assert suppression.is_suppressed("ada@acme.test", "bob@client.test")


def test_another_admin_sees_and_lifts(admin, make_member, browser_of):
    row = _suppress("bob@client.test")
    client = browser_of(make_member(role=Role.ADMIN))

    assert client.get("/settings/suppressions/").status_code == 200
    assert client.post(f"/settings/suppressions/{row.pk}/lift/", {"note": "ok"}).status_code == 302
    assert client.post("/settings/suppressions/999999/lift/", {"note": "ok"}).status_code == 404


def test_the_page_costs_the_same_queries_with_10_or_200_suppressions(
    admin, make_member, browser_of
):
    client = browser_of(admin)
    owners = [make_member(name=f"Owner {i}") for i in range(3)]
    counts = []
    for total in (10, 200):
        Suppression.objects.all().delete()
        AuditEntry.objects.all().delete()
        for i in range(total):
            owner = owners[i % 3]
            row = _suppress(f"r{i}@client.test", sender=f"s{i}@acme.test", member_id=owner.pk)
            if i % 2:
                suppression.lift(row.pk, admin, note=f"because {i}", clock=system_clock)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/settings/suppressions/?lifted=on").content.decode()
        assert "Owner" in page
        counts.append(len(queries))
    assert counts[0] == counts[1]
