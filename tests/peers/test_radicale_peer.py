"""The Radicale peer: a real CalDAV server, started and stopped by the tests."""

import os
import socket

import httpx

from tests.peers.fixtures import RADICALE_USERS
from tests.peers.radicale import Radicale

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Sequencer tests//EN
BEGIN:VEVENT
UID:peer-test-1@example.test
DTSTAMP:20260105T090000Z
DTSTART:20260110T150000Z
DTEND:20260110T153000Z
SUMMARY:Peer test
END:VEVENT
END:VCALENDAR
"""

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20260101T000000Z" end="20260201T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>
"""


def test_an_event_put_is_found_by_a_time_range_query(radicale):
    radicale.put_event("alice", EVENT, name="peer-test-1")
    answer = httpx.request(
        "REPORT",
        radicale.calendar_url("alice"),
        content=REPORT.encode(),
        headers={"Depth": "1", "Content-Type": "application/xml"},
        auth=("alice", RADICALE_USERS["alice"]),
    )
    assert answer.status_code == 207
    assert "UID:peer-test-1@example.test" in answer.text


def test_a_wrong_password_is_refused_and_another_users_calendar_forbidden(radicale):
    wrong = httpx.request(
        "PROPFIND", radicale.calendar_url("alice"), auth=("alice", "wrong"), headers={"Depth": "0"}
    )
    assert wrong.status_code == 401
    other = httpx.request(
        "PROPFIND",
        radicale.calendar_url("bob"),
        auth=("alice", RADICALE_USERS["alice"]),
        headers={"Depth": "0"},
    )
    assert other.status_code == 403


def test_reset_leaves_one_empty_calendar(radicale):
    radicale.put_event("alice", EVENT, name="peer-test-1")
    radicale.make_calendar("alice", "extra")
    radicale.reset()
    auth = ("alice", RADICALE_USERS["alice"])
    gone = httpx.get(f"{radicale.calendar_url('alice')}peer-test-1.ics", auth=auth)
    assert gone.status_code == 404
    extra = httpx.request(
        "PROPFIND", radicale.calendar_url("alice", "extra"), auth=auth, headers={"Depth": "0"}
    )
    assert extra.status_code == 404


def test_it_listens_on_loopback_and_stops_by_its_pid(tmp_path):
    server = Radicale(tmp_path, {"carol": "pw"}).start()
    pid = server.pid
    assert pid is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass
    server.stop()
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        listening = True
    except OSError:
        listening = False
    assert not listening
