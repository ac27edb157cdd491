"""The Microsoft Graph provider against a real Graph emulator (tests/peers/emulator.py).

The emulator stores a MIME ``sendMail`` without parsing it and cannot filter by
``internetMessageId``: what the provider sent is read from the FaultProxy's record, and
a Sent Items search is answered by the proxy (with a message the emulator really holds).
"""

import base64
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from sequencer.domain.threading import make_message_id, reply_subject
from sequencer.mail.compose import build_message, wire_bytes
from sequencer.mail.providers.api import StaticToken
from sequencer.mail.providers.base import ThreadRef
from sequencer.mail.providers.errors import (
    QUOTA_PAUSE_SECONDS,
    MailboxFailure,
    MessageRejected,
    OutcomeUnknown,
    RecipientRejected,
    TransientFailure,
)
from sequencer.mail.providers.microsoft import GraphProvider
from sequencer.testing import FakeClock
from tests.peers.emulator import ALICE, ALICE_TOKEN
from tests.peers.fault_proxy import DROP_AFTER_FORWARDING, Reply

SEND_MAIL = "/v1.0/me/sendMail"
SENT_ITEMS = "/v1.0/me/mailFolders/sentitems/messages"
BOB = "bob@prospect.test"
LONG_UNSUBSCRIBE = "https://sequencer.example.test/u/" + "k" * 150
CLOCK = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


def email(subject="Quick question", **kwargs):
    return build_message(
        from_=("Alice", ALICE),
        to=("Bob Prospect", BOB),
        subject=subject,
        html="<p>Hello Bob, following up.</p>",
        date=CLOCK.now(),
        message_id=make_message_id(ALICE),
        unsubscribe_url=LONG_UNSUBSCRIBE,
        **kwargs,
    )


def reply_to(first, **kwargs):
    return email(
        subject=reply_subject(str(first["Subject"])),
        in_reply_to=str(first["Message-ID"]),
        references=[str(first["Message-ID"])],
        **kwargs,
    )


def graph_error(code, message):
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def proxy(api_emulator, fault_proxy):
    return fault_proxy(api_emulator.microsoft_url)


@pytest.fixture
def graph(proxy):
    def make(url=None, **kwargs):
        kwargs.setdefault("timeout", 5.0)
        return GraphProvider(
            email=ALICE,
            tokens=StaticToken(ALICE_TOKEN),
            api_url=url or proxy.url,
            clock=CLOCK,
            **kwargs,
        )

    return make


@pytest.fixture
def first_sent(graph, api_emulator):
    """A first email sent through the provider, and its Graph id in Sent Items."""
    before = {m["id"] for m in api_emulator.graph_sent()}
    message = email()
    graph().send(message)
    [graph_id] = [m["id"] for m in api_emulator.graph_sent() if m["id"] not in before]
    return message, graph_id


def test_a_first_email_goes_as_mime_with_every_header_and_is_accepted(graph, proxy, api_emulator):
    before = len(api_emulator.graph_sent())
    message = email()
    result = graph().send(message)
    [request] = proxy.requests_to("POST", SEND_MAIL)
    assert request.headers["Content-Type"] == "text/plain"
    assert request.headers["Prefer"] == 'IdType="ImmutableId"'
    sent = base64.b64decode(request.body)
    assert sent == wire_bytes(message)
    parsed = message_from_bytes(sent, policy=policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert str(parsed["List-Unsubscribe"]) == f"<{LONG_UNSUBSCRIBE}>"
    assert request.status == 202
    assert result.server_reply.startswith("202")
    assert len(api_emulator.graph_sent()) == before + 1


EXPLOIT = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?="


def test_an_encoded_line_break_in_names_and_subject_gives_graph_no_extra_recipient(graph, proxy):
    message = build_message(
        from_=(EXPLOIT, ALICE),
        to=(EXPLOIT, BOB),
        subject=f"Hi {EXPLOIT}",
        html="<p>Hello Bob</p>",
        date=CLOCK.now(),
        message_id=make_message_id(ALICE),
    )
    graph().send(message)
    [request] = proxy.requests_to("POST", SEND_MAIL)
    assert request.status == 202
    sent = message_from_bytes(base64.b64decode(request.body), policy=policy.default)
    assert [a.addr_spec for a in sent["To"].addresses] == [BOB]
    assert sent.get_all("Bcc") is None and sent.get_all("Cc") is None
    assert sent["Subject"] == f"Hi {EXPLOIT}"


def test_a_follow_up_with_an_encoded_line_break_in_the_name_is_addressed_to_one_recipient(
    graph, api_emulator, first_sent
):
    first, first_id = first_sent
    second = build_message(
        from_=(EXPLOIT, ALICE),
        to=(EXPLOIT, BOB),
        subject=reply_subject(f"Hi {EXPLOIT}"),
        html="<p>Hello Bob, following up.</p>",
        date=CLOCK.now(),
        message_id=make_message_id(ALICE),
        in_reply_to=str(first["Message-ID"]),
        references=[str(first["Message-ID"])],
    )
    ref = ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    result = graph().send(second, thread=ref)
    stored = api_emulator.graph_message(result.provider_message_id)
    assert [r["emailAddress"]["address"] for r in stored["toRecipients"]] == [BOB]
    assert stored["toRecipients"][0]["emailAddress"]["name"] == EXPLOIT
    assert stored["ccRecipients"] == [] and stored["bccRecipients"] == []
    assert stored["subject"] == f"RE: Hi {EXPLOIT}"


def test_a_follow_up_is_a_reply_in_the_same_conversation_addressed_to_the_recipient(
    graph, proxy, api_emulator, first_sent
):
    first, first_id = first_sent
    conversation = api_emulator.graph_message(first_id)["conversationId"]
    second = reply_to(first)
    ref = ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    result = graph().send(second, thread=ref)

    assert result.thread_id == conversation
    stored = api_emulator.graph_message(result.provider_message_id)
    assert stored["conversationId"] == conversation
    assert [r["emailAddress"]["address"] for r in stored["toRecipients"]] == [BOB]
    assert stored["subject"] == str(second["Subject"])
    assert "following up" in stored["body"]["content"]
    assert (stored["isDraft"], stored["parentFolderId"]) == (False, "sentitems")
    [patch] = proxy.requests_to("PATCH", f"/v1.0/me/messages/{result.provider_message_id}")
    assert patch.json()["internetMessageId"] == second["Message-ID"]
    assert not proxy.requests_to("POST", SEND_MAIL)[1:]  # only the first email went as MIME


def test_a_follow_up_without_the_graph_id_finds_the_previous_message_by_its_message_id(
    graph, proxy, api_emulator, first_sent
):
    first, first_id = first_sent
    # Graph would find it with $filter=internetMessageId; the emulator cannot filter on
    # it, so the proxy answers with the message the emulator holds.
    listed = {"id": first_id, "internetMessageId": str(first["Message-ID"])}
    proxy.script(Reply(200, json={"value": [listed]}), method="GET", path=SENT_ITEMS)
    result = graph().send(reply_to(first), thread=ThreadRef(message_id=str(first["Message-ID"])))
    [search] = proxy.requests_to("GET", SENT_ITEMS)
    assert "internetMessageId+eq+" in search.query or "internetMessageId%20eq%20" in search.query
    assert proxy.requests_to("POST", f"/v1.0/me/messages/{first_id}/createReply")
    assert result.provider_message_id != first_id


@pytest.mark.parametrize("known_id", [None, "msg_that_was_deleted"])
def test_a_follow_up_whose_previous_message_is_gone_is_sent_as_mime(
    graph, proxy, api_emulator, known_id
):
    gone = make_message_id(ALICE)
    follow_up = email(subject="RE: Quick question", in_reply_to=gone, references=[gone])
    graph().send(follow_up, thread=ThreadRef(message_id=gone, provider_message_id=known_id))
    [mime] = proxy.requests_to("POST", SEND_MAIL)
    assert base64.b64decode(mime.body) == wire_bytes(follow_up)


def test_a_follow_up_carries_its_attachments(graph, api_emulator, first_sent):
    first, first_id = first_sent
    second = reply_to(first, attachments=[("terms.pdf", "application/pdf", b"%PDF-1.4 terms")])
    result = graph().send(
        second, thread=ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    )
    [attachment] = api_emulator.graph_attachments(result.provider_message_id)
    assert attachment["name"] == "terms.pdf"
    assert base64.b64decode(attachment["contentBytes"]) == b"%PDF-1.4 terms"


def test_find_sent_is_false_for_a_message_id_that_was_never_sent(graph):
    assert graph().find_sent(make_message_id(ALICE)) is False


def test_find_sent_is_true_when_sent_items_holds_the_message_id(graph, proxy, api_emulator):
    held = api_emulator.graph_sent()[0]
    answer = {"id": held["id"], "internetMessageId": held["internetMessageId"]}
    proxy.script(Reply(200, json={"value": [answer]}), path=SENT_ITEMS)
    assert graph().find_sent(held["internetMessageId"]) is True


def test_find_sent_does_not_trust_a_hit_with_another_message_id(graph, proxy, api_emulator):
    held = api_emulator.graph_sent()[0]
    answer = {"id": held["id"], "internetMessageId": held["internetMessageId"]}
    proxy.script(Reply(200, json={"value": [answer]}), path=SENT_ITEMS)
    assert graph().find_sent(make_message_id(ALICE)) is False


@pytest.mark.parametrize(
    ("reply", "expected", "attributes"),
    [
        (
            Reply(429, graph_error("ApplicationThrottled", "Too many"), {"Retry-After": "30"}),
            TransientFailure,
            {"retry_after": 30.0},
        ),
        (
            Reply(
                503,
                graph_error("ServiceUnavailable", "Try later"),
                {"Retry-After": "Mon, 05 Jan 2026 09:02:00 GMT"},
            ),
            TransientFailure,
            {"retry_after": 120.0},
        ),
        (
            Reply(400, graph_error("ErrorInvalidRecipients", "Invalid recipients")),
            RecipientRejected,
            {"recipient": BOB},
        ),
        (
            Reply(403, graph_error("ErrorSendAsDenied", "Not allowed")),
            MailboxFailure,
            {"problem": "sender"},
        ),
        (
            Reply(403, graph_error("ErrorAccessDenied", "Access is denied")),
            MailboxFailure,
            {"problem": "auth"},
        ),
        (
            Reply(403, graph_error("ErrorExceededMessageLimit", "Too many messages today")),
            MailboxFailure,
            {"problem": "quota", "pause_seconds": QUOTA_PAUSE_SECONDS},
        ),
        (
            Reply(400, graph_error("ErrorMimeContentInvalid", "Bad MIME")),
            MessageRejected,
            {},
        ),
    ],
    ids=["429", "503-date", "bad-recipient", "send-as", "no-permission", "quota", "bad-mime"],
)
def test_a_refused_send_is_classified_and_nothing_is_sent(
    graph, proxy, api_emulator, reply, expected, attributes
):
    before = len(api_emulator.graph_sent())
    proxy.script(reply, path=SEND_MAIL)
    with pytest.raises(expected) as raised:
        graph().send(email())
    for name, value in attributes.items():
        assert getattr(raised.value, name) == value
    assert reply.json["error"]["message"] in raised.value.message
    assert len(api_emulator.graph_sent()) == before


def test_a_connection_lost_after_a_send_is_an_unknown_outcome(graph, proxy, api_emulator):
    before = len(api_emulator.graph_sent())
    proxy.script(DROP_AFTER_FORWARDING, path=SEND_MAIL)
    with pytest.raises(OutcomeUnknown):
        graph().send(email())
    assert len(api_emulator.graph_sent()) == before + 1


def test_a_reply_whose_send_was_lost_is_unknown_and_keeps_its_draft(
    graph, proxy, api_emulator, first_sent
):
    first, first_id = first_sent
    proxy.script(DROP_AFTER_FORWARDING, method="POST", path=re.compile(r".*/messages/[^/]+/send"))
    ref = ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    with pytest.raises(OutcomeUnknown):
        graph().send(reply_to(first), thread=ref)
    assert not [r for r in proxy.requests if r.method == "DELETE"]
    [send] = [r for r in proxy.requests if r.path.endswith("/send")]
    draft_id = send.path.split("/")[-2]
    assert api_emulator.graph_message(draft_id)["parentFolderId"] == "sentitems"


def test_a_reply_whose_draft_answer_was_lost_is_only_retried(graph, proxy, first_sent):
    first, first_id = first_sent
    proxy.script(DROP_AFTER_FORWARDING, path=f"/v1.0/me/messages/{first_id}/createReply")
    ref = ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    with pytest.raises(TransientFailure):
        graph().send(reply_to(first), thread=ref)
    assert not [r for r in proxy.requests if r.path.endswith("/send")]


def test_a_refused_reply_draft_is_deleted(graph, proxy, api_emulator, first_sent):
    first, first_id = first_sent
    proxy.script(Reply(400, graph_error("ErrorInvalidRequest", "Bad body")), method="PATCH")
    ref = ThreadRef(message_id=str(first["Message-ID"]), provider_message_id=first_id)
    with pytest.raises(MessageRejected, match="Bad body"):
        graph().send(reply_to(first), thread=ref)
    [delete] = [r for r in proxy.requests if r.method == "DELETE"]
    draft_id = delete.path.rsplit("/", 1)[1]
    assert api_emulator.graph_message(draft_id)["parentFolderId"] == "deleteditems"


def test_the_connection_test_signs_in_and_reads_sent_items(graph):
    report = graph(granted_scope="offline_access Mail.Send Mail.ReadWrite User.Read")
    result = report.test_connection()
    assert result.ok
    assert ALICE in result.sending.message
    assert "Sent Items" in result.reading.message


def test_the_connection_test_fails_without_the_send_permission(graph):
    result = graph(granted_scope="offline_access User.Read").test_connection()
    assert not result.ok
    assert "Mail.Send" in result.sending.message
