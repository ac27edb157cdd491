"""The Gmail Message-ID search stand-in, checked against the emulator's own messages."""

import base64
import uuid

import httpx
import pytest

from tests.peers.emulator import ALICE_TOKEN
from tests.peers.fault_proxy import Compute
from tests.peers.gmail_search import GMAIL_SEARCH, message_id_search

AUTH = {"Authorization": f"Bearer {ALICE_TOKEN}"}


@pytest.fixture
def searched(api_emulator, fault_proxy):
    """A proxy whose Gmail search is the stand-in, and a way to send through it."""
    proxy = fault_proxy(api_emulator.google_url)
    proxy.script(Compute(message_id_search), method="GET", path=GMAIL_SEARCH, times=100)

    def send(message_id: str) -> str:
        raw = f"From: alice@example.test\r\nTo: b@example.test\r\nMessage-ID: {message_id}\r\n"
        answer = httpx.post(
            f"{proxy.url}{GMAIL_SEARCH}/send",
            json={"raw": base64.urlsafe_b64encode(raw.encode() + b"\r\nHi\r\n").decode()},
            headers=AUTH,
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def search(query: str) -> httpx.Response:
        return httpx.get(
            f"{proxy.url}{GMAIL_SEARCH}", params={"q": query, "maxResults": "10"}, headers=AUTH
        )

    return send, search


def unique_id() -> str:
    return f"<{uuid.uuid4().hex}@stand-in.test>"


def test_the_search_finds_exactly_the_message_with_that_id_with_or_without_brackets(searched):
    send, search = searched
    wanted, other = unique_id(), unique_id()
    gmail_id = send(wanted)
    send(other)

    for query in (f"rfc822msgid:{wanted}", f"rfc822msgid:{wanted.strip('<>').upper()}"):
        answer = search(query)
        assert answer.status_code == 200
        assert [m["id"] for m in answer.json()["messages"]] == [gmail_id]
        assert answer.json()["resultSizeEstimate"] == 1


def test_the_search_finds_nothing_for_an_id_no_message_has(searched):
    send, search = searched
    send(unique_id())
    answer = search(f"rfc822msgid:{unique_id()}")
    assert answer.status_code == 200
    assert answer.json() == {"resultSizeEstimate": 0}


@pytest.mark.parametrize("query", ["", "msgid:<a@b.test>", "rfc822msgid:<a@b.test> in:sent"])
def test_any_other_query_is_refused_rather_than_answered_empty(searched, query):
    _, search = searched
    assert search(query).status_code == 400
