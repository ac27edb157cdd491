"""The Recipients tab: the table, its filter and pages, the numbers per step, a
recipient's timeline and the controls over them, for every access level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.sequences.models import EmailState, Enrollment, ScheduledEmail

from .conftest import LEVELS
from .enrolling import (
    enroll,
    mailbox_of,
    many_people,
    out_of_office,
    person,
    published,
    reply_from,
    send_first_email,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
NOW = datetime.now(UTC).replace(microsecond=0)


def _tab(sequence, query: str = "") -> str:
    return f"/sequences/{sequence.pk}/recipients/{query}"


def _action(sequence, enrolled, action: str) -> str:
    return f"/sequences/{sequence.pk}/recipients/{enrolled.pk}/{action}/"


def test_signed_out_visitors_are_sent_to_sign_in(admin):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    [enrolled] = enroll(sequence, admin, box, person("Bea", "bea@initech.test"))
    client = Client()
    answers = [
        client.get(_tab(sequence)),
        client.get(_tab(sequence, f"?recipient={enrolled.pk}")),
        client.post(_action(sequence, enrolled, "pause")),
    ]
    assert {a.status_code for a in answers} == {302}
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


@pytest.mark.parametrize("level", LEVELS)
def test_the_tab_its_detail_and_every_action_follow_each_access_level(
    admin, browser_of, member_with, level
):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    bea, cal, dan = enroll(
        sequence,
        admin,
        box,
        person("Bea", "bea@initech.test"),
        person("Cal", "cal@initech.test"),
        person("Dan", "dan@initech.test"),
    )
    message = reply_from(dan, box, NOW, "Thanks, not now.")
    viewer = member_with(sequence, level)
    client = browser_of(viewer)

    tab = client.get(_tab(sequence))
    detail = client.get(_tab(sequence, f"?recipient={bea.pk}"))
    raw = client.get(f"/sequences/{sequence.pk}/recipients/{dan.pk}/messages/{message.pk}/")
    pause = client.post(_action(sequence, bea, "pause"), **HTMX)
    send_now = client.post(_action(sequence, cal, "send-now"), **HTMX)
    remove = client.post(_action(sequence, cal, "remove"), **HTMX)
    bea.refresh_from_db()
    paused = bea.status == "paused"
    resume = client.post(_action(sequence, bea, "resume"), **HTMX)

    answers = [tab, detail, raw, pause, send_now, remove, resume]
    bea.refresh_from_db()
    cal.refresh_from_db()
    if level == "no_access":
        assert {a.status_code for a in answers} == {404}
        assert (bea.status, cal.status) == ("active", "active")
        return
    assert tab.status_code == detail.status_code == raw.status_code == 200
    assert raw["Content-Type"] == "message/rfc822" and b"Thanks, not now." in raw.content
    page = detail.content.decode()
    assert "Timeline" in page and "Enrolled in version 1, to bea@initech.test" in page
    if level == "read_only":
        assert {pause.status_code, send_now.status_code, remove.status_code} == {403}
        assert resume.status_code == 403 and not paused
        assert (bea.status, cal.status) == ("active", "active")
        assert "Enroll recipients" not in tab.content.decode()
        assert ">Pause</button>" not in page and "Remove from sequence" not in page
        assert "You have read-only access" in tab.content.decode()
    else:
        assert {a.status_code for a in (pause, send_now, remove, resume)} == {200}
        assert paused and bea.status == "active"
        assert (cal.status, cal.exit_reason) == ("exited", "removed")
        assert "Enroll recipients" in tab.content.decode()
        assert ">Pause</button>" in page and "Remove from sequence" in page
        assert "Send now" in page


def test_the_table_shows_each_recipients_progress_in_the_viewers_time_zone(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    eve, fay = enroll(
        sequence, admin, box, person("Eve", "eve@initech.test"), person("Fay", "fay@initech.test")
    )
    sent = send_first_email(eve, datetime(2025, 3, 3, 10, 0, tzinfo=UTC))
    reply_from(fay, box, NOW, "Let's talk.")
    client = browser_of(admin)
    client.cookies["viewer_tz"] = "America/New_York"

    html = client.get(_tab(sequence)).content.decode()

    assert sent.state == EmailState.SENT
    rows = html.split('class="sequences recipients"')[1]
    eve_row = rows.split("Eve Tester")[1].split("</tr>")[0]
    assert "eve@initech.test" in eve_row and "Ada Admin" in eve_row and "ada@acme.test" in eve_row
    assert "Active" in eve_row and "Email 2 of 2" in eve_row
    # Email 2 is due two days after email 1 (10:00 UTC): 05:00 in New York.
    assert "Wed 5 Mar 2025, 05:00" in eve_row
    fay_row = rows.split("Fay Tester")[1].split("</tr>")[0]
    assert "Exited" in fay_row and "Replied" in fay_row
    assert 'Next send <span class="muted">(New York)</span>' in html


def test_the_numbers_per_step_count_sent_replied_bounced_and_unsubscribed_with_rates(
    admin, browser_of
):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    people = [person(f"P{i}", f"p{i}@initech.test") for i in range(4)]
    enrolled = enroll(sequence, admin, box, *people)
    for e in enrolled:
        send_first_email(e, NOW - timedelta(days=1))
    reply_from(enrolled[0], box, NOW, "Yes")

    html = browser_of(admin).get(_tab(sequence)).content.decode()

    stats = html.split('aria-labelledby="stats-title"')[1].split("</section>")[0]
    assert "<strong>4</strong> enrolled" in stats and "<strong>4</strong> emails sent" in stats
    step_one = stats.split("Email 1</th>")[1].split("</tr>")[0]
    assert '<td class="num">4</td>' in step_one
    assert '1 <span class="muted">(25%)</span>' in step_one
    assert "Bounced" in stats and "Unsubscribed" in stats


def test_the_status_filter_and_the_pages(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    enrolled = enroll(sequence, admin, box, *many_people(30, "Page"))
    reply_from(enrolled[0], box, NOW, "Hi")
    client = browser_of(admin)

    first = client.get(_tab(sequence)).content.decode()
    second = client.get(_tab(sequence, "?page=2")).content.decode()
    exited = client.get(_tab(sequence, "?status=exited")).content.decode()
    paused = client.get(_tab(sequence, "?status=paused")).content.decode()

    assert "Page 1 of 2" in first and first.count("data-recipient-link") == 25
    assert second.count("data-recipient-link") == 5
    assert exited.count("data-recipient-link") == 1 and "Page0 Many" in exited
    assert "No recipients match" in paused and "Show all recipients" in paused


def test_a_recipients_timeline_shows_the_email_as_sent_the_reply_and_an_absence(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    [gil] = enroll(sequence, admin, box, person("Gil", "gil@initech.test"))
    send_first_email(gil, NOW - timedelta(days=2))
    out_of_office(gil, NOW - timedelta(days=1), "2026-12-24")
    message = reply_from(gil, box, NOW, "Back now. Let's meet Tuesday.")

    html = browser_of(admin).get(_tab(sequence, f"?recipient={gil.pk}")).content.decode()

    timeline = html.split('class="timeline"')[1].split("</ol>")[0]
    assert "Email 1: Hello Gil" in timeline and "Hi Gil!" in timeline
    assert "Out of office" in timeline and "Back on Thu 24 Dec 2026" in timeline
    assert "Replied" in timeline and "Back now. Let&#x27;s meet Tuesday." in timeline
    assert f"/recipients/{gil.pk}/messages/{message.pk}/" in timeline
    # Newest first.
    assert timeline.index("Replied") < timeline.index("Out of office") < timeline.index("Email 1")
    # A finished recipient has nothing left to pause, resume, remove or send.
    actions = html.split('class="recipient-actions"')[1].split("</div>")[0]
    assert "<button" not in actions


def test_an_action_without_htmx_comes_back_to_the_recipient_with_what_happened(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    [hal] = enroll(sequence, admin, box, person("Hal", "hal@initech.test"))
    client = browser_of(admin)

    answer = client.post(_action(sequence, hal, "pause"), {"status": "active", "page": "1"})
    again = client.post(_action(sequence, hal, "pause"), follow=True)

    assert answer.status_code == 302
    assert answer["Location"] == _tab(sequence, f"?recipient={hal.pk}&status=active&page=1")
    assert (
        "This recipient is paused" in again.content.decode() or "paused" in again.content.decode()
    )
    hal.refresh_from_db()
    assert hal.status == "paused"
    assert not ScheduledEmail.objects.filter(enrollment=hal, state=EmailState.SCHEDULED).exists()


def test_send_now_makes_the_next_email_due_now(admin, browser_of):
    sequence = published(admin)
    box = mailbox_of(admin, "ada@acme.test")
    [ivy] = enroll(sequence, admin, box, person("Ivy", "ivy@initech.test"))
    send_first_email(ivy, NOW - timedelta(hours=1))

    answer = browser_of(admin).post(_action(sequence, ivy, "send-now"), **HTMX)

    assert "The next email goes out now" in answer.content.decode()
    waiting = ScheduledEmail.objects.get(enrollment=ivy, step=1)
    assert waiting.skip_window and waiting.due_at <= datetime.now(UTC)


def test_a_recipient_of_another_sequence_is_not_found_here(admin, browser_of):
    one, other = published(admin, name="One"), published(admin, name="Other")
    box = mailbox_of(admin, "ada@acme.test")
    [jo] = enroll(other, admin, box, person("Jo", "jo@initech.test"))
    client = browser_of(admin)

    assert client.get(_tab(one, f"?recipient={jo.pk}")).status_code == 404
    assert client.post(_action(one, jo, "pause")).status_code == 404
    jo.refresh_from_db()
    assert jo.status == "active"


def test_an_empty_tab_says_how_to_enroll_people(admin, browser_of):
    sequence = published(admin)
    html = browser_of(admin).get(_tab(sequence)).content.decode()
    assert "Nobody is enrolled yet" in html and "Click <strong>Enroll recipients</strong>" in html


@pytest.mark.parametrize("with_detail", [False, True])
def test_the_tab_costs_the_same_queries_with_10_or_200_recipients(admin, browser_of, with_detail):
    few, many = published(admin, name="Few"), published(admin, name="Many")
    box = mailbox_of(admin, "ada@acme.test")
    opened = {}
    for sequence, count in ((few, 10), (many, 200)):
        enrolled = enroll(sequence, admin, box, *many_people(count, sequence.name))
        for e in enrolled[:3]:
            send_first_email(e, NOW - timedelta(days=1))
        reply_from(enrolled[1], box, NOW, "Hi")
        opened[sequence.pk] = enrolled[1].pk
    client = browser_of(admin)

    def url(sequence) -> str:
        return _tab(sequence, f"?recipient={opened[sequence.pk]}" if with_detail else "")

    client.get(url(few))
    with CaptureQueriesContext(connection) as with_ten:
        ten = client.get(url(few))
    with CaptureQueriesContext(connection) as with_two_hundred:
        two_hundred = client.get(url(many))

    assert ten.status_code == two_hundred.status_code == 200
    assert two_hundred.content.decode().count("data-recipient-link") == 25
    assert Enrollment.objects.filter(sequence=many).count() == 200
    assert len(with_ten) == len(with_two_hundred)
