"""Housekeeping thins each kind after its days and not before, in bounded batches, and
a dry run only counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from click.testing import CliRunner

from sequencer.calendars.models import SeenEvent
from sequencer.cli import main
from sequencer.clock import system_clock
from sequencer.domain.retention import Retention
from sequencer.housekeeping.sweep import sweep
from sequencer.mail.models import InboundMessage
from sequencer.sequences import library
from sequencer.sequences.models import Attachment, EmailState, ScheduledEmail, SequenceVersion
from tests.integration.web.enrolling import (
    enroll,
    mailbox_of,
    person,
    published,
    reply_from,
    send_first_email,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
KEEP = Retention(
    inbound_raw_days=90,
    seen_calendar_event_days=30,
    finished_delivery_days=180,
    unused_attachment_days=1,
)
ONLY_EVENTS = Retention(0, 30, 0, 0)
# A poll lists an event for at most 30 days back and 180 ahead of "now".
LISTED = timedelta(days=210)


def _raw(message: InboundMessage) -> bytes:
    return bytes(InboundMessage.objects.values_list("raw", flat=True).get(pk=message.pk))


def _file(owner, name: str) -> Attachment:
    return Attachment.objects.create(
        name=name,
        content_type="text/plain",
        size=5,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        data=b"hello",
        created_by=owner,
    )


def _seen(owner, at: datetime, n: int = 1) -> list[SeenEvent]:
    uids = count(SeenEvent.objects.count())
    return [
        SeenEvent.objects.create(
            owner=owner, uid=f"uid-{i}", uid_hash=f"{i:064d}", first_seen_at=at
        )
        for i in (next(uids) for _ in range(n))
    ]


def test_raw_inbound_bytes_go_after_their_days_and_the_row_and_its_event_stay(admin):
    box = mailbox_of(admin, "ada@acme.test")
    [bea] = enroll(published(admin), admin, box, person("Bea", "bea@initech.test"))
    stored_at = datetime.now(UTC)
    message = reply_from(bea, box, stored_at, "Thanks, not now.")

    early = sweep(stored_at + 89 * DAY, KEEP)
    kept = _raw(message)
    late = sweep(stored_at + 91 * DAY + timedelta(minutes=1), KEEP)

    assert early.removed["inbound_raw"] == 0 and b"Thanks, not now." in kept
    assert late.removed["inbound_raw"] == 1 and _raw(message) == b""
    row = InboundMessage.objects.get(pk=message.pk)
    assert (row.subject, row.from_address, row.kind) == ("RE: Hello", "bea@initech.test", "reply")
    assert bea.events.get().detail["text"] == "Thanks, not now."
    assert sweep(stored_at + 200 * DAY, KEEP).removed["inbound_raw"] == 0  # once is enough


def test_an_unused_file_outlives_a_draft_grace_and_a_used_one_is_never_removed(admin):
    sequence = published(admin)
    uploaded_at = datetime.now(UTC)
    in_version = _file(admin, "pricing.pdf")
    in_step = _file(admin, "draft.pdf")
    in_template = _file(admin, "template.pdf")
    unused = _file(admin, "forgotten.pdf")
    SequenceVersion.objects.get(sequence=sequence).attachments.add(in_version)
    sequence.steps.first().attachments.add(in_step)
    template = library.create_template(
        admin, name="Intro", subject="Hi", body_html="<p>Hi</p>", clock=system_clock
    )
    template.attachments.add(in_template)

    within_grace = sweep(uploaded_at + timedelta(hours=12), KEEP)
    survivors_then = set(Attachment.objects.values_list("name", flat=True))
    after_grace = sweep(uploaded_at + 2 * DAY, KEEP)
    years_later = sweep(uploaded_at + 3650 * DAY, KEEP)

    assert within_grace.removed["unused_attachments"] == 0
    assert "forgotten.pdf" in survivors_then
    assert after_grace.removed["unused_attachments"] == 1
    assert years_later.removed["unused_attachments"] == 0
    assert set(Attachment.objects.values_list("name", flat=True)) == {
        "pricing.pdf",
        "draft.pdf",
        "template.pdf",
    }
    assert not Attachment.objects.filter(pk=unused.pk).exists()


def test_a_seen_calendar_event_is_forgotten_only_its_days_after_no_poll_can_list_it(admin):
    first_seen = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    [event] = _seen(admin, first_seen)

    early = sweep(first_seen + LISTED + 29 * DAY, KEEP)
    still_there = SeenEvent.objects.filter(pk=event.pk).exists()
    late = sweep(first_seen + LISTED + 31 * DAY, KEEP)

    assert early.removed["seen_calendar_events"] == 0 and still_there
    assert late.removed["seen_calendar_events"] == 1
    assert not SeenEvent.objects.filter(pk=event.pk).exists()


def test_the_cancelled_emails_of_finished_enrollments_go_and_the_sent_ones_stay(admin):
    box = mailbox_of(admin, "ada@acme.test")
    sequence = published(admin)
    bea, cal = enroll(
        sequence, admin, box, person("Bea", "bea@initech.test"), person("Cal", "cal@x.test")
    )
    sent_at = datetime.now(UTC)
    send_first_email(bea, sent_at)
    reply_from(bea, box, sent_at + timedelta(hours=1), "Not interested.")  # cancels email 2
    states = dict(ScheduledEmail.objects.filter(enrollment=bea).values_list("step", "state"))

    early = sweep(sent_at + 179 * DAY, KEEP)
    late = sweep(sent_at + 181 * DAY, KEEP)

    assert states == {0: EmailState.SENT, 1: EmailState.CANCELLED}
    assert early.removed["finished_deliveries"] == 0
    assert late.removed["finished_deliveries"] == 1
    assert list(ScheduledEmail.objects.filter(enrollment=bea).values_list("step", "state")) == [
        (0, EmailState.SENT)
    ]
    # Cal is still enrolled: their email stays whatever its age.
    assert ScheduledEmail.objects.filter(enrollment=cal, state=EmailState.SCHEDULED).count() == 1


def test_zero_days_keeps_everything(admin):
    _seen(admin, datetime(2020, 1, 1, tzinfo=UTC), n=3)
    report = sweep(datetime(2030, 1, 1, tzinfo=UTC), Retention(0, 0, 0, 0))
    assert set(report.removed.values()) == {0} and SeenEvent.objects.count() == 3


def test_a_batch_is_bounded_and_a_spent_budget_stops_before_the_next_one(admin):
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    _seen(admin, long_ago, n=5)
    now = long_ago + 3650 * DAY
    ticks = count(step=10)  # each look at the clock: ten seconds later

    first = sweep(now, ONLY_EVENTS, batch=2, budget_seconds=5, monotonic=lambda: next(ticks))
    left_after_first = SeenEvent.objects.count()
    rest = sweep(now, ONLY_EVENTS, batch=2)

    assert first.removed["seen_calendar_events"] == 2 and not first.complete
    assert left_after_first == 3
    assert rest.removed["seen_calendar_events"] == 3 and rest.complete
    assert SeenEvent.objects.count() == 0


def test_a_dry_run_counts_what_would_go_and_removes_nothing(admin):
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    _seen(admin, long_ago, n=4)
    _file(admin, "forgotten.pdf")

    report = sweep(long_ago + 3650 * DAY, KEEP, dry_run=True)

    assert report.removed["seen_calendar_events"] == 4
    assert report.removed["unused_attachments"] == 1
    assert SeenEvent.objects.count() == 4 and Attachment.objects.count() == 1


def _cli(*args: str):
    return CliRunner().invoke(main, ["housekeeping", *args], catch_exceptions=False)


def test_the_command_says_per_kind_what_it_would_remove_then_removes_it(admin, settings):
    settings.SEQUENCER_KEEP_SEEN_CALENDAR_EVENTS_DAYS = "1"
    _seen(admin, system_clock.now() - LISTED - 3 * DAY, n=2)
    _seen(admin, system_clock.now())

    dry = _cli("--dry-run")
    left_after_dry = SeenEvent.objects.count()
    real = _cli()

    assert dry.exit_code == 0, dry.output
    assert "seen_calendar_events: would remove 2 calendar events already seen" in dry.output
    assert "inbound_raw: would remove 0" in dry.output
    assert left_after_dry == 3
    assert "seen_calendar_events: removed 2 calendar events already seen" in real.output
    assert SeenEvent.objects.count() == 1


def test_the_command_names_a_setting_that_is_not_a_number_of_days(admin, settings):
    settings.SEQUENCER_KEEP_RAW_INBOUND_DAYS = "ninety"
    result = CliRunner().invoke(main, ["housekeeping"])
    assert result.exit_code == 1
    assert "SEQUENCER_KEEP_RAW_INBOUND_DAYS must be a whole number of days" in result.output
