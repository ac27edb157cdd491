"""The API emulator itself: it starts, listens on loopback only, and the helpers read it.

The last tests pin down the emulator's gaps that tests/peers/fault_proxy.py stands in
for. They assert the gap is still there: if an upgrade closes one, the failing test names
the stand-in that can go.
"""

import base64
from pathlib import Path

import httpx
import pytest

from tests.peers.emulator import ALICE, ALICE_TOKEN, GOOGLE_CLIENT

AUTH = {"Authorization": f"Bearer {ALICE_TOKEN}"}


def _listening_addresses(port: int) -> set[str]:
    """The local addresses listening on TCP ``port``, read from /proc (no connection)."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_both_services_answer_on_their_loopback_ports(api_emulator):
    google = httpx.get(f"{api_emulator.google_url}/.well-known/openid-configuration")
    microsoft = httpx.get(
        f"{api_emulator.microsoft_url}/common/v2.0/.well-known/openid-configuration"
    )
    assert google.json()["token_endpoint"].endswith("/oauth2/token")
    assert microsoft.json()["token_endpoint"].endswith("/oauth2/v2.0/token")


def test_the_emulator_listens_on_loopback_only(api_emulator):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    for port in (api_emulator.google_port, api_emulator.microsoft_port):
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex


def test_the_helpers_read_back_a_sent_gmail_message(api_emulator):
    raw = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: peer\r\n\r\nhi\r\n"
    sent = httpx.post(
        f"{api_emulator.google_url}/gmail/v1/users/me/messages/send",
        json={"raw": base64.urlsafe_b64encode(raw).decode()},
        headers=AUTH,
    ).json()
    assert sent["id"] in [m["id"] for m in api_emulator.gmail_sent()]
    assert api_emulator.gmail_raw(sent["id"]) == raw
    assert api_emulator.gmail_thread(sent["threadId"]) == [sent["id"]]


def test_a_consent_page_sign_in_yields_tokens_that_refresh(api_emulator):
    tokens = api_emulator.issue_tokens("gmail")
    assert tokens["access_token"] and tokens["refresh_token"]
    renewed = httpx.post(
        f"{api_emulator.google_url}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": GOOGLE_CLIENT.client_id,
            "client_secret": GOOGLE_CLIENT.client_secret,
        },
    )
    assert renewed.status_code == 200
    assert renewed.json()["access_token"] != tokens["access_token"]


def test_the_emulator_still_accepts_any_bearer_token(api_emulator):
    answer = httpx.get(
        f"{api_emulator.google_url}/gmail/v1/users/me/messages",
        headers={"Authorization": "Bearer not-a-token-it-issued"},
    )
    assert answer.status_code == 200  # real Gmail: 401; the proxy scripts 401s instead


def test_the_emulator_still_cannot_search_gmail_by_message_id(api_emulator):
    raw = b"From: alice@example.test\r\nTo: b@example.test\r\n"
    raw += b"Message-ID: <gap@example.test>\r\n\r\n"
    httpx.post(
        f"{api_emulator.google_url}/gmail/v1/users/me/messages/send",
        json={"raw": base64.urlsafe_b64encode(raw).decode()},
        headers=AUTH,
    )
    found = httpx.get(
        f"{api_emulator.google_url}/gmail/v1/users/me/messages",
        params={"q": "rfc822msgid:<gap@example.test>"},
        headers=AUTH,
    ).json()
    assert found["resultSizeEstimate"] == 0  # real Gmail finds it


def test_the_emulator_still_has_no_gmail_profile(api_emulator):
    answer = httpx.get(f"{api_emulator.google_url}/gmail/v1/users/me/profile", headers=AUTH)
    assert answer.status_code == 404


def test_the_emulator_still_stores_a_mime_graph_send_without_its_headers(api_emulator):
    before = {m["id"] for m in api_emulator.graph_sent()}
    raw = b"From: alice@example.test\r\nTo: bob@example.test\r\n"
    raw += b"Subject: Hi\r\nMessage-ID: <m@x>\r\n\r\n"
    answer = httpx.post(
        f"{api_emulator.microsoft_url}/v1.0/me/sendMail",
        content=base64.b64encode(raw),
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 202
    [stored] = [m for m in api_emulator.graph_sent() if m["id"] not in before]
    assert (stored["subject"], stored["toRecipients"]) == ("", [])
    assert stored["internetMessageId"] != "<m@x>"


def test_the_emulator_still_ignores_internet_message_id_in_filters_and_patches(api_emulator):
    sent = api_emulator.graph_sent()[0]
    found = httpx.get(
        f"{api_emulator.microsoft_url}/v1.0/me/mailFolders/sentitems/messages",
        params={"$filter": f"internetMessageId eq '{sent['internetMessageId']}'"},
        headers=AUTH,
    ).json()
    assert found["value"] == []
    draft = httpx.post(
        f"{api_emulator.microsoft_url}/v1.0/me/messages/{sent['id']}/createReply",
        json={},
        headers=AUTH,
    ).json()
    patched = httpx.patch(
        f"{api_emulator.microsoft_url}/v1.0/me/messages/{draft['id']}",
        json={"internetMessageId": "<ours@example.test>"},
        headers=AUTH,
    ).json()
    assert patched["internetMessageId"] == draft["internetMessageId"]
    assert ALICE in [r["emailAddress"]["address"] for r in draft["toRecipients"]]
