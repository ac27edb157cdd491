"""The editor's schedule preview: when each email goes out for someone enrolled now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from sequencer.clock import system_clock
from sequencer.sequences import authoring
from sequencer.testing import FakeClock
from sequencer.web.sequences.schedule_preview import schedule_preview

from .conftest import LEVELS
from .test_sequence_editor_page import _form

pytestmark = pytest.mark.django_db

# Friday 6 March 2026, 16:30 in New York (EST), half an hour before the window closes.
FRIDAY_AFTERNOON = datetime(2026, 3, 6, 21, 30, tzinfo=UTC)


def _preview(user, sequence, clock, viewer_tz: str = "", **fields: object) -> str:
    request = RequestFactory().post(f"/sequences/{sequence.pk}/schedule/", fields)
    if viewer_tz:  # the cookie shell.js sets from the browser's zone
        request.COOKIES["viewer_tz"] = viewer_tz
    request.user = user
    response = schedule_preview(request, sequence.pk, clock=clock)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_preview_follows_the_window_business_days_and_both_time_zones(admin, make_sequence):
    sequence = make_sequence(steps=3)
    form = _form(
        sequence,
        window_start="09:00",
        window_end="17:00",
        time_zone="America/New_York",
        business_days_only="on",
        **{"steps-1-delay_days": "1", "steps-2-delay_days": "3"},
    )

    html = _preview(admin, sequence, FakeClock(FRIDAY_AFTERNOON), viewer_tz="Europe/Berlin", **form)

    assert "If someone is enrolled now (Fri 6 Mar, 22:30 your time)" in html
    # Straight away; the next day is a Saturday, so Monday at the window's opening
    # (New York is on daylight time from 8 March, Berlin not yet); three days later.
    assert [part.split("</li>")[0] for part in html.split("schedule-step")[1:]] == [
        '">Email 1</span> <span class="schedule-times"><span>Fri 6 Mar, 16:30 '
        '<span class="muted">New York</span></span><span class="muted">'
        "Fri 6 Mar, 22:30 your time (Berlin)</span></span>",
        '">Email 2</span> <span class="schedule-times"><span>Mon 9 Mar, 09:00 '
        '<span class="muted">New York</span></span><span class="muted">'
        "Mon 9 Mar, 14:00 your time (Berlin)</span></span>",
        '">Email 3</span> <span class="schedule-times"><span>Thu 12 Mar, 09:00 '
        '<span class="muted">New York</span></span><span class="muted">'
        "Thu 12 Mar, 14:00 your time (Berlin)</span></span>",
    ]
    # The preview does not save: the stored draft keeps its own settings.
    sequence.refresh_from_db()
    assert sequence.settings.get("time_zone", "UTC") == "UTC"


@pytest.mark.parametrize("viewer_tz", ["", "Mars/Olympus"])
def test_without_a_known_viewer_zone_only_the_sequences_is_shown(admin, make_sequence, viewer_tz):
    sequence = make_sequence(steps=1)
    form = _form(sequence, time_zone="America/New_York", window_start="00:00", window_end="00:00")

    html = _preview(admin, sequence, FakeClock(FRIDAY_AFTERNOON), viewer_tz=viewer_tz, **form)

    assert "enrolled now (Fri 6 Mar, 16:30 New York time)" in html
    assert 'Fri 6 Mar, 16:30 <span class="muted">New York</span>' in html
    assert "your time" not in html


def test_a_setting_the_times_depend_on_is_named_when_it_is_wrong(admin, make_sequence):
    sequence = make_sequence(steps=2)
    clock = FakeClock(FRIDAY_AFTERNOON)

    bad_zone = _preview(admin, sequence, clock, **_form(sequence, time_zone="Mars/Olympus"))
    bad_wait = _preview(admin, sequence, clock, **_form(sequence, **{"steps-1-delay_days": "0"}))

    assert "cannot be worked out until this is fixed: Time zone:" in bad_zone
    assert "cannot be worked out until this is fixed: Step 2 · Wait:" in bad_wait


@pytest.mark.parametrize("level", LEVELS)
def test_anyone_who_sees_the_sequence_sees_its_schedule(
    admin, browser_of, make_sequence, member_with, level
):
    sequence = make_sequence(steps=2)
    authoring.update_draft(
        admin, sequence.pk, settings={"time_zone": "Asia/Tokyo"}, clock=system_clock
    )
    viewer = member_with(sequence, level)

    # Nothing posted, as from a read-only editor whose fields are disabled.
    response = browser_of(viewer).post(f"/sequences/{sequence.pk}/schedule/", {})

    if level == "no_access":
        assert response.status_code == 404
    else:
        html = response.content.decode()
        assert response.status_code == 200 and "Email 2" in html and "Tokyo" in html
