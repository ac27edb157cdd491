"""Every message of the corpus classifies as its manifest says."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sequencer.mail.inbound import ARRIVAL_KINDS, classify

from .support import CORPUS, MAILBOX, RECEIVED, corpus_files, manifest

EXPECTED = manifest()


def test_every_corpus_message_has_an_expectation_and_every_expectation_a_message():
    assert sorted(p.name for p in corpus_files()) == sorted(EXPECTED)


def test_the_corpus_has_at_least_forty_messages_covering_every_kind():
    kinds = {entry["kind"] for entry in EXPECTED.values()}
    assert len(EXPECTED) >= 40
    assert kinds == set(ARRIVAL_KINDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_is_classified_as_its_manifest_says(name):
    expected = EXPECTED[name]
    received = (
        datetime.fromisoformat(expected["received_at"]) if "received_at" in expected else RECEIVED
    )
    event = classify((CORPUS / name).read_bytes(), mailbox_address=MAILBOX, received_at=received)

    assert event.kind == expected["kind"], event.reasons
    if "return_date" in expected:
        wanted = expected["return_date"]
        assert event.return_date == (date.fromisoformat(wanted) if wanted else None)
    if "wants_to_stop" in expected:
        assert event.wants_to_stop is expected["wants_to_stop"]
    if "matching_ids" in expected:
        assert list(event.matching_ids()) == expected["matching_ids"]
    for text in expected.get("reply_text_has", []):
        assert text in event.reply_text
    for text in expected.get("reply_text_lacks", []):
        assert text not in event.reply_text
    if "bounce" in expected:
        assert event.bounce is not None
        for field, value in expected["bounce"].items():
            actual = getattr(event.bounce, field)
            assert (list(actual) if isinstance(actual, tuple) else actual) == value, field
    else:
        assert event.bounce is None
    if "meeting" in expected:
        wanted_meeting = expected["meeting"]
        assert event.meeting is not None
        assert event.meeting.method == wanted_meeting["method"]
        if "uid" in wanted_meeting:
            assert event.meeting.uid == wanted_meeting["uid"]
        booked = event.meeting.counts_as_booked(MAILBOX, wanted_meeting["prospect"])
        assert booked is wanted_meeting["booked"]
    if event.kind == "auto_reply":
        assert event.reply_text


def test_every_bounce_in_the_corpus_can_be_matched_to_the_message_it_bounces():
    for name, entry in EXPECTED.items():
        if entry["kind"] != "bounce":
            continue
        event = classify(
            (CORPUS / name).read_bytes(), mailbox_address=MAILBOX, received_at=RECEIVED
        )
        assert event.bounce is not None
        assert event.bounce.original_message_id in event.matching_ids(), name
