"""The Settings tab: sender settings, delegated sending and invitations, per access level."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.clock import system_clock
from sequencer.mail.models import Mailbox, Signature
from sequencer.sequences import access, delegation
from sequencer.sequences.models import DelegatedSender
from sequencer.workspace.models import Notification, User

from .conftest import LEVELS

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def mailbox_of(owner: User, email: str, *, default: bool = True) -> Mailbox:
    return Mailbox.objects.create(
        owner=owner,
        provider="smtp_imap",
        email=email,
        is_default=default,
        smtp_host="smtp.mail.test",
        smtp_port=587,
        address_proven_at=datetime.now(UTC),
        address_proof="admin",
    )


def _url(sequence, rest: str = "") -> str:
    return f"/sequences/{sequence.pk}/settings/{rest}"


@pytest.mark.parametrize("level", LEVELS)
def test_the_settings_tab_answers_each_access_level_as_the_api_does(
    admin, browser_of, make_sequence, make_member, member_with, level
):
    sequence = make_sequence(name="Guarded")
    viewer = member_with(sequence, level)
    mailbox_of(viewer, f"{viewer.pk}@mail.test")
    colleague = make_member(name="Colin Colleague")
    listing = access.access_list(sequence)
    access.set_access(
        sequence,
        workspace_access=listing.workspace_access.slug,
        members=[(i, lv.slug) for i, lv in listing.members] + [(colleague.pk, "read_only")],
        teams=[],
    )
    client = browser_of(viewer)

    page = client.get(_url(sequence))
    search = client.get(_url(sequence, "members/"), {"q": "colin"})
    signature = client.post(_url(sequence, "signature/"), {"signature": "Short"}, **HTMX)
    invite = client.post(_url(sequence, "invite/"), {"member_id": colleague.pk}, **HTMX)
    own = client.post(_url(sequence, "me/"), {"enabled": "on", "use_default": "on"}, **HTMX)

    sequence.refresh_from_db()
    invited = DelegatedSender.objects.filter(sequence=sequence, member=colleague).exists()
    mine = DelegatedSender.objects.filter(sequence=sequence, member=viewer).first()
    html = page.content.decode()
    if level == "no_access":
        assert {r.status_code for r in (page, search, signature, invite, own)} == {404}
        assert not invited and mine is None and sequence.settings.get("signature") != "Short"
        return
    assert page.status_code == 200 and own.status_code == 200
    # Delegated sending concerns the member's own mailbox: read only is enough for it,
    # as in the API's PUT .../delegation/me.
    assert mine is not None and mine.accepted_at is not None and mine.mailbox_id is None
    assert "Teammates can now send this sequence as you" in own.content.decode()
    assert 'role="switch"' in html and "Delegated sender" in html
    if level == "read_only":
        assert {search.status_code, signature.status_code, invite.status_code} == {403}
        assert not invited and sequence.settings.get("signature") != "Short"
        # The sequence's own settings are shown without a control to change them.
        assert 'id="signature" name="signature" aria-describedby="signature-help" disabled' in html
        assert "Invite member" not in html and 'name="q"' not in html
    else:
        assert {search.status_code, signature.status_code, invite.status_code} == {200}
        assert "Colin Colleague" in search.content.decode()
        assert invited and sequence.settings["signature"] == "Short"
        assert "Invite member" in html and "Search a member" in html


def test_the_owner_invites_a_member_who_is_listed_as_invited_and_notified(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence(name="Q3 outreach")
    mia = make_member("mia@acme.test", name="Mia Member")
    client = browser_of(admin)

    response = client.post(_url(sequence, "invite/"), {"member_id": mia.pk}, **HTMX)

    html = response.content.decode()
    assert "Invited Mia Member. They can accept from their notifications." in html
    assert "Mia Member" in html and "Invited · awaiting answer" in html
    note = Notification.objects.get(user=mia)
    assert note.kind == "delegation_invited" and "Q3 outreach" in note.message
    # Listed once: she is no longer offered in the search.
    assert f'id="candidate-{mia.pk}"' not in html


def test_an_invitation_the_service_refuses_says_why_and_changes_nothing(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    client = browser_of(admin)

    myself = client.post(_url(sequence, "invite/"), {"member_id": admin.pk}, **HTMX)
    nobody = client.post(_url(sequence, "invite/"), {}, **HTMX)

    assert "You cannot invite yourself" in myself.content.decode()
    assert "Choose a member to invite." in nobody.content.decode()
    assert not DelegatedSender.objects.filter(sequence=sequence).exists()


def test_members_without_access_are_not_offered_for_an_invitation(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence(workspace_access="no_access")
    make_member(name="Hidden Hanna")

    page = browser_of(admin).get(_url(sequence, "members/"), {"q": "hanna"})

    assert "Hidden Hanna" not in page.content.decode()
    assert "can see this sequence" in page.content.decode()


def test_a_fixed_mailbox_replaces_the_default_and_turning_off_removes_the_delegation(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    mailbox_of(admin, "ada@mail.test")
    second = mailbox_of(admin, "ada.sales@mail.test", default=False)
    client = browser_of(admin)

    fixed = client.post(
        _url(sequence, "me/"),
        {"enabled": "on", "mailbox_fields": "1", "mailbox_id": second.pk},
        **HTMX,
    )
    row = DelegatedSender.objects.get(sequence=sequence, member=admin)
    assert row.mailbox_id == second.pk
    assert "from ada.sales@mail.test" in fixed.content.decode()
    assert 'id="own-mailbox"' in fixed.content.decode()

    off = client.post(_url(sequence, "me/"), {}, **HTMX)
    assert not DelegatedSender.objects.filter(sequence=sequence, member=admin).exists()
    assert "Delegated sending is off" in off.content.decode()


def test_turning_on_without_any_mailbox_says_to_connect_one(admin, browser_of, make_sequence):
    sequence = make_sequence()

    response = browser_of(admin).post(_url(sequence, "me/"), {"enabled": "on"}, **HTMX)

    assert "You have no mailbox yet" in response.content.decode()
    assert not DelegatedSender.objects.filter(sequence=sequence).exists()


def test_the_signature_choice_offers_the_members_own_signature_names(
    admin, browser_of, make_sequence
):
    sequence = make_sequence()
    box = mailbox_of(admin, "ada@mail.test")
    Signature.objects.create(mailbox=box, name="Short", body_html="<p>Ada</p>", is_default=True)

    html = browser_of(admin).get(_url(sequence)).content.decode()

    assert "Each sender&#x27;s default signature" in html
    assert '<option value="Short" >“Short”</option>' in html


def test_the_settings_page_costs_the_same_queries_with_2_or_30_delegated_senders(
    admin, browser_of, make_sequence, make_member
):
    few, many = make_sequence(name="Few"), make_sequence(name="Many")
    mailbox_of(admin, "ada@mail.test")
    for sequence, count in ((few, 2), (many, 30)):
        for i in range(count):
            member = make_member(name=f"Delegate {sequence.name} {i}")
            mailbox_of(member, f"d{sequence.pk}-{i}@mail.test")
            if i % 2:
                delegation.set_own_delegation(member, sequence.pk, enabled=True, clock=system_clock)
            else:
                delegation.invite(admin, sequence.pk, member.pk, clock=system_clock)
    client = browser_of(admin)
    client.get(_url(few))  # warm the session and caches

    with CaptureQueriesContext(connection) as with_two:
        two = client.get(_url(few))
    with CaptureQueriesContext(connection) as with_thirty:
        thirty = client.get(_url(many))

    assert two.status_code == thirty.status_code == 200
    assert thirty.content.decode().count("Invited · awaiting answer") == 15
    assert len(with_two) == len(with_thirty)
