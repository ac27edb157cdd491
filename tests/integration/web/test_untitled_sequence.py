"""A sequence without a name is called "Untitled Sequence" on every page that names it."""

from __future__ import annotations

import pytest

from sequencer.clock import system_clock
from sequencer.sequences import authoring, delegation
from tests.integration.delegation.helpers import set_level

from .test_sequence_settings_tab import mailbox_of

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
UNTITLED = "Untitled Sequence"


def _publish_keeping_no_name(admin, sequence) -> None:
    """Publishing names an unnamed sequence (sequences.naming); its author may take the
    name off again, and it is untitled from then on."""
    authoring.publish(admin, sequence.pk, clock=system_clock)
    authoring.update_draft(admin, sequence.pk, name="", clock=system_clock)


def test_an_unnamed_sequence_is_untitled_sequence_in_the_list_editor_and_history(
    admin, browser_of, make_sequence
):
    sequence = make_sequence(name="   ")
    _publish_keeping_no_name(admin, sequence)
    client = browser_of(admin)

    listing = client.get("/sequences/").content.decode()
    editor = client.get(f"/sequences/{sequence.pk}/").content.decode()
    history = client.get(f"/sequences/{sequence.pk}/versions/").content.decode()

    assert f'aria-label="Actions for {UNTITLED}"' in listing
    assert f'<h1 id="sequence-title">{UNTITLED}</h1>' in editor
    assert f'placeholder="{UNTITLED}"' in editor
    assert f"<title>Version history · {UNTITLED}" in history
    for page in (listing, editor, history):
        assert "Untitled sequence" not in page


def test_an_invitation_for_an_unnamed_sequence_names_it_untitled_sequence(
    admin, browser_of, make_sequence, make_member
):
    sequence = make_sequence(name="")
    invitee = make_member(name="Ivy Invitee")
    _publish_keeping_no_name(admin, sequence)
    set_level(sequence, invitee, "read_only")
    mailbox_of(invitee, "ivy@mail.test")
    delegation.invite(admin, sequence.pk, invitee.pk, clock=system_clock)

    panel = browser_of(invitee).get("/notifications/", **HTMX).content.decode()

    assert f"delegated sending for the sequence “{UNTITLED}”" in panel
    assert f">{UNTITLED}</a>" in panel
