"""No secret reaches the log, even at DEBUG with every SQL statement logged: flows that
handle a mailbox password, an API token and an unsubscribe token run for real (the SMTP
and IMAP peers refuse the password), and none of those values, the SECRET_KEY or the
encryption key appears in any line."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from sequencer.clock import system_clock
from sequencer.mail import mailboxes, oauth
from sequencer.mail.models import Mailbox
from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.suppression import unsubscribe_url
from sequencer.testing.logs import captured_log
from sequencer.workspace import services
from sequencer.workspace.services import TOKEN_PREFIX
from tests.conftest import ApiClient
from tests.peers.emulator import ALICE as EMULATED_ALICE
from tests.peers.fixtures import ALICE, mark_address_proven

pytestmark = pytest.mark.django_db

SMTP_PASSWORD = "smtp-pw-" + secrets.token_hex(8)
IMAP_PASSWORD = "imap-pw-" + secrets.token_hex(8)
ENCRYPTION_KEY = "enc-key-" + secrets.token_hex(16)
# The test SMTP peer (aiosmtpd, in this process) logs the SMTP dialogue itself; what it
# logs is the peer's business, not Sequencer's.
PEER_LOGGERS = ("mail.log",)


@pytest.fixture
def sql_logged() -> Iterator[None]:
    """Every query at DEBUG on ``django.db.backends``, as SEQUENCER_DEBUG=1 would log them
    (Django keeps its own loggers at INFO unless told otherwise)."""
    sql = logging.getLogger("django.db.backends")
    level = sql.level
    sql.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = False
    sql.setLevel(level)


def _server(host: str, port: int, username: str, password: str) -> dict[str, object]:
    return {
        "host": host,
        "port": port,
        "security": "none",
        "username": username,
        "password": password,
    }


def _lines(text: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in text.splitlines()]
    return [e for e in entries if not str(e["logger"]).startswith(PEER_LOGGERS)]


def test_no_secret_is_logged_by_mailbox_api_worker_or_unsubscribe_flows(
    admin, publish, person, clock, worker, smtp_server, dovecot, monkeypatch, sql_logged
) -> None:
    monkeypatch.setenv("SEQUENCER_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    _, token = services.create_token(admin, "logs")
    api = ApiClient(token)
    with captured_log("json") as stream:
        # A mailbox whose passwords both servers refuse, created and tested through the API.
        created = api.post(
            "mailboxes",
            {
                "provider": "smtp_imap",
                "email": ALICE,
                "display_name": "Alice",
                "smtp": _server(smtp_server.host, smtp_server.port, "alice", SMTP_PASSWORD),
                "imap": _server(dovecot.host, dovecot.imap_port, ALICE, IMAP_PASSWORD),
            },
        )
        assert created.status_code == 201, created.data
        mailbox = mark_address_proven(Mailbox.objects.get(pk=created.data["id"]))
        tested = api.post(f"mailboxes/{mailbox.pk}/test")
        assert tested.status_code == 200
        assert tested.data["smtp"]["ok"] is False, tested.data
        assert tested.data["imap"]["ok"] is False, tested.data
        # The worker sends (SMTP refuses the login) and reads the mailbox (IMAP refuses).
        [outcome] = enrollment.enroll(
            admin, publish().pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
        ).outcomes
        assert outcome.enrolled
        worker.tick()
        # A wrong token and a read-only one are refused (and logged by Django).
        assert ApiClient(token + "x").get("people").status_code == 401
        _, read_only = services.create_token(admin, "ro", scope="read_only")
        assert ApiClient(read_only).post("people", {"first_name": "Bo"}).status_code == 403
        # The recipient's unsubscribe link: opened, asked with a wrong method (logged with
        # its path by Django), then used.
        link = urlsplit(unsubscribe_url(mailbox.email, "ada@initech.test", outcome.enrollment_id))
        unsubscribe_token = link.path.rsplit("/", 1)[-1]
        assert Client().get(link.path).status_code == 200
        assert Client().put(link.path).status_code == 405
        assert Client().post(link.path, {"confirm": "1"}).status_code in {200, 302}

    lines = _lines(stream.getvalue())
    text = "\n".join(json.dumps(line) for line in lines)
    events = [line["event"] for line in lines]
    # The flows did log: the failures, the refusals and the SQL carrying the values.
    assert any("the mailbox failed" in e for e in events), events
    assert any(e.startswith("reading mailbox") for e in events), events
    assert any(e.startswith("Unauthorized") for e in events), events
    assert any(e.startswith("Method Not Allowed") and "/u/[redacted]" in e for e in events)
    assert any(line["logger"] == "django.db.backends" for line in lines)
    failed = next(line for line in lines if "the mailbox failed" in line["event"])
    assert {"enrollment", "email", "mailbox", "duration"} <= failed.keys()
    for secret in (
        SMTP_PASSWORD,
        IMAP_PASSWORD,
        token,
        read_only,
        unsubscribe_token,
        str(settings.SECRET_KEY),
        ENCRYPTION_KEY,
    ):
        assert secret not in text
    assert token.startswith(TOKEN_PREFIX) and TOKEN_PREFIX == "sqr_"


def test_no_oauth_token_or_client_secret_is_logged_when_renewing_the_token_fails(
    admin, publish, person, clock, worker, api_emulator_settings, sql_logged
) -> None:
    issued = api_emulator_settings.issue_tokens(
        "gmail", scope=" ".join(oauth.app_for("gmail").scopes)
    )
    revoked = "revoked-refresh-" + secrets.token_hex(8)
    grant = oauth.Grant(
        email=EMULATED_ALICE,
        display_name="Alice",
        tokens={
            "access_token": issued["access_token"],
            "refresh_token": revoked,
            # Expired: the worker renews it first, and the emulator refuses the renewal.
            "expires_at": (clock.now() - timedelta(minutes=5)).isoformat(),
            "scope": issued.get("scope"),
        },
    )
    mailbox, _ = mailboxes.connect_oauth_mailbox(admin, "gmail", grant, system_clock)
    with captured_log("json") as stream:
        [outcome] = enrollment.enroll(
            admin, publish().pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
        ).outcomes
        assert outcome.enrolled
        worker.tick()

    lines = _lines(stream.getvalue())
    text = "\n".join(json.dumps(line) for line in lines)
    assert any("the mailbox failed" in line["event"] for line in lines), text
    for secret in (
        issued["access_token"],
        revoked,
        str(settings.GOOGLE_CLIENT_SECRET),
        str(settings.SECRET_KEY),
    ):
        assert secret not in text
