"""Every message of the corpus classifies as its manifest says, whatever its line
endings: LF (as written here), CRLF (as sent over SMTP and stored by most servers) and
bare CR (old Mac tools)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sequencer.mail.inbound import ARRIVAL_KINDS, classify

from .support import CORPUS, MAILBOX, RECEIVED, corpus_files, manifest

EXPECTED = manifest()
LINE_ENDINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def with_line_endings(raw: bytes, ending: str) -> bytes:
    """``raw`` with every line ending made ``ending`` (a few files carry CRLF inside,
    as the calendar parts their senders write do: those are made one form first)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", LINE_ENDINGS[ending])


def test_every_corpus_message_has_an_expectation_and_every_expectation_a_message():
    assert sorted(p.name for p in corpus_files()) == sorted(EXPECTED)


def test_the_corpus_has_at_least_forty_messages_covering_every_kind():
    kinds = {entry["kind"] for entry in EXPECTED.values()}
    assert len(EXPECTED) >= 40
    assert kinds == set(ARRIVAL_KINDS)


@pytest.mark.parametrize("ending", sorted(LINE_ENDINGS))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_is_classified_as_its_manifest_says(name, ending):
    expected = EXPECTED[name]
    received = (
        datetime.fromisoformat(expected["received_at"]) if "received_at" in expected else RECEIVED
    )
    raw = with_line_endings((CORPUS / name).read_bytes(), ending)
    event = classify(raw, mailbox_address=MAILBOX, received_at=received)

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
    for report in ("bounce", "complaint"):
        actual_report = getattr(event, report)
        if report not in expected:
            assert actual_report is None
            continue
        assert actual_report is not None
        for field, value in expected[report].items():
            actual = getattr(actual_report, field)
            assert (list(actual) if isinstance(actual, tuple) else actual) == value, field
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


def test_every_bounce_in_the_corpus_names_the_failed_address_and_can_be_matched():
    for name, entry in EXPECTED.items():
        if entry["kind"] != "bounce":
            continue
        event = classify(
            (CORPUS / name).read_bytes(), mailbox_address=MAILBOX, received_at=RECEIVED
        )
        assert event.bounce is not None
        assert event.bounce.recipients, name
        if event.bounce.original_message_id is not None:
            assert event.bounce.original_message_id in event.matching_ids(), name


def test_most_bounces_in_the_corpus_carry_the_bounced_message_id():
    # A bounce is matched by the Message-ID of the email it returns where it has one,
    # and by its failed address otherwise; only formats that return nothing lack it.
    bounces = [name for name, entry in EXPECTED.items() if entry["kind"] == "bounce"]
    without = [
        name for name in bounces if EXPECTED[name]["bounce"].get("original_message_id") is None
    ]
    assert len(bounces) >= 30
    assert sorted(without) == [
        "bounce_apache_james.eml",
        "bounce_exchange2003.eml",
        "bounce_mailmarshal.eml",
    ]


def test_every_complaint_in_the_corpus_names_the_complained_address_and_message():
    for name, entry in EXPECTED.items():
        if entry["kind"] != "complaint":
            continue
        event = classify(
            (CORPUS / name).read_bytes(), mailbox_address=MAILBOX, received_at=RECEIVED
        )
        assert event.complaint is not None
        assert event.complaint.recipients, name
        assert event.complaint.original_message_id in event.matching_ids(), name
