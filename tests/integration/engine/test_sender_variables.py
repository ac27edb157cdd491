"""``{{ sender.* }}`` in sent emails: the member whose mailbox sends, delegate included.

Sends go through the worker to the aiosmtpd peer; the preview through the API.
"""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from sequencer.sequences import delegation, enrollment
from sequencer.sequences.enrollment import Recipient

pytestmark = pytest.mark.django_db

SIGNED = [
    (
        0,
        "A note from {{ sender.first_name }}",
        "<p>Hi {{ person.first_name }},</p><p>Best, {{ sender.full_name }} "
        "({{ sender.email }}), {{ sender.last_name }} family</p>",
    )
]


def _sent(smtp_server) -> tuple[str, str]:
    [received] = smtp_server.messages
    message = message_from_bytes(received.data, policy=policy.default)
    return str(message["Subject"]), message.get_body(("html",)).get_content()


def test_the_mailbox_owners_name_is_written_into_the_email_sent(
    admin, publish, mailbox, person, clock, worker, smtp_server
):
    sequence = publish(SIGNED)
    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome

    assert worker.tick().handed_over == 1
    subject, html = _sent(smtp_server)
    # The member's own name ("Ada Admin"), not the mailbox's display name ("Alice").
    assert subject == "A note from Ada"
    assert f"Best, Ada Admin ({mailbox.email}), Admin family" in html


def test_a_delegated_sender_is_the_sender_not_the_member_who_enrolled(
    admin, make_member, publish, peer_mailbox, person, clock, worker, smtp_server
):
    dora = make_member("dora@acme.test", name="Dora Delegate")
    doras = peer_mailbox(dora, imap=False, email="dora@mail.test", display_name="Dora D.")
    doras.min_spacing_seconds = 0
    doras.save()
    sequence = publish(SIGNED)
    delegation.set_own_delegation(dora, sequence.pk, enabled=True, clock=clock)

    [outcome] = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk)], member_id=dora.pk, clock=clock
    ).outcomes
    assert outcome.enrolled, outcome

    assert worker.tick().handed_over == 1
    subject, html = _sent(smtp_server)
    assert subject == "A note from Dora"
    assert "Best, Dora Delegate (dora@mail.test), Delegate family" in html
    assert "Ada" not in subject and "Ada Admin" not in html


def test_the_preview_shows_the_chosen_senders_name(api, publish, mailbox, person):
    sequence = publish(SIGNED)

    preview = api.get(
        f"sequences/{sequence.pk}/preview?person_id={person.pk}&mailbox_id={mailbox.pk}"
    ).data

    assert preview[0]["subject"] == "A note from Ada"
    assert "Best, Ada Admin" in preview[0]["html"]
    assert preview[0]["problem"] is None


def test_a_sender_without_a_last_name_gets_the_fallback(
    admin, make_member, publish, peer_mailbox, person, clock, worker, smtp_server
):
    cher = make_member("cher@acme.test", name="Cher")
    peer_mailbox(cher, imap=False, email="cher@mail.test")
    sequence = publish(
        [(0, "Hi", '<p>{{ sender.first_name }} {{ sender.last_name | default: "" }}!</p>')]
    )
    delegation.set_own_delegation(cher, sequence.pk, enabled=True, clock=clock)
    enrollment.enroll(admin, sequence.pk, [Recipient(person.pk)], member_id=cher.pk, clock=clock)

    assert worker.tick().handed_over == 1
    _, html = _sent(smtp_server)
    assert "<p>Cher !</p>" in html
