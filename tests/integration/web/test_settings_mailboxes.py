"""Settings, Mailboxes: who sees which mailbox, connecting one against the real peers,
the connection test's steps, secrets never shown back, limits, state and the default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.domain.errors import InvalidInput
from sequencer.mail.mailbox_input import MailboxChanges
from sequencer.mail.mailboxes import update_mailbox
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.web.settings import mailbox_form
from tests.peers.fixtures import ALICE, DOVECOT_USERS

from .test_sequence_settings_tab import mailbox_of

pytestmark = pytest.mark.django_db

PAGES = ["/settings/mailboxes/", "/settings/mailboxes/new/"]


def _form(smtp_server, dovecot, **overrides: str) -> dict[str, str]:
    data = {
        "email": ALICE,
        "display_name": "Alice",
        "auth": "password",
        "smtp_host": smtp_server.host,
        "smtp_port": str(smtp_server.port),
        "smtp_security": "none",
        "smtp_username": "alice",
        "smtp_password": "secret",
        "imap_host": dovecot.host,
        "imap_port": str(dovecot.imap_port),
        "imap_security": "none",
        "imap_username": ALICE,
        "imap_password": DOVECOT_USERS[ALICE],
    }
    return data | overrides


# -- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/", *PAGES])
def test_signed_out_visitors_are_sent_to_sign_in(admin, path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_settings_opens_on_mailboxes(admin, browser_of):
    response = browser_of(admin).get("/settings/")
    assert response.status_code == 302 and response["Location"] == "/settings/mailboxes/"


def test_a_member_sees_only_their_own_mailboxes(admin, browser_of, make_member):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    mailbox_of(mia, "mia@mail.test")
    mailbox_of(tom, "tom@mail.test")

    page = browser_of(mia).get("/settings/mailboxes/").content.decode()

    assert "mia@mail.test" in page and "tom@mail.test" not in page
    # Members do not see the admins-only entries of the settings menu.
    assert "Members and teams" not in page and "API tokens" in page


def test_an_admin_sees_every_members_mailbox_with_its_owner(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    mailbox_of(mia, "mia@mail.test")

    page = browser_of(admin).get("/settings/mailboxes/").content.decode()

    assert "mia@mail.test" in page and "owner Mia" in page
    assert "Members and teams" in page


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", "test/"),
        ("post", "servers/"),
        ("post", "limits/"),
        ("post", "state/"),
        ("post", "default/"),
    ],
)
def test_another_members_mailbox_is_not_found(admin, browser_of, make_member, method, suffix):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    toms = mailbox_of(tom, "tom@mail.test")

    response = getattr(browser_of(mia), method)(
        f"/settings/mailboxes/{toms.pk}/{suffix}", {"action": "pause"}
    )

    assert response.status_code == 404
    toms.refresh_from_db()
    assert toms.status == MailboxStatus.ACTIVE


def test_an_admin_opens_and_changes_a_members_mailbox_limits(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    box = mailbox_of(mia, "mia@mail.test")
    client = browser_of(admin)

    page = client.get(f"/settings/mailboxes/{box.pk}/").content.decode()
    response = client.post(
        f"/settings/mailboxes/{box.pk}/limits/",
        {"per_hour": "20", "per_day": "300", "min_spacing_seconds": "120"},
    )

    assert "Save limits" in page
    assert response.status_code == 302
    box.refresh_from_db()
    assert (box.per_hour, box.per_day, box.min_spacing_seconds) == (20, 300, 120)


def test_a_member_sees_limits_and_defaults_but_cannot_change_them(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    box = mailbox_of(mia, "mia@mail.test")
    client = browser_of(mia)

    page = client.get(f"/settings/mailboxes/{box.pk}/").content.decode()
    response = client.post(
        f"/settings/mailboxes/{box.pk}/limits/",
        {"per_hour": "500", "per_day": "500", "min_spacing_seconds": "0"},
    )

    assert "Save limits" not in page and "Only workspace admins change limits" in page
    assert "Defaults: 12 an hour, 200 per 24 hours, 300 seconds apart" in page
    assert response.status_code == 403
    box.refresh_from_db()
    assert box.per_hour == 12


def test_limits_out_of_range_are_refused_next_to_the_field(admin, browser_of):
    box = mailbox_of(admin, "ada@mail.test")

    response = browser_of(admin).post(
        f"/settings/mailboxes/{box.pk}/limits/",
        {"per_hour": "300", "per_day": "200", "min_spacing_seconds": "60"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="per_hour" name="per_hour" value="300"' in page
    assert "Emails per hour cannot be more than Emails per 24 hours" in page


# -- state and default --------------------------------------------------------------------


def test_a_mailbox_the_engine_paused_shows_why_and_resumes(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    box = mailbox_of(mia, "mia@mail.test")
    Mailbox.objects.filter(pk=box.pk).update(
        status=MailboxStatus.PAUSED,
        status_reason="Daily sending limit exceeded.",
        paused_until=datetime.now(UTC) + timedelta(hours=20),
    )
    client = browser_of(mia)

    listing = client.get("/settings/mailboxes/").content.decode()
    page = client.get(f"/settings/mailboxes/{box.pk}/").content.decode()
    client.post(f"/settings/mailboxes/{box.pk}/state/", {"action": "resume"})

    assert "Daily sending limit exceeded." in listing and "Resume" in listing
    assert "Sequencer paused it: Daily sending limit exceeded." in page
    box.refresh_from_db()
    assert box.status == MailboxStatus.ACTIVE and box.paused_until is None


def test_a_member_chooses_their_default_mailbox(admin, browser_of, make_member):
    mia = make_member(name="Mia")
    first = mailbox_of(mia, "first@mail.test")
    second = mailbox_of(mia, "second@mail.test", default=False)

    browser_of(mia).post("/settings/mailboxes/default/", {"mailbox_id": str(second.pk)})

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default


def test_a_member_cannot_make_someone_elses_mailbox_their_default(admin, browser_of, make_member):
    mia, tom = make_member(name="Mia"), make_member(name="Tom")
    toms = mailbox_of(tom, "tom@mail.test", default=False)

    response = browser_of(mia).post("/settings/mailboxes/default/", {"mailbox_id": str(toms.pk)})

    assert response.status_code == 404


# -- connecting against the real peers ------------------------------------------------------


def test_test_connection_before_connecting_passes_and_saves_nothing(
    admin, browser_of, smtp_server, dovecot
):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/test/",
        _form(smtp_server, dovecot),
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert "Connection test passed." in page
    assert not Mailbox.objects.exists()
    assert "secret" not in page


def test_a_wrong_password_names_the_login_step(admin, browser_of, smtp_server, dovecot):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/test/",
        _form(smtp_server, dovecot, smtp_password="wrong"),
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert "Connection test failed at step: Login." in page
    assert "wrong" not in page


def test_a_wrong_imap_password_names_the_imap_step(admin, browser_of, smtp_server, dovecot):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/test/",
        _form(smtp_server, dovecot, imap_password="wrong"),
        HTTP_HX_REQUEST="true",
    )

    assert "Connection test failed at step: IMAP." in response.content.decode()


def test_a_closed_port_names_the_connect_step(admin, browser_of, smtp_server, dovecot, closed_port):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/test/",
        _form(smtp_server, dovecot, smtp_port=str(closed_port)),
        HTTP_HX_REQUEST="true",
    )

    assert "Connection test failed at step: Connect." in response.content.decode()


def test_bad_input_is_named_next_to_its_field(admin, browser_of, smtp_server, dovecot):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/",
        _form(smtp_server, dovecot, smtp_port="twenty-five", email=""),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="smtp_port-error"><p class="field-error">Enter a port number' in page
    assert 'id="email-error"><p class="field-error">Enter the mailbox' in page
    assert not Mailbox.objects.exists()


def test_connecting_saves_the_mailbox_tests_it_and_proves_the_address(
    admin, browser_of, smtp_delivers_to_dovecot, smtp_server
):
    dovecot = smtp_delivers_to_dovecot
    response = browser_of(admin).post("/settings/mailboxes/new/", _form(smtp_server, dovecot))

    page = response.content.decode()
    box = Mailbox.objects.get(owner=admin)
    assert box.email == ALICE and box.is_default and box.has_imap
    assert "Connection test passed." in page
    assert box.address_proven
    # Secrets never come back: the password fields are empty.
    assert "secret" not in page and "Leave blank to keep the saved password" in page


def test_saving_servers_with_the_password_left_blank_keeps_it(admin, browser_of, peer_mailbox):
    box = peer_mailbox(admin, imap=False)

    response = browser_of(admin).post(
        f"/settings/mailboxes/{box.pk}/servers/",
        {
            "display_name": "Alice Renamed",
            "smtp_host": box.smtp_host,
            "smtp_port": str(box.smtp_port),
            "smtp_security": "none",
            "smtp_username": "alice",
            "smtp_password": "",
        },
    )

    assert response.status_code == 302
    box.refresh_from_db()
    assert box.display_name == "Alice Renamed" and box.smtp_password == "secret"


def test_moving_a_server_without_its_password_is_refused_at_the_password(
    admin, browser_of, peer_mailbox
):
    box = peer_mailbox(admin, imap=False)

    response = browser_of(admin).post(
        f"/settings/mailboxes/{box.pk}/servers/",
        {"smtp_host": "elsewhere.test", "smtp_port": "587", "smtp_username": "alice"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    error = page.split('id="smtp_password-error">')[1].split("</div>")[0]
    assert '<p class="field-error">Enter the SMTP password again' in error
    assert "smtp." not in error and "give " not in error
    box.refresh_from_db()
    assert box.smtp_host != "elsewhere.test"


def test_the_api_keeps_naming_the_field_paths_the_form_words_as_labels(
    admin, browser_of, peer_mailbox
):
    box = peer_mailbox(admin, imap=False)
    changes = MailboxChanges.model_validate({"smtp": {"host": "elsewhere.test"}})

    with pytest.raises(InvalidInput) as refused:
        update_mailbox(admin, box, changes)

    assert refused.value.field == "smtp.password"
    assert "give smtp.password" in refused.value.message
    assert mailbox_form.errors_of(refused.value) == {
        "smtp_password": "Enter the SMTP password again: a saved password is only sent to "
        "the server it was given for, and the host, port or security changed."
    }


def test_adding_an_imap_server_without_its_password_asks_for_the_imap_password(
    admin, browser_of, peer_mailbox, dovecot
):
    box = peer_mailbox(admin, imap=False)

    response = browser_of(admin).post(
        f"/settings/mailboxes/{box.pk}/servers/",
        {
            "smtp_host": box.smtp_host,
            "smtp_port": str(box.smtp_port),
            "smtp_security": box.smtp_security,
            "imap_host": dovecot.host,
            "imap_port": str(dovecot.imap_port),
            "imap_security": "none",
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    error = page.split('id="imap_password-error">')[1].split("</div>")[0]
    assert "Enter the IMAP password" in error and "imap." not in error


@pytest.mark.parametrize(
    ("message", "field", "worded"),
    [
        (
            "per_hour cannot be more than per_day; lower per_hour or raise per_day.",
            "limits.per_hour",
            "Emails per hour cannot be more than Emails per 24 hours; lower Emails per hour "
            "or raise Emails per 24 hours.",
        ),
        (
            "Give imap.username or smtp.port: anything new the API says.",
            "imap.username",
            "Enter the IMAP username or SMTP port: anything new the API says.",
        ),
    ],
)
def test_a_refusal_the_form_has_no_words_for_names_the_fields_by_their_labels(
    message, field, worded
):
    assert mailbox_form.form_message(InvalidInput(message, field=field)) == worded


# -- queries ------------------------------------------------------------------------------


def _mailboxes(owner, count: int, prefix: str) -> None:
    Mailbox.objects.bulk_create(
        Mailbox(
            owner=owner,
            provider="smtp_imap",
            email=f"{prefix}{i}@mail.test",
            smtp_host="smtp.mail.test",
            status=MailboxStatus.PAUSED if i % 2 else MailboxStatus.ACTIVE,
            status_reason="Paused for a test." if i % 2 else "",
        )
        for i in range(count)
    )


@pytest.mark.parametrize("path", ["/settings/mailboxes/", "/settings/signatures/"])
def test_the_pages_cost_the_same_queries_for_10_or_200_mailboxes(
    admin, browser_of, make_member, path
):
    """Members see their own mailboxes: one with 10, one with 200."""
    few_member = make_member(email="few@acme.test")
    many_member = make_member(email="many@acme.test")
    _mailboxes(few_member, 10, "few")
    _mailboxes(many_member, 200, "many")
    few, many = browser_of(few_member), browser_of(many_member)
    few.get(path)
    many.get(path)

    with CaptureQueriesContext(connection) as small:
        assert few.get(path).status_code == 200
    with CaptureQueriesContext(connection) as large:
        page = many.get(path).content.decode()

    assert "many199@mail.test" in page
    assert len(large) == len(small)


def test_tls_against_a_plain_server_names_the_tls_step(admin, browser_of, smtp_server, dovecot):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/test/",
        _form(smtp_server, dovecot, smtp_security="tls"),
        HTTP_HX_REQUEST="true",
    )

    assert "Connection test failed at step: TLS." in response.content.decode()


def test_an_xoauth2_token_signs_in_to_both_servers(admin, browser_of, smtp_server, dovecot):
    form = _form(smtp_server, dovecot, auth="xoauth2", access_token="ya29.good")
    form.update(smtp_username=ALICE, smtp_password="", imap_password="")

    response = browser_of(admin).post("/settings/mailboxes/new/test/", form, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "Connection test passed." in page and "signed in with OAuth2" in page
    assert "ya29.good" not in page


def test_xoauth2_without_a_token_is_refused_at_the_token_field(
    admin, browser_of, smtp_server, dovecot
):
    response = browser_of(admin).post(
        "/settings/mailboxes/new/", _form(smtp_server, dovecot, auth="xoauth2")
    )

    assert response.status_code == 400
    assert 'id="access_token-error"><p class="field-error">Paste the OAuth2 access token' in (
        response.content.decode()
    )
