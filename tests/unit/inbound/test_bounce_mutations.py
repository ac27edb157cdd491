"""A bounce or a complaint stays one, or at worst ``other``, however it is mangled on
the way: never a person's reply, which would end the recipient as "replied" and leave
the dead address unsuppressed.

Hypothesis takes each bounce and complaint of the corpus and drops headers, changes
the line endings, cuts the tail off and puts a friendly human line at the top of the
text, in any combination.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequencer.mail.inbound import classify

from .support import CORPUS, MAILBOX, RECEIVED, manifest

REPORTS = {
    name: (CORPUS / name).read_bytes()
    for name, entry in sorted(manifest().items())
    if entry["kind"] in ("bounce", "complaint")
}
#: What a mangled report may become; a person's kinds are never among them.
ALLOWED = {"bounce", "complaint", "other"}
HUMAN_LINES = [
    b"Thanks for your email! Let's talk next week.",
    b"Hi Alice, sounds great, I'm interested.",
    b"Sure, Tuesday at 10 works for me.",
    b"Please remove me from your list.",
    b"> On Tue, Alice wrote:",
]


def _lines(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    fields: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line  # a folded continuation belongs to its field
        else:
            fields.append(line)
    return fields, body


@st.composite
def mangled_report(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(REPORTS)))
    fields, body = _lines(REPORTS[name])
    # Drop some header fields (any of them: From, Content-Type, Subject...).
    kept = [f for f in fields if not draw(st.booleans()) or draw(st.integers(0, 3)) > 0]
    if draw(st.booleans()):
        body = draw(st.sampled_from(HUMAN_LINES)) + b"\n\n" + body
    if draw(st.booleans()) and len(body) > 200:
        # Cut the tail (the returned original, then part of the report) but keep
        # the report's opening, where a mail system says what failed.
        body = body[: draw(st.integers(min_value=min(len(body), 600), max_value=len(body)))]
    raw = b"\n".join(kept) + b"\n\n" + body
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return name, raw.replace(b"\n", ending)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=400, deadline=None)
@given(mangled_report())
def test_a_mangled_bounce_or_complaint_never_becomes_a_reply(case):
    name, raw = case
    event = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind in ALLOWED, (name, event.kind, event.reasons)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200, deadline=None)
@given(st.sampled_from(sorted(REPORTS)), st.sampled_from(HUMAN_LINES))
def test_a_bounce_whose_text_opens_like_a_person_is_still_what_it_was(name, line):
    fields, body = _lines(REPORTS[name])
    raw = b"\n".join(fields) + b"\n\n" + line + b"\n\n" + body
    before = classify(REPORTS[name], mailbox_address=MAILBOX, received_at=RECEIVED)
    after = classify(raw, mailbox_address=MAILBOX, received_at=RECEIVED)
    assert after.kind == before.kind, name
    if before.bounce is not None:
        assert after.bounce is not None
        assert after.bounce.recipients == before.bounce.recipients
