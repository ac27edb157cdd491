"""Browsers get cookie flags, HSTS and a Content Security Policy that fit the deployment."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from sequencer.config.transport import HSTS_SECONDS, https_settings
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HTTPS = https_settings("https://sequencer.example.com", proxy_count=0)
HTTP = https_settings("http://127.0.0.1:8000", proxy_count=0)


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def _sign_in(client: Client, user_email: str, **extra: object):
    client.get("/login/", **extra)
    return client.post("/login/", {"username": user_email, "password": PASSWORD}, **extra)


def test_an_https_base_url_marks_session_and_csrf_cookies_secure_and_sends_hsts(admin):
    with override_settings(**HTTPS):
        client = Client(enforce_csrf_checks=False)
        response = _sign_in(client, admin.email, secure=True)
        assert response.status_code == 302
        session = response.cookies["sessionid"]
        assert session["secure"] is True
        assert session["httponly"] is True
        assert session["samesite"] == "Lax"
        assert client.cookies["csrftoken"]["secure"] is True
        assert client.cookies["csrftoken"]["httponly"] is True
        assert response["Strict-Transport-Security"] == f"max-age={HSTS_SECONDS}"


def test_an_http_base_url_keeps_cookies_usable_over_http_and_sends_no_hsts(admin):
    with override_settings(**HTTP):
        client = Client()
        response = _sign_in(client, admin.email)
        assert response.status_code == 302
        assert not response.cookies["sessionid"]["secure"]
        assert response.cookies["sessionid"]["httponly"] is True
        assert "Strict-Transport-Security" not in response


def test_forwarded_proto_is_trusted_only_behind_a_configured_proxy(admin):
    with override_settings(**https_settings("https://s.example.com", proxy_count=0)):
        response = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in response
    with override_settings(**https_settings("https://s.example.com", proxy_count=1)):
        response = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
        assert response["Strict-Transport-Security"] == f"max-age={HSTS_SECONDS}"


@pytest.mark.parametrize(
    ("path", "set_up"), [("/setup/", False), ("/login/", True), ("/u/not-a-token/", True)]
)
def test_every_page_has_a_strict_content_security_policy(path, set_up, request):
    if set_up:
        request.getfixturevalue("admin")
    else:
        request.getfixturevalue("db")
    response = Client().get(path)
    assert response.status_code in {200, 400, 404}
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert [s for s in policy["script-src"][1:] if not s.startswith("'nonce-")] == []
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy.get("style-src", [])


def test_the_home_page_of_a_signed_in_member_has_the_strict_policy(admin):
    client = Client()
    client.force_login(admin)
    policy = _directives(client.get("/")["Content-Security-Policy"])
    assert policy["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]


def test_the_api_docs_page_has_the_strict_policy_and_loads_nothing_from_elsewhere(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"][0] == "'self'"
    assert [s for s in policy["script-src"][1:] if not s.startswith("'nonce-")] == []
    assert "'unsafe-inline'" not in policy.get("style-src", [])
    assert policy["object-src"] == ["'none'"]
    html = response.content.decode()
    # Swagger UI comes from this server's static files: no other host is named.
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui-init.js" in html
    assert re.findall(r"(?:src|href)=\"(https?:)?//", html) == []
    bundle = Client().get("/static/ninja/swagger-ui-bundle.js")
    bundle.close()
    assert bundle.status_code == 200
