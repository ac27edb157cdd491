"""classify never raises, whatever bytes it is handed, and always answers a valid kind."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequencer.mail.inbound import ARRIVAL_KINDS, InboundEvent, classify

from .support import MAILBOX, RECEIVED, corpus_files

CORPUS = [path.read_bytes() for path in corpus_files()]


def check(raw: bytes, received_at: datetime = RECEIVED) -> InboundEvent:
    event = classify(raw, mailbox_address=MAILBOX, received_at=received_at)
    assert event.kind in ARRIVAL_KINDS
    assert isinstance(event.matching_ids(), tuple)
    assert all(isinstance(i, str) for i in event.matching_ids())
    if event.bounce is not None:
        assert event.kind == "bounce"
    return event


@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw):
    check(raw)


@given(
    st.lists(
        st.sampled_from(
            [
                b"From: a@b.test\n",
                b"Subject: =?utf-8?B?!!!?=\n",
                b"Content-Type: multipart/mixed; boundary=x\n",
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
                b"Content-Type: text/calendar; method=REQUEST\n",
                b"Content-Type: message/delivery-status\n",
                b"Content-Type: message/rfc822\n",
                b"Content-Transfer-Encoding: base64\n",
                b"Content-Transfer-Encoding: quoted-printable\n",
                b"Auto-Submitted: auto-replied\n",
                b"\n",
                b"--x\n",
                b"--x--\n",
                b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Nowhere:2025\n",
                b"Final-Recipient: rfc822; \xff\xfe@\n",
                b"Action: failed\nStatus: 5.9.999999\n",
                b"=?\x00?Q?=ZZ?=\n",
                b"\xc3\x28\xa0\xa1\n",
                b"> quoted\n",
                b"On Tue wrote:\n",
            ]
        ),
        max_size=40,
    ),
    st.datetimes(timezones=st.just(UTC)),
)
def test_messages_made_of_mime_fragments_never_raise(lines, received_at):
    check(b"".join(lines), received_at)


@st.composite
def mutated_corpus_message(draw):
    raw = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=max(0, len(raw) - 1)))
        if raw:
            raw[position] = draw(st.integers(min_value=0, max_value=255))
    mutation = draw(st.sampled_from(["none", "truncate", "duplicate_headers", "splice"]))
    if mutation == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif mutation == "duplicate_headers":
        head, _, body = bytes(raw).partition(b"\n\n")
        raw = bytearray(head + b"\n" + head + b"\n\n" + body)
    elif mutation == "splice":
        other = draw(st.sampled_from(CORPUS))
        cut = draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:cut] + other[draw(st.integers(min_value=0, max_value=len(other))) :]
    return bytes(raw)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300, deadline=None)
@given(mutated_corpus_message())
def test_mutated_corpus_messages_never_raise(raw):
    check(raw)


def test_huge_headers_and_deep_nesting_are_handled_quickly():
    huge = (
        b"From: a@b.test\nSubject: "
        + b"x" * 2_000_000
        + b"\nReferences: "
        + b" ".join(b"<id%d@x.test>" % i for i in range(50_000))
        + b"\n\nbody\n"
    )
    nested = b"From: a@b.test\n" + b"Content-Type: multipart/mixed; boundary=x\n\n--x\n" * 3000
    blank = b"From: a@b.test\nSubject: Re: hi\n\n" + b" \n" * 200_000
    for raw in (huge, nested, blank):
        started = time.perf_counter()
        check(raw)
        assert time.perf_counter() - started < 10
    assert len(check(huge).references) == 100


def test_empty_input_and_a_bytearray_still_return_an_event():
    assert check(b"").kind == "other"
    raw = bytearray(b"From: x@y.test\n\nhi")
    assert classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED).kind == "reply"
