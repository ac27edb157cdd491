"""A mailbox's address is proven before it sends: by an OAuth sign-in, by the connection
test finding its test message over IMAP, by an emailed link, or by an admin's word."""

import re
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from django.test import Client

from sequencer.clock import system_clock
from sequencer.mail import mailboxes, oauth, proof
from sequencer.mail.models import Mailbox
from sequencer.testing import FakeClock
from sequencer.workspace.models import AuditEntry
from tests.peers.emulator import ALICE_TOKEN
from tests.peers.fault_proxy import Reply
from tests.peers.fixtures import DOVECOT_USERS

pytestmark = pytest.mark.django_db

ALICE = "alice@example.test"


def body(smtp_server, dovecot=None, imap_user=ALICE):
    data = {
        "email": ALICE,
        "smtp": {
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "username": "alice",
            "password": "secret",
        },
    }
    if dovecot is not None:
        data["imap"] = {
            "host": dovecot.host,
            "port": dovecot.imap_port,
            "security": "none",
            "username": imap_user,
            "password": DOVECOT_USERS[imap_user],
        }
    return data


def test_a_new_mailbox_is_unproven_and_its_answer_says_what_to_do(api, smtp_server):
    created = api.post("mailboxes", body(smtp_server)).data
    assert created["address_proof"] == {
        "proven": False,
        "method": None,
        "proven_at": None,
        "vouched_by": None,
    }
    assert (
        f"{ALICE} does not send until its address is proven to be its owner's: run its "
        "connection test and open the confirmation link it emails to the address, or ask a "
        "workspace admin to vouch for it."
    ) in created["warnings"]


def test_the_connection_test_proves_an_address_whose_test_message_arrives_over_imap(
    api, smtp_server, smtp_delivers_to_dovecot
):
    created = api.post("mailboxes", body(smtp_server, smtp_delivers_to_dovecot)).data

    result = api.post(f"mailboxes/{created['id']}/test").data

    assert result["address"]["ok"] is True
    assert result["address"]["message"].startswith(
        f"{ALICE} is proven by a test message found over IMAP"
    )
    proof_out = api.get(f"mailboxes/{created['id']}").data["address_proof"]
    assert (proof_out["proven"], proof_out["method"]) == (True, "imap")
    [test_message] = smtp_delivers_to_dovecot.messages(ALICE, "INBOX")
    assert b"Subject: Sequencer address check" in test_message
    # Nothing was filed in Sent for the test message.
    assert smtp_delivers_to_dovecot.messages(ALICE, "Sent") == []


def test_the_connection_test_does_not_prove_an_address_whose_mail_reaches_another_account(
    api, smtp_server, smtp_delivers_to_dovecot
):
    # The IMAP account given is carol's: alice's mail never shows up there.
    data = body(smtp_server, smtp_delivers_to_dovecot, imap_user="carol@example.test")
    created = api.post("mailboxes", data).data

    result = api.post(f"mailboxes/{created['id']}/test").data

    assert result["smtp"]["ok"] is True and result["imap"]["ok"] is True
    assert result["address"]["ok"] is False
    assert result["address"]["message"].startswith(
        f"A test message was sent to {ALICE}, but it did not arrive in the INBOX of the "
        "IMAP account within 1 s"
    )
    assert api.get(f"mailboxes/{created['id']}").data["address_proof"]["proven"] is False


def test_a_message_planted_with_another_id_does_not_prove_the_address(
    admin, peer_mailbox, smtp_server, dovecot
):
    mailbox = peer_mailbox(admin, proven=False)
    dovecot.deliver(ALICE, b"Message-ID: <planted@example.test>\r\nSubject: x\r\n\r\nhi\r\n")
    report = mailboxes.check_mailbox(mailbox, system_clock)
    assert report.address is not None and report.address.ok is False
    mailbox.refresh_from_db()
    assert not mailbox.address_proven


def link_in(received):
    message = message_from_bytes(received.data, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    [url] = set(re.findall(r'href="([^"]+)"', html))
    return urlsplit(url).path


def test_without_imap_the_connection_test_emails_a_link_that_proves_the_address_once_confirmed(
    api, smtp_server
):
    created = api.post("mailboxes", body(smtp_server)).data

    result = api.post(f"mailboxes/{created['id']}/test").data

    assert result["address"] == {
        "ok": False,
        "message": f"Not proven yet: a confirmation link was sent to {ALICE}. Open it to "
        "prove the address (there is no IMAP server to look for a test message).",
    }
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == [ALICE]
    path = link_in(sent)
    # Opening the link (a mail scanner does) only asks.
    stranger = Client(enforce_csrf_checks=True)
    page = stranger.get(path)
    assert page.status_code == 200
    assert b"Confirm this address" in page.content
    assert api.get(f"mailboxes/{created['id']}").data["address_proof"]["proven"] is False

    confirmed = stranger.post(path, {"csrfmiddlewaretoken": page.context["csrf_token"]})

    assert confirmed.status_code == 200
    proof_out = api.get(f"mailboxes/{created['id']}").data["address_proof"]
    assert (proof_out["proven"], proof_out["method"]) == (True, "link")


def test_a_proof_link_expires_after_three_days(admin, peer_mailbox):
    mailbox = peer_mailbox(admin, imap=False, proven=False)
    clock = FakeClock()
    token = proof.proof_token(mailbox, clock)
    clock.advance(proof.LINK_MAX_AGE + timedelta(seconds=1))
    assert proof.redeem_proof_token(token, clock) is None
    mailbox.refresh_from_db()
    assert not mailbox.address_proven


def test_a_forged_link_is_refused(admin, peer_mailbox):
    mailbox = peer_mailbox(admin, imap=False, proven=False)
    token = proof.proof_token(mailbox, system_clock)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert Client().post(f"/mailboxes/prove/{forged}/").status_code == 404
    mailbox.refresh_from_db()
    assert not mailbox.address_proven


def test_changing_the_address_forgets_the_proof_and_old_links_no_longer_prove_it(
    admin, peer_mailbox
):
    mailbox = peer_mailbox(admin, imap=False)
    token = proof.proof_token(mailbox, system_clock)
    assert mailbox.address_proven

    mailbox.email = "someone-else@example.test"
    mailbox.save(update_fields=["email"])

    mailbox.refresh_from_db()
    assert (mailbox.address_proven_at, mailbox.address_proof) == (None, "")
    assert Client().post(f"/mailboxes/prove/{token}/").status_code == 404
    mailbox.refresh_from_db()
    assert not mailbox.address_proven


def test_signing_in_with_the_provider_proves_the_address(admin):
    grant = oauth.Grant(
        email="ann@gmail.test", display_name="Ann", tokens={"access_token": "ya29.x"}
    )
    mailbox, created = mailboxes.connect_oauth_mailbox(admin, "gmail", grant, system_clock)
    assert created
    mailbox.refresh_from_db()
    assert (mailbox.address_proven, mailbox.address_proof) == (True, "oauth")


def test_an_admin_vouches_for_a_members_mailbox_and_the_audit_trail_says_who(
    api, admin, make_member, api_as, peer_mailbox
):
    member = make_member("mia@acme.test")
    mailbox = peer_mailbox(member, imap=False, proven=False)

    answer = api.post(f"mailboxes/{mailbox.pk}/vouch", {"note": "checked by phone"})

    assert answer.status_code == 200
    assert (answer.data["proven"], answer.data["method"], answer.data["vouched_by"]) == (
        True,
        "admin",
        admin.pk,
    )
    [entry] = api.get("audit", data={"target": f"mailbox:{mailbox.pk}"}).data
    assert (entry["actor_id"], entry["action"]) == (admin.pk, "mailbox.vouched")
    assert entry["detail"] == {"email": ALICE, "owner_id": member.pk, "note": "checked by phone"}
    assert AuditEntry.objects.count() == 1


def test_a_member_cannot_vouch_for_a_mailbox_not_even_their_own(
    admin, make_member, api_as, peer_mailbox
):
    member = make_member("mia@acme.test")
    own = peer_mailbox(member, imap=False, proven=False)
    admins = peer_mailbox(admin, imap=False, proven=False, email="boss@example.test")
    client = api_as(member)

    refused = client.post(f"mailboxes/{own.pk}/vouch", {})
    hidden = client.post(f"mailboxes/{admins.pk}/vouch", {})

    assert refused.status_code == 403
    assert hidden.status_code == 404
    assert not Mailbox.objects.filter(address_proven_at__isnull=False).exists()
    assert not AuditEntry.objects.exists()


@pytest.fixture
def signed_in_as_alice(api_emulator_settings, fault_proxy, settings):
    """The emulator signs tokens in as alice; it has no Gmail users/me/profile, which is
    answered in front of it as Gmail documents it."""
    proxy = fault_proxy(api_emulator_settings.google_url)
    proxy.script(Reply(200, json={"emailAddress": ALICE}), path="/gmail/v1/users/me/profile")
    settings.GOOGLE_API_URL = proxy.url


def oauth_mailbox(admin, provider, email):
    return mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {
                "provider": provider,
                "email": email,
                "oauth": {"access_token": ALICE_TOKEN, "expires_at": "2099-01-01T00:00:00+00:00"},
            }
        ),
    )


@pytest.mark.usefixtures("signed_in_as_alice")
@pytest.mark.parametrize("provider", ["gmail", "microsoft"])
def test_a_connection_test_signed_in_as_the_address_proves_an_oauth_mailbox(admin, provider):
    # Tokens handed over through the API prove nothing by themselves...
    mailbox = oauth_mailbox(admin, provider, ALICE)
    assert not mailbox.address_proven
    # ...until the provider says whose they are.
    report = mailboxes.check_mailbox(mailbox, system_clock)
    assert report.address is not None and report.address.ok is True
    mailbox.refresh_from_db()
    assert mailbox.address_proof == "oauth"


@pytest.mark.usefixtures("signed_in_as_alice")
@pytest.mark.parametrize("provider", ["gmail", "microsoft"])
def test_tokens_of_another_account_do_not_prove_an_oauth_mailbox(admin, provider):
    mailbox = oauth_mailbox(admin, provider, "boss@example.test")
    report = mailboxes.check_mailbox(mailbox, system_clock)
    assert report.address is not None and report.address.ok is False
    mailbox.refresh_from_db()
    assert not mailbox.address_proven
