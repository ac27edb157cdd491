"""The recipient's timeline, read through the API after a real reply arrived."""

from __future__ import annotations

import pytest

from sequencer.domain.events import EventKind
from sequencer.sequences.lifecycle import exit_enrollment
from tests.integration.inbound import messages
from tests.integration.inbound.conftest import enroll_one, read_inbox, sent_email

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_enrollment_the_email_and_the_reply_with_its_raw_message(
    api, api_as, make_member, admin, publish, mailbox, person, clock, worker, dovecot
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    worker.tick()
    first = sent_email(enrolled)
    dovecot.deliver(messages.ALICE, messages.reply(first.message_id))
    read_inbox(clock)

    entries = api.get(f"enrollments/{enrolled.pk}/timeline").data
    assert [e["kind"] for e in entries] == ["enrolled", "email_sent", "replied"]
    assert entries[1]["step"] == 0 and entries[1]["detail"]["message_id"] == first.message_id
    reply = entries[2]
    raw = api.get(f"enrollments/{enrolled.pk}/messages/{reply['inbound_message_id']}/raw")
    assert raw.status_code == 200 and raw["Content-Type"] == "message/rfc822"
    assert first.message_id.encode() in raw.content

    stranger = make_member()
    enrolled.sequence.__class__.objects.filter(pk=enrolled.sequence_id).update(
        workspace_access="no_access"
    )
    assert api_as(stranger).get(f"enrollments/{enrolled.pk}/timeline").status_code == 404


def test_a_removed_recipient_shows_the_exit(api, admin, publish, mailbox, person, clock):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    api.post(f"enrollments/{enrolled.pk}/remove")
    kinds = [e["kind"] for e in api.get(f"enrollments/{enrolled.pk}/timeline").data]
    assert kinds == ["enrolled", "exited_removed"]


def test_an_enrollment_never_ends_for_a_kind_that_is_not_an_exit_reason(
    api, admin, publish, mailbox, person, clock
):
    enrolled = enroll_one(admin, publish(), mailbox, person, clock)
    with pytest.raises(ValueError, match="resumed"):
        exit_enrollment(enrolled.pk, EventKind.RESUMED, clock=clock)
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.exit_reason) == ("active", "")
    kinds = [e["kind"] for e in api.get(f"enrollments/{enrolled.pk}/timeline").data]
    assert kinds == ["enrolled"]
