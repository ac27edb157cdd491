"""With SEQUENCER_BLOCK_PRIVATE_HOSTS on, a CalDAV URL on a private address is refused."""

from __future__ import annotations

import pytest

from sequencer.calendars.models import CalendarStatus
from tests.integration.calendars.test_calendar_api import caldav_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_api(sender, api_as):
    return api_as(sender)


def test_the_connection_test_refuses_a_loopback_caldav_server_and_says_why(
    radicale, alice_api, settings
):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = True
    mine = alice_api.post("calendars", caldav_body(radicale)).data["id"]

    answer = alice_api.post(f"calendars/{mine}/test")

    assert answer.status_code == 200
    assert answer.data["ok"] is False
    assert answer.data["message"].startswith("127.0.0.1 is a loopback")
    assert "SEQUENCER_BLOCK_PRIVATE_HOSTS" in answer.data["message"]
    assert answer.data["status"] == CalendarStatus.DISCONNECTED


def test_with_the_setting_off_a_local_caldav_server_connects(radicale, alice_api, settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = False
    mine = alice_api.post("calendars", caldav_body(radicale)).data["id"]
    assert alice_api.post(f"calendars/{mine}/test").data["ok"] is True
