"""Who may read ``/metrics``: nobody until an admin sets a token, then only a scraper that
sends it; or anyone who can reach the address an admin bound the metrics to."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from sequencer.clock import system_clock
from sequencer.operations.metrics import parse_address, serve_on_configured_address
from sequencer.workspace.services import create_token

TOKEN = "a-long-random-metrics-token"


def names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


@pytest.mark.django_db
def test_without_a_configured_token_the_metrics_are_off_and_say_how_to_turn_them_on(
    monkeypatch,
):
    monkeypatch.delenv("SEQUENCER_METRICS_TOKEN", raising=False)

    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == 404
    assert b"SEQUENCER_METRICS_TOKEN" in response.content
    assert b"SEQUENCER_METRICS_ADDRESS" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
    ids=["none", "wrong", "not-bearer", "longer", "empty"],
)
def test_a_missing_or_wrong_token_is_refused(monkeypatch, authorization):
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = Client().get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"sequencer_" not in response.content


def test_an_admins_api_token_does_not_open_the_metrics(monkeypatch, admin):
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)
    _, api_token = create_token(admin, name="scripts")

    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {api_token}")

    assert response.status_code == 401


@pytest.mark.django_db
def test_the_right_token_reads_every_figure(monkeypatch):
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)

    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert {
        "sequencer_emails",
        "sequencer_emails_due",
        "sequencer_send_lag_seconds",
        "sequencer_due_lateness_seconds",
        "sequencer_emails_retrying",
        "sequencer_mailboxes",
        "sequencer_inbound_messages",
        "sequencer_sync_lag_seconds",
        "sequencer_workers_alive",
        "sequencer_ai_generations",
        "sequencer_ai_generation_seconds",
        "sequencer_tick_seconds",
        "sequencer_claim_seconds",
        "sequencer_send_failures",
        "sequencer_database_up",
    } <= names(response.content.decode())


@pytest.mark.django_db
def test_the_metrics_are_not_answered_to_a_post(monkeypatch):
    monkeypatch.setenv("SEQUENCER_METRICS_TOKEN", TOKEN)

    response = Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405


@pytest.mark.django_db(transaction=True)
def test_on_the_address_an_admin_chose_the_metrics_need_no_token(monkeypatch):
    monkeypatch.setenv("SEQUENCER_METRICS_ADDRESS", "127.0.0.1:0")

    bound = serve_on_configured_address(system_clock)

    assert bound is not None
    host, port = bound
    answer = httpx.get(f"http://{host}:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    assert {"sequencer_emails", "sequencer_tick_seconds"} <= names(answer.text)
    assert "sequencer_database_up 1.0" in answer.text


def test_no_address_configured_starts_no_server(monkeypatch):
    monkeypatch.delenv("SEQUENCER_METRICS_ADDRESS", raising=False)

    assert serve_on_configured_address(system_clock) is None


def test_an_address_without_a_port_starts_no_server_and_says_why(monkeypatch, caplog):
    monkeypatch.setenv("SEQUENCER_METRICS_ADDRESS", "localhost")

    assert serve_on_configured_address(system_clock) is None
    assert "host:port" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        (" 0.0.0.0:1 ", ("0.0.0.0", 1)),
    ],
)
def test_addresses_are_read_as_host_and_port(value, expected):
    assert parse_address(value) == expected
