"""The Gmail provider against a real Gmail API emulator (tests/peers/emulator.py).

Where the emulator cannot answer as Gmail would (429s, dropped connections, the Message-ID
search, the profile), a FaultProxy in front of it gives that one answer; everything else
is the emulator's own.
"""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from urllib.parse import parse_qs

import httpx
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
from sequencer.mail.providers.gmail import GmailProvider
from sequencer.testing import FakeClock
from tests.peers.emulator import ALICE, ALICE_TOKEN
from tests.peers.fault_proxy import DROP_AFTER_FORWARDING, Compute, Delay, Reply
from tests.peers.gmail_search import message_id_search

SEND = "/gmail/v1/users/me/messages/send"
SEARCH = "/gmail/v1/users/me/messages"
LONG_UNSUBSCRIBE = "https://sequencer.example.test/u/" + "k" * 150
CLOCK = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


def email(subject="Quick question", **kwargs):
    return build_message(
        from_=("Alice", ALICE),
        to=("Bob Prospect", "bob@prospect.test"),
        subject=subject,
        html="<p>Hello Bob, <a href='https://example.test'>a link</a>.</p>",
        date=CLOCK.now(),
        message_id=make_message_id(ALICE),
        unsubscribe_url=LONG_UNSUBSCRIBE,
        **kwargs,
    )


def follow_up(first, result):
    message = email(
        subject=reply_subject(str(first["Subject"])),
        in_reply_to=str(first["Message-ID"]),
        references=[str(first["Message-ID"])],
    )
    ref = ThreadRef(
        message_id=str(first["Message-ID"]),
        provider_message_id=result.provider_message_id,
        thread_id=result.thread_id,
    )
    return message, ref


@pytest.fixture
def gmail(api_emulator):
    def make(url=None, **kwargs):
        kwargs.setdefault("timeout", 5.0)
        return GmailProvider(
            email=ALICE,
            tokens=StaticToken(ALICE_TOKEN),
            api_url=url or api_emulator.google_url,
            clock=CLOCK,
            **kwargs,
        )

    return make


def gmail_error(code, reason, message):
    return {"error": {"code": code, "message": message, "errors": [{"reason": reason}]}}


def test_a_sent_email_arrives_byte_for_byte_with_our_message_id_and_list_unsubscribe(
    gmail, api_emulator
):
    message = email()
    result = gmail().send(message)
    stored = api_emulator.gmail_raw(result.provider_message_id)
    assert stored == wire_bytes(message)
    parsed = message_from_bytes(stored, policy=policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert str(parsed["List-Unsubscribe"]) == f"<{LONG_UNSUBSCRIBE}>"
    assert b"=?" not in stored.split(b"\r\n\r\n")[0]
    assert result.thread_id


def test_an_encoded_line_break_in_names_and_subject_gives_gmail_no_extra_recipient(
    gmail, api_emulator
):
    exploit = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?="
    message = build_message(
        from_=(exploit, ALICE),
        to=(exploit, "bob@prospect.test"),
        subject=f"Hi {exploit}",
        html="<p>Hello Bob</p>",
        date=CLOCK.now(),
        message_id=make_message_id(ALICE),
    )
    result = gmail().send(message)
    # What the emulator read from the raw bytes, as Gmail reads its recipients there.
    stored = httpx.get(
        f"{api_emulator.google_url}/gmail/v1/users/me/messages/{result.provider_message_id}",
        params={"format": "metadata"},
        headers={"Authorization": f"Bearer {ALICE_TOKEN}"},
    ).json()
    seen = {h["name"].lower(): h["value"] for h in stored["payload"]["headers"] if h["value"]}
    assert "bcc" not in seen and "cc" not in seen
    assert "evil.test" not in seen["to"] and "bob@prospect.test" in seen["to"]
    raw = message_from_bytes(
        api_emulator.gmail_raw(result.provider_message_id), policy=policy.default
    )
    assert [a.addr_spec for a in raw["To"].addresses] == ["bob@prospect.test"]
    assert raw.get_all("Bcc") is None
    assert raw["Subject"] == f"Hi {exploit}"


def test_a_follow_up_with_the_thread_id_stays_in_the_first_emails_thread(
    gmail, api_emulator, fault_proxy
):
    proxy = fault_proxy(api_emulator.google_url)
    provider = gmail(proxy.url)
    first = email()
    first_result = provider.send(first)
    second, ref = follow_up(first, first_result)
    second_result = provider.send(second, thread=ref)
    assert second_result.thread_id == first_result.thread_id
    assert "threadId" not in proxy.requests_to("POST", SEND)[0].json()
    assert proxy.requests_to("POST", SEND)[1].json()["threadId"] == first_result.thread_id
    assert api_emulator.gmail_thread(first_result.thread_id) == [
        first_result.provider_message_id,
        second_result.provider_message_id,
    ]


def test_find_sent_finds_a_sent_message_by_its_id_and_not_a_message_id_never_sent(
    gmail, api_emulator, fault_proxy
):
    # The emulator's own rfc822msgid: search never matches; the stand-in answers the
    # provider's real query from the emulator's messages, as Gmail would, and refuses any
    # other query. So a wrong query, id or reading of the answer fails here.
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(Compute(message_id_search), method="GET", path=SEARCH, times=10)
    provider = gmail(proxy.url)
    message = email()
    provider.send(message)
    provider.send(email(subject="Another one"))

    assert provider.find_sent(message["Message-ID"]) is True
    assert provider.find_sent(make_message_id(ALICE)) is False
    assert len(proxy.requests_to("GET", SEARCH)) == 2


def test_find_sent_is_true_when_the_search_finds_the_message(gmail, api_emulator, fault_proxy):
    message = email()
    sent = gmail().send(message)
    proxy = fault_proxy(api_emulator.google_url)
    # The emulator's rfc822msgid: search never matches; answer it as Gmail would. The
    # hit is then checked against the emulator's own copy of the message.
    hit = {"id": sent.provider_message_id, "threadId": sent.thread_id}
    proxy.script(Reply(200, json={"messages": [hit], "resultSizeEstimate": 1}), path=SEARCH)
    assert gmail(proxy.url).find_sent(message["Message-ID"]) is True
    [search] = proxy.requests_to("GET", SEARCH)
    assert parse_qs(search.query)["q"] == [f"rfc822msgid:{message['Message-ID']}"]


def test_find_sent_does_not_trust_a_hit_with_another_message_id(gmail, api_emulator, fault_proxy):
    other = gmail().send(email())
    proxy = fault_proxy(api_emulator.google_url)
    hit = {"id": other.provider_message_id, "threadId": other.thread_id}
    proxy.script(Reply(200, json={"messages": [hit], "resultSizeEstimate": 1}), path=SEARCH)
    assert gmail(proxy.url).find_sent(make_message_id(ALICE)) is False


@pytest.mark.parametrize(
    ("reply", "expected", "attributes"),
    [
        (
            Reply(429, gmail_error(429, "rateLimitExceeded", "Too many"), {"Retry-After": "17"}),
            TransientFailure,
            {"retry_after": 17.0},
        ),
        (
            Reply(
                403,
                gmail_error(
                    403,
                    "userRateLimitExceeded",
                    "User-rate limit exceeded.  Retry after 2026-01-05T09:30:00.000Z",
                ),
            ),
            TransientFailure,
            {"retry_after": 1800.0},
        ),
        (Reply(503, gmail_error(503, "backendError", "Backend Error")), TransientFailure, {}),
        (
            Reply(403, gmail_error(403, "dailyLimitExceeded", "Daily Limit Exceeded")),
            MailboxFailure,
            {"problem": "quota", "pause_seconds": QUOTA_PAUSE_SECONDS},
        ),
        (
            Reply(403, gmail_error(403, "insufficientPermissions", "Insufficient scopes")),
            MailboxFailure,
            {"problem": "auth"},
        ),
        (
            Reply(400, gmail_error(400, "invalidArgument", "Invalid To header")),
            RecipientRejected,
            {"recipient": "bob@prospect.test"},
        ),
        (
            Reply(400, gmail_error(400, "invalidArgument", "Invalid raw")),
            MessageRejected,
            {},
        ),
    ],
    ids=["429", "403-rate", "503", "daily-limit", "scope", "bad-recipient", "bad-message"],
)
def test_a_refused_send_is_classified_and_nothing_is_sent(
    gmail, api_emulator, fault_proxy, reply, expected, attributes
):
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(reply, path=SEND, times=2)
    before = len(api_emulator.gmail_sent())
    with pytest.raises(expected) as raised:
        gmail(proxy.url).send(email())
    for name, value in attributes.items():
        assert getattr(raised.value, name) == value
    assert reply.json["error"]["message"] in raised.value.message
    assert len(api_emulator.gmail_sent()) == before


def test_a_connection_lost_after_the_request_left_is_an_unknown_outcome(
    gmail, api_emulator, fault_proxy
):
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(DROP_AFTER_FORWARDING, path=SEND)
    before = len(api_emulator.gmail_sent())
    with pytest.raises(OutcomeUnknown):
        gmail(proxy.url).send(email())
    # Which is why: Gmail did take it.
    assert len(api_emulator.gmail_sent()) == before + 1


def test_a_send_that_times_out_waiting_is_unknown_but_a_search_is_only_retried(
    gmail, api_emulator, fault_proxy
):
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(Delay(1.0), times=2)
    provider = gmail(proxy.url, timeout=0.3)
    with pytest.raises(OutcomeUnknown):
        provider.send(email())
    with pytest.raises(TransientFailure):
        provider.find_sent(make_message_id(ALICE))


def test_an_unreachable_api_is_a_transient_failure(gmail, closed_port):
    with pytest.raises(TransientFailure, match="No answer from the Gmail API"):
        gmail(f"http://127.0.0.1:{closed_port}").send(email())


def test_the_connection_test_signs_in_and_searches(gmail, api_emulator, fault_proxy):
    proxy = fault_proxy(api_emulator.google_url)
    profile = {"emailAddress": ALICE, "messagesTotal": 3, "threadsTotal": 2, "historyId": "9"}
    # The emulator has no users/me/profile: answered here as Gmail documents it.
    proxy.script(Reply(200, json=profile), path="/gmail/v1/users/me/profile")
    report = gmail(proxy.url, granted_scope="openid https://www.googleapis.com/auth/gmail.send")
    result = report.test_connection()
    assert result.ok
    assert ALICE in result.sending.message
    assert "searched" in result.reading.message


@pytest.mark.parametrize(
    ("profile_address", "scope", "complaint"),
    [
        ("someone.else@example.test", None, "belongs to someone.else@example.test"),
        (ALICE, "openid email https://www.googleapis.com/auth/gmail.readonly", "permission"),
    ],
)
def test_the_connection_test_fails_for_another_account_or_no_send_permission(
    gmail, api_emulator, fault_proxy, profile_address, scope, complaint
):
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(
        Reply(200, json={"emailAddress": profile_address}), path="/gmail/v1/users/me/profile"
    )
    result = gmail(proxy.url, granted_scope=scope).test_connection()
    assert not result.ok
    assert complaint in result.sending.message
