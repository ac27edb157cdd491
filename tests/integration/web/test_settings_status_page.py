"""Settings → Status: admins see whether the installation is sending; members do not
see the page at all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sequencer.clock import system_clock
from sequencer.operations.heartbeat import Heart
from sequencer.sequences.models import ScheduledEmail
from sequencer.workspace.models import Role
from tests.integration.web.enrolling import enroll, mailbox_of, many_people, published

pytestmark = pytest.mark.django_db

URL = "/settings/status/"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get(URL)

    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_members_who_are_not_admins_are_refused_and_see_no_link(make_member, browser_of):
    member = make_member(role=Role.MEMBER)
    client = browser_of(member)

    assert client.get(URL).status_code == 403
    assert URL not in client.get("/settings/tokens/").content.decode()


def test_another_admin_sees_the_page_and_the_link(make_member, browser_of):
    other = make_member(role=Role.ADMIN)
    client = browser_of(other)

    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get("/settings/tokens/").content.decode()


def test_the_page_is_read_only(admin, browser_of):
    assert browser_of(admin).post(URL).status_code == 405


def test_before_anything_is_sent_the_page_says_what_to_do_and_that_no_worker_runs(
    admin, browser_of
):
    page = browser_of(admin).get(URL).content.decode()

    assert "Nothing has been sent yet" in page
    assert "connect a mailbox" in page and "enroll people" in page
    assert "No worker is running" in page
    assert "<svg" not in page.split("Nothing has been sent yet")[0].split("Right now")[1]


def test_sent_emails_show_in_the_figures_the_charts_and_their_tables(admin, browser_of):
    mailbox = mailbox_of(admin, "sales@initech.test")
    enroll(published(admin), admin, mailbox, *many_people(3, "P"))
    now = system_clock.now()
    first, *_ = ScheduledEmail.objects.order_by("pk")
    ScheduledEmail.objects.exclude(pk=first.pk).update(
        state="sent", sent_at=now - timedelta(hours=2), due_at=now - timedelta(hours=2, minutes=7)
    )
    Heart("status-test-worker").beat(now)

    page = browser_of(admin).get(URL).content.decode()

    assert "Nothing has been sent yet" not in page
    assert "No worker is running" not in page
    assert page.count('role="img"') == 2
    assert "2 emails were sent in the last 48 hours" in page
    assert "The longest lag was 7 min" in page
    assert '<th scope="row">Sent</th><td class="num">2</td>' in page
    assert "style=" not in page  # the Content Security Policy allows no inline style


def test_the_hours_and_times_are_the_admins_own_even_half_an_hour_off_utc(admin, browser_of):
    mailbox = mailbox_of(admin, "sales@initech.test")
    enroll(published(admin), admin, mailbox, *many_people(1, "P"))
    now = system_clock.now()
    ScheduledEmail.objects.update(
        state="sent", sent_at=now - timedelta(hours=2), due_at=now - timedelta(hours=2, minutes=7)
    )
    client = browser_of(admin)

    in_utc = client.get(URL).content.decode()
    client.cookies["viewer_tz"] = "Asia/Kolkata"  # UTC+05:30, as the browser says it
    in_kolkata = client.get(URL).content.decode()

    assert "The last 48 hours, in your time (UTC)." in in_utc
    assert "The last 48 hours, in your time (Kolkata)." in in_kolkata
    assert "your time (Kolkata); reload the page" in in_kolkata
    # The hours are counted from the top of each UTC hour, so there they start at :30.
    hour_rows = re.findall(r'<tr><th scope="row">\w{3} \d+ \w{3}, (\d\d:\d\d)</th>', in_kolkata)
    assert len(hour_rows) == 96  # 48 hours, in each of the two charts' tables
    assert {label[-2:] for label in hour_rows} == {"30"}
    assert re.search(r"The busiest hour, \w{3} \d\d:30 Kolkata time, sent 1\.", in_kolkata)
    assert re.search(r"The busiest hour, \w{3} \d\d:00 UTC, sent 1\.", in_utc)
