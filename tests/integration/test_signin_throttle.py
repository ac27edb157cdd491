"""Guessing passwords at the sign-in page stops working: per account and per address."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import axes.handlers.proxy
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 4
COOL_OFF: timedelta = settings.AXES_COOLOFF_TIME


@pytest.fixture(autouse=True)
def quick_attempts(settings) -> None:
    # Every attempt hashes a password: a small limit keeps this quick.
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def move_time(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Move the clock axes and Django read (``django.utils.timezone.now``) forward."""
    offset = timedelta(0)
    real_now = timezone.now

    def shifted() -> datetime:
        return real_now() + offset

    monkeypatch.setattr(timezone, "now", shifted)
    monkeypatch.setattr(axes.handlers.proxy, "now", shifted)

    def move(delta: timedelta) -> None:
        nonlocal offset
        offset += delta

    return move


def sign_in(email: str, password: str, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": email, "password": password})


def fail(email: str, times: int, address: str = "203.0.113.7") -> None:
    for _ in range(times):
        assert sign_in(email, "not-the-password", address).status_code in {200, 429}


def test_after_the_limit_the_right_password_is_refused_with_when_to_try_again(admin):
    fail(admin.email, LIMIT)
    response = sign_in(admin.email, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins" in page
    assert "Try again after" in page
    assert f"in {int(COOL_OFF.total_seconds() // 60)} minutes" in page
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in Client().session


def test_the_account_stays_locked_from_another_address(admin):
    fail(admin.email, LIMIT, address="203.0.113.7")
    assert sign_in(admin.email, PASSWORD, address="198.51.100.20").status_code == 429


def test_an_address_guessing_many_accounts_is_throttled_for_every_account(admin, make_member):
    other = make_member("bob@acme.test")
    for i in range(LIMIT):
        sign_in(f"nobody{i}@acme.test", "not-the-password", address="203.0.113.9")
    assert sign_in(other.email, PASSWORD, address="203.0.113.9").status_code == 429
    # The same account from an address that did not guess still signs in.
    assert sign_in(other.email, PASSWORD, address="198.51.100.20").status_code == 302


def test_letter_case_does_not_give_an_account_fresh_attempts(admin):
    for i in range(LIMIT):
        variant = admin.email.upper() if i % 2 else admin.email
        sign_in(variant, "not-the-password", address=f"203.0.113.{i + 1}")
    assert sign_in(admin.email, PASSWORD, address="198.51.100.20").status_code == 429


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(admin):
    fail(admin.email, LIMIT - 1)
    assert sign_in(admin.email, PASSWORD).status_code == 302


def test_after_the_cool_off_the_right_password_works_again(admin, move_time):
    fail(admin.email, LIMIT)
    move_time(COOL_OFF - timedelta(seconds=30))
    assert sign_in(admin.email, PASSWORD).status_code == 429
    move_time(timedelta(seconds=31))
    assert sign_in(admin.email, PASSWORD).status_code == 302


def test_trying_while_locked_out_does_not_extend_the_lockout(admin, move_time):
    fail(admin.email, LIMIT)
    move_time(COOL_OFF / 2)
    fail(admin.email, 3)
    move_time(COOL_OFF / 2 + timedelta(seconds=1))
    assert sign_in(admin.email, PASSWORD).status_code == 302


def test_a_lockout_is_logged_with_the_account_and_address(admin, caplog):
    with caplog.at_level(logging.WARNING, logger="sequencer.signin"):
        fail(admin.email, LIMIT)
    lines = [r.getMessage() for r in caplog.records if r.name == "sequencer.signin"]
    assert any(admin.email in line and "203.0.113.7" in line for line in lines)


def test_a_forwarded_address_is_ignored_without_a_configured_proxy(admin):
    for i in range(LIMIT):
        Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").post(
            "/login/", {"username": f"nobody{i}@acme.test", "password": "x"}
        )
    assert sign_in(admin.email, PASSWORD, address="203.0.113.7").status_code == 429


def test_behind_a_proxy_the_address_it_forwards_is_throttled(admin, settings):
    settings.SEQUENCER_PROXY_COUNT = 1
    for i in range(LIMIT):
        Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").post(
            "/login/", {"username": f"nobody{i}@acme.test", "password": "x"}
        )
    via_proxy = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    response = via_proxy.post("/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    # A client cannot escape by prepending an address of its own choosing.
    spoofed = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    response = spoofed.post("/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 429
