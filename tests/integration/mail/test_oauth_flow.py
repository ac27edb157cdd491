"""Connecting Gmail and Microsoft 365 mailboxes through the admin_browser flow, and keeping
their tokens fresh, against the emulator's real OAuth endpoints."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core import signing
from django.db import connection
from django.test import Client

from sequencer.clock import system_clock
from sequencer.domain.threading import make_message_id
from sequencer.mail import mailboxes, oauth
from sequencer.mail.compose import build_message
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.mail.providers.errors import MailboxFailure
from sequencer.mail.providers.gmail import GmailProvider
from sequencer.mail.providers.microsoft import GraphProvider
from sequencer.mail.providers.smtp_imap import SmtpImapProvider
from tests.peers.emulator import ALICE
from tests.peers.fault_proxy import Reply

pytestmark = pytest.mark.django_db

PROVIDERS = ["gmail", "microsoft"]
SEND_PATH = {"gmail": "/gmail/v1/users/me/messages/send", "microsoft": "/v1.0/me/sendMail"}


@pytest.fixture
def admin_browser(admin):
    client = Client()
    client.force_login(admin)
    return client


def connect(client, provider, emulator):
    """Start connecting, consent at the emulator as Alice; the callback URL it returns."""
    started = client.get(f"/mailboxes/connect/{provider}/")
    assert started.status_code == 302, started.content
    callback = emulator.sign_in(started["Location"])
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    return f"{parts.path}?{parts.query}"


def oauth_column(mailbox_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT oauth_tokens FROM mail_mailbox WHERE id = %s", [mailbox_id])
        return cursor.fetchone()[0]


def message_for(mailbox):
    return build_message(
        from_=("Alice", mailbox.email),
        to=("Bob", "bob@prospect.test"),
        subject="Hello",
        html="<p>Hello</p>",
        date=datetime.now(UTC),
        message_id=make_message_id(mailbox.email),
    )


@pytest.fixture
def connected(admin, api_emulator_settings):
    """A saved mailbox with the emulator's real tokens for Alice."""

    def make(provider, **token_overrides):
        issued = api_emulator_settings.issue_tokens(
            provider, scope=" ".join(oauth.app_for(provider).scopes)
        )
        tokens = {
            "access_token": issued["access_token"],
            "refresh_token": issued["refresh_token"],
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "scope": issued.get("scope"),
            **token_overrides,
        }
        grant = oauth.Grant(email=ALICE, display_name="Alice", tokens=tokens)
        mailbox, _ = mailboxes.connect_oauth_mailbox(admin, provider, grant, system_clock)
        return mailbox

    return make


@pytest.mark.parametrize("provider", PROVIDERS)
def test_signing_in_connects_the_mailbox_with_encrypted_tokens(
    admin_browser, admin, api_emulator_settings, provider
):
    started = admin_browser.get(f"/mailboxes/connect/{provider}/")
    consent = urlsplit(started["Location"])
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert query["redirect_uri"] == "http://testserver/mailboxes/oauth/callback/"
    assert query["code_challenge_method"] == "S256"
    assert set(oauth.app_for(provider).scopes) == set(query["scope"].split())
    assert oauth.read_state(query["state"])["u"] == admin.pk

    callback = api_emulator_settings.sign_in(started["Location"])
    answer = admin_browser.get(callback.removeprefix("http://testserver"))
    assert (answer.status_code, answer["Location"]) == (302, "/")
    assert [str(m) for m in get_messages(answer.wsgi_request)] == [
        f"Connected {ALICE} ({'Gmail' if provider == 'gmail' else 'Microsoft 365'})."
    ]
    mailbox = Mailbox.objects.get(owner=admin, email=ALICE)
    assert mailbox.provider == provider
    tokens = mailbox.oauth_tokens
    assert tokens["access_token"] and tokens["refresh_token"]
    assert datetime.fromisoformat(tokens["expires_at"]) > datetime.now(UTC)
    raw = oauth_column(mailbox.pk)
    assert tokens["access_token"] not in raw and tokens["refresh_token"] not in raw


def test_a_forged_state_is_refused(admin_browser, api_emulator_settings):
    callback = connect(admin_browser, "gmail", api_emulator_settings)
    path, query = callback.split("?", 1)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    # Well-formed, for this member and this sign-in, but signed without the server's key.
    content = oauth.read_state(params["state"])
    params["state"] = signing.dumps(content, key="guessed", salt="sequencer.mail.oauth.state")
    answer = admin_browser.get(path, params)
    assert answer.status_code == 400
    assert b"does not belong to a sign-in started here" in answer.content
    assert not Mailbox.objects.exists()


def test_a_replayed_answer_is_refused(admin_browser, api_emulator_settings):
    callback = connect(admin_browser, "gmail", api_emulator_settings)
    assert admin_browser.get(callback).status_code == 302
    again = admin_browser.get(callback)
    assert again.status_code == 400
    assert b"already used" in again.content
    assert Mailbox.objects.count() == 1


def test_an_answer_for_another_members_sign_in_is_refused(
    admin_browser, make_member, api_emulator_settings
):
    callback = connect(admin_browser, "gmail", api_emulator_settings)
    other = Client()
    other.force_login(make_member())
    answer = other.get(callback)
    assert answer.status_code == 400
    assert not Mailbox.objects.exists()


def test_declining_at_the_provider_says_so(admin_browser, api_emulator_settings):
    started = admin_browser.get("/mailboxes/connect/microsoft/")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    answer = admin_browser.get(
        "/mailboxes/oauth/callback/",
        {"state": state, "error": "access_denied", "error_description": "The user declined."},
    )
    assert answer.status_code == 400
    assert b"Microsoft 365 did not connect the mailbox: The user declined." in answer.content


def test_an_unconfigured_provider_names_the_settings_to_set(admin_browser, settings):
    settings.GOOGLE_CLIENT_ID = ""
    answer = admin_browser.get("/mailboxes/connect/gmail/")
    assert answer.status_code == 503
    assert b"SEQUENCER_GOOGLE_CLIENT_ID" in answer.content


def test_connecting_needs_a_signed_in_member(admin, api_emulator_settings):
    answer = Client().get("/mailboxes/connect/gmail/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/")


def test_the_code_is_useless_without_the_pkce_verifier(admin_browser, api_emulator_settings):
    callback = connect(admin_browser, "gmail", api_emulator_settings)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    with pytest.raises(oauth.OAuthError) as refused:
        oauth.exchange_code(
            "gmail",
            code=code,
            redirect_uri="http://testserver/mailboxes/oauth/callback/",
            code_verifier="a-guessed-verifier-" + "x" * 40,
            clock=system_clock,
        )
    assert refused.value.error == "invalid_grant"


def test_signing_in_again_reconnects_a_disconnected_mailbox(
    admin_browser, admin, connected, api_emulator_settings
):
    mailbox = connected("gmail")
    mailboxes.record_mailbox_failure(
        mailbox, MailboxFailure("gone", problem="auth"), clock=system_clock
    )
    old_refresh = mailbox.oauth_tokens["refresh_token"]
    callback = connect(admin_browser, "gmail", api_emulator_settings)
    assert admin_browser.get(callback).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.oauth_tokens["refresh_token"] != old_refresh
    assert Mailbox.objects.filter(owner=admin).count() == 1


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("gmail", GmailProvider), ("microsoft", GraphProvider)],
)
def test_provider_for_uses_the_api_of_an_oauth_mailbox(connected, provider, expected):
    assert isinstance(mailboxes.provider_for(connected(provider), clock=system_clock), expected)


def test_provider_for_uses_smtp_for_any_other_mailbox(admin):
    mailbox = mailboxes.create_mailbox(
        admin,
        mailboxes.NewMailbox.model_validate(
            {"email": "a@example.test", "smtp": {"host": "smtp.example.test"}}
        ),
    )
    assert isinstance(mailboxes.provider_for(mailbox, clock=system_clock), SmtpImapProvider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_expiring_token_is_renewed_and_stored_before_sending(
    connected, fault_proxy, settings, api_emulator_settings, provider
):
    mailbox = connected(
        provider, expires_at=(datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    )
    old = dict(mailbox.oauth_tokens)
    upstream = settings.GOOGLE_API_URL if provider == "gmail" else settings.GRAPH_API_URL
    proxy = fault_proxy(upstream)
    setattr(settings, "GOOGLE_API_URL" if provider == "gmail" else "GRAPH_API_URL", proxy.url)

    mailboxes.provider_for(mailbox, clock=system_clock).send(message_for(mailbox))

    stored = Mailbox.objects.get(pk=mailbox.pk).oauth_tokens
    assert stored["access_token"] != old["access_token"]
    assert datetime.fromisoformat(stored["expires_at"]) > datetime.now(UTC) + timedelta(minutes=50)
    [sent] = proxy.requests_to("POST", SEND_PATH[provider])
    assert sent.headers["Authorization"] == f"Bearer {stored['access_token']}"
    assert old["access_token"] not in oauth_column(mailbox.pk)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_token_is_renewed_once_and_the_request_repeated(
    connected, fault_proxy, settings, provider
):
    mailbox = connected(provider)
    old = mailbox.oauth_tokens["access_token"]
    upstream = settings.GOOGLE_API_URL if provider == "gmail" else settings.GRAPH_API_URL
    proxy = fault_proxy(upstream)
    setattr(settings, "GOOGLE_API_URL" if provider == "gmail" else "GRAPH_API_URL", proxy.url)
    proxy.script(Reply(401, json={"error": {"code": 401, "message": "expired"}}))

    mailboxes.provider_for(mailbox, clock=system_clock).send(message_for(mailbox))

    first, second = proxy.requests_to("POST", SEND_PATH[provider])
    stored = Mailbox.objects.get(pk=mailbox.pk).oauth_tokens["access_token"]
    assert first.headers["Authorization"] == f"Bearer {old}"
    assert second.headers["Authorization"] == f"Bearer {stored}" != f"Bearer {old}"


def test_a_token_refused_even_after_renewal_is_an_auth_failure(connected, fault_proxy, settings):
    mailbox = connected("microsoft")
    proxy = fault_proxy(settings.GRAPH_API_URL)
    settings.GRAPH_API_URL = proxy.url
    proxy.script(Reply(401, json={"error": {"code": "InvalidAuthenticationToken"}}), times=2)
    with pytest.raises(MailboxFailure) as failed:
        mailboxes.provider_for(mailbox, clock=system_clock).send(message_for(mailbox))
    assert failed.value.problem == "auth"


def test_a_revoked_refresh_token_asks_for_a_new_sign_in(connected):
    mailbox = connected(
        "gmail",
        refresh_token="revoked-refresh-token",
        expires_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    )
    with pytest.raises(MailboxFailure) as failed:
        mailboxes.provider_for(mailbox, clock=system_clock).send(message_for(mailbox))
    assert failed.value.problem == "auth"
    assert "connected again" in failed.value.message
    assert "invalid_grant" in failed.value.message


def test_a_wrong_client_secret_is_reported_as_the_servers_problem(connected, settings):
    mailbox = connected("gmail", expires_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat())
    settings.GOOGLE_CLIENT_SECRET = "not-the-secret"
    with pytest.raises(MailboxFailure, match="administrator must check the client id"):
        mailboxes.provider_for(mailbox, clock=system_clock).send(message_for(mailbox))
