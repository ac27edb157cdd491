"""Gmail (history.list) and Microsoft 365 (inbox delta, or polling) mailboxes, read from
the local Gmail/Graph emulator (tests/peers/emulator.py).

The emulator holds one Alice for the whole session, so every test writes to a recipient
of its own, and messages left by other tests are read too (and matched to nothing).

What the emulator cannot do, and what stands in for it here:

* a ``history.list`` with an id Gmail no longer knows answers 200 there (Gmail: 404):
  a FaultProxy gives the 404 that makes the reader fall back to a full sync;
* it has no ``users/me/profile``: the full sync takes its new starting point from the
  newest historyId among the messages it read;
* it has no Graph ``messages/delta`` (404): the reader polls
  ``mailFolders/inbox/messages?$filter=receivedDateTime ge ...`` instead;
* it has no Graph ``/$value`` (MIME): messages are rebuilt from their JSON;
* it cannot receive mail for Graph: an inbound message is made as a draft (a reply
  draft to keep the conversation), given the prospect as sender, and moved to the inbox.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime

import httpx
import pytest

from sequencer.mail import mailboxes
from sequencer.mail.models import InboundMessage, SyncCursor
from sequencer.mail.sync import graph
from sequencer.sequences.models import EnrollmentEvent
from tests.integration.engine.conftest import make_person
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email
from tests.peers.emulator import ALICE, ALICE_TOKEN
from tests.peers.fault_proxy import Reply
from tests.peers.fixtures import mark_address_proven

pytestmark = pytest.mark.django_db

_names = itertools.count(1)
HISTORY = "/gmail/v1/users/me/history"


def prospect(kind: str):
    """A recipient no other test writes to (the emulator's mailbox is shared)."""
    n = next(_names)
    name = f"{kind}{n}x{datetime.now(UTC):%H%M%S%f}"
    return make_person(name, f"{name.lower()}@initech.test"), name


def api_mailbox(admin, provider):
    box = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {
                "provider": provider,
                "email": ALICE,
                "oauth": {
                    "access_token": ALICE_TOKEN,
                    "expires_at": "2099-01-01T00:00:00+00:00",
                },
            }
        ),
    )
    box.min_spacing_seconds = 0
    box.save()
    return mark_address_proven(box)


def auth():
    return {"Authorization": f"Bearer {ALICE_TOKEN}"}


# -- Gmail -------------------------------------------------------------------------------


def gmail_import(base_url, raw, thread_id=None):
    body = {"raw": base64.urlsafe_b64encode(raw).decode()}
    if thread_id:
        body["threadId"] = thread_id
    response = httpx.post(
        f"{base_url}/gmail/v1/users/me/messages/import", json=body, headers=auth(), timeout=5
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def gmail_box(admin, api_emulator_settings):
    return api_mailbox(admin, "gmail")


def test_gmail_a_reply_found_through_history_exits_the_recipient(
    admin, publish, gmail_box, clock, worker, api_emulator_settings
):
    person, name = prospect("Gm")
    enrolled = enroll_one(admin, publish(), gmail_box, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    assert first.thread_id
    # A pass now reads by date (no starting point yet) and keeps the newest historyId
    # it saw: the emulator has no profile to ask for the current one.
    read_inbox(clock)
    cursor = SyncCursor.objects.get(mailbox=gmail_box)
    assert cursor.history_id

    imported = gmail_import(
        api_emulator_settings.google_url,
        messages.reply(
            first.message_id, sender=f"{name} <{enrolled.email}>", subject=f"Re: {first.subject}"
        ),
    )
    assert read_inbox(clock) == 1
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "replied")
    inbound = InboundMessage.objects.get(enrollment=enrolled)
    assert (inbound.provider_id, inbound.provider_thread_id) == (
        imported["id"],
        first.thread_id,
    )
    cursor.refresh_from_db()
    assert int(cursor.history_id) >= int(imported["historyId"])
    # Read again: nothing new, nothing downloaded twice.
    assert read_inbox(clock) == 0


def test_gmail_a_reply_without_headers_matches_by_its_thread(
    admin, publish, gmail_box, clock, worker, api_emulator_settings
):
    person, name = prospect("Gt")
    enrolled = enroll_one(admin, publish(), gmail_box, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    gmail_import(
        api_emulator_settings.google_url,
        messages.reply(None, sender=f"{name} <{enrolled.email}>", subject="Different words"),
        thread_id=first.thread_id,
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    assert EnrollmentEvent.objects.get(enrollment=enrolled).detail["matched_by"] == "thread"


def test_gmail_an_unknown_history_id_falls_back_to_a_full_sync(
    admin, publish, gmail_box, clock, worker, api_emulator_settings, fault_proxy, settings
):
    proxy = fault_proxy(api_emulator_settings.google_url)
    settings.GOOGLE_API_URL = proxy.url
    person, name = prospect("Gh")
    enrolled = enroll_one(admin, publish(), gmail_box, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    old = gmail_import(
        api_emulator_settings.google_url,
        messages.reply(None, sender=f"{name} <{enrolled.email}>", subject="Unrelated"),
    )
    read_inbox(clock)
    assert InboundMessage.objects.filter(provider_id=old["id"]).exists()

    reply = gmail_import(
        api_emulator_settings.google_url,
        messages.reply(
            first.message_id, sender=f"{name} <{enrolled.email}>", subject=f"Re: {first.subject}"
        ),
    )
    SyncCursor.objects.filter(mailbox=gmail_box).update(history_id="1")  # long expired
    proxy.script(
        Reply(404, json={"error": {"code": 404, "message": "Requested entity was not found."}}),
        method="GET",
        path=HISTORY,
    )
    before = len(proxy.requests_to("GET", f"/gmail/v1/users/me/messages/{old['id']}"))
    assert read_inbox(clock) == 1
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    assert InboundMessage.objects.get(enrollment=enrolled).provider_id == reply["id"]
    # The message read before was recognised by its Gmail id, not downloaded again.
    assert len(proxy.requests_to("GET", f"/gmail/v1/users/me/messages/{old['id']}")) == before
    assert int(SyncCursor.objects.get(mailbox=gmail_box).history_id) >= int(reply["historyId"])


# -- Microsoft Graph ---------------------------------------------------------------------


@pytest.fixture
def graph_box(admin, api_emulator_settings):
    return api_mailbox(admin, "microsoft")


def graph_receive(base_url, *, sender, subject, text, reply_to_graph_id=None):
    """Put a message from ``sender`` into Alice's inbox (see the module's notes)."""
    with httpx.Client(base_url=f"{base_url}/v1.0/me", headers=auth(), timeout=5) as client:
        if reply_to_graph_id:
            draft = client.post(f"/messages/{reply_to_graph_id}/createReply", json={}).json()
        else:
            draft = client.post("/messages", json={"subject": subject}).json()
        client.patch(
            f"/messages/{draft['id']}",
            json={
                "subject": subject,
                "from": {"emailAddress": {"address": sender}},
                "toRecipients": [{"emailAddress": {"address": ALICE}}],
                "body": {"contentType": "text", "content": text},
            },
        ).raise_for_status()
        inbox = client.get("/mailFolders/inbox").json()["id"]
        moved = client.post(f"/messages/{draft['id']}/move", json={"destinationId": inbox})
        moved.raise_for_status()
        return moved.json()


def test_graph_without_delta_polls_the_inbox_and_exits_a_reply_by_its_conversation(
    admin, publish, graph_box, clock, worker, api_emulator_settings
):
    person, _ = prospect("Ms")
    enrolled = enroll_one(admin, publish(), graph_box, person, clock)
    worker.tick()  # the first email, as MIME through sendMail
    cursor = SyncCursor.objects.get(mailbox=graph_box)
    assert cursor.delta_link == graph.POLLING  # the emulator answered delta with 404
    first = sent_email(enrolled)
    # On a real tenant the sent email's conversation is known (a follow-up sent with
    # createReply records it); the emulator stores MIME sends empty, so a message of
    # Alice's stands for the sent one and its conversationId is recorded.
    sent = httpx.post(
        f"{api_emulator_settings.microsoft_url}/v1.0/me/messages",
        json={"subject": first.subject},
        headers=auth(),
        timeout=5,
    ).json()
    type(first).objects.filter(pk=first.pk).update(thread_id=sent["conversationId"])

    received = graph_receive(
        api_emulator_settings.microsoft_url,
        sender=enrolled.email,
        subject="Sounds good",
        text="Happy to talk, call me Tuesday.",
        reply_to_graph_id=sent["id"],
    )
    assert received["conversationId"] == sent["conversationId"]
    assert read_inbox(clock) >= 1
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("exited", "replied")
    inbound = InboundMessage.objects.get(enrollment=enrolled)
    assert inbound.provider_id == received["id"] and inbound.kind == "reply"
    assert EnrollmentEvent.objects.get(enrollment=enrolled).detail["matched_by"] == "thread"
    cursor.refresh_from_db()
    assert cursor.watermark is not None
    # Polling again reads the newest message again but downloads and acts on nothing.
    assert read_inbox(clock) == 0


def test_graph_a_message_rebuilt_from_json_is_classified_like_any_other(
    admin, publish, graph_box, clock, worker, api_emulator_settings
):
    person, _ = prospect("Mu")
    enrolled = enroll_one(admin, publish(), graph_box, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    graph_receive(
        api_emulator_settings.microsoft_url,
        sender=enrolled.email,
        subject=f"RE: {first.subject}",
        text="Please stop emailing me.",
    )
    read_inbox(clock)
    enrolled.refresh_from_db()
    assert enrolled.exit_reason == "replied"
    event = EnrollmentEvent.objects.get(enrollment=enrolled)
    assert (event.kind, event.detail["matched_by"]) == ("asked_to_stop", "sender_subject")


def test_graph_delta_is_followed_where_the_service_offers_it(
    admin, graph_box, clock, api_emulator_settings, fault_proxy, settings
):
    """The emulator has no delta, so a proxy answers the delta rounds as Graph does."""
    proxy = fault_proxy(api_emulator_settings.microsoft_url)
    settings.GRAPH_API_URL = proxy.url
    _, name = prospect("Md")
    received = graph_receive(
        api_emulator_settings.microsoft_url,
        sender=f"{name.lower()}@initech.test",
        subject="Hello there",
        text="A note.",
    )
    delta = "/v1.0/me/mailFolders/inbox/messages/delta"
    next_link = f"{proxy.url}{delta}?$skiptoken=page2"
    delta_link = f"{proxy.url}{delta}?$deltatoken=round2"
    proxy.script(
        Reply(200, json={"value": [], "@odata.nextLink": next_link}), method="GET", path=delta
    )
    proxy.script(
        Reply(200, json={"value": [received], "@odata.deltaLink": delta_link}),
        method="GET",
        path=delta,
    )
    read_inbox(clock)
    cursor = SyncCursor.objects.get(mailbox=graph_box)
    assert cursor.delta_link == delta_link
    assert InboundMessage.objects.filter(provider_id=received["id"]).exists()
    first_round = proxy.requests_to("GET", delta)
    assert "receivedDateTime" in first_round[0].query
    assert "skiptoken=page2" in first_round[1].query

    # The next pass follows the stored deltaLink; an expired one (410) starts over.
    proxy.script(Reply(410, json={"error": {"code": "SyncStateNotFound"}}), path=delta)
    proxy.script(
        Reply(200, json={"value": [received], "@odata.deltaLink": delta_link + "b"}),
        path=delta,
    )
    assert read_inbox(clock) == 0
    requests = proxy.requests_to("GET", delta)
    assert "deltatoken=round2" in requests[2].query
    assert "receivedDateTime" in requests[3].query
    assert SyncCursor.objects.get(mailbox=graph_box).delta_link == delta_link + "b"
