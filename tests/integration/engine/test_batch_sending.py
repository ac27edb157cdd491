"""A mailbox's claimed emails are checked as one batch, and each is still committed as
*sending* on its own right before it goes (engine/dispatch.py).

What users rely on: a reply, an unsubscribe or a removal that lands while a batch is
being sent stops that recipient's email; limits hold across workers deciding for the
same mailbox; a slow batch is checked again; one email that cannot go never holds or
miscounts the others.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from sequencer.domain.events import EventKind
from sequencer.engine import dispatch
from sequencer.engine.claim import claim_due
from sequencer.engine.reconcile import expire_leases
from sequencer.mail.mailboxes import provider_for
from sequencer.mail.models import Mailbox, MailboxStatus
from sequencer.sequences import enrollment, lifecycle
from sequencer.sequences.enrollment import Recipient
from sequencer.sequences.models import Enrollment, ScheduledEmail
from tests.integration.engine.conftest import make_person

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=5)


def _enroll(admin, sequence, mailbox, clock, count: int, tag: str = "p") -> list[Enrollment]:
    people = [make_person(f"{tag}{n}", f"{tag}{n}@initech.test") for n in range(count)]
    outcomes = enrollment.enroll(
        admin, sequence.pk, [Recipient(p.pk) for p in people], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert all(o.enrolled for o in outcomes), outcomes
    return [Enrollment.objects.get(pk=o.enrollment_id) for o in outcomes]


def _open_limits(mailbox: Mailbox, per_hour: int = 100) -> None:
    mailbox.per_hour, mailbox.per_day, mailbox.min_spacing_seconds = per_hour, 1000, 0
    mailbox.save()


class _Watching:
    """The mailbox's real provider, calling ``before(n)`` before its n-th send (from 0):
    something that happens while a batch is on its way. With ``made_ahead``, the first
    send that is lent the next email's steps runs them all (``meanwhile``), then calls
    ``made_ahead()``: something that happens after the next email was rendered and
    composed, before its turn."""

    def __init__(self, clock, before=None, made_ahead=None) -> None:
        self._make = partial(provider_for, clock=clock)
        self._before = before
        self._made_ahead = made_ahead
        self.sends = 0
        self.lent = 0

    def __call__(self, mailbox):
        provider = self._make(mailbox)
        real_send = provider.send

        def send(message, *, thread=None, meanwhile=None):
            if self._before is not None:
                self._before(self.sends)
            if self._made_ahead is not None and meanwhile is not None and not self.lent:
                for _ in range(10):  # more calls than it has steps: the extra do nothing
                    meanwhile()
                self.lent += 1
                self._made_ahead()
            self.sends += 1
            return real_send(message, thread=thread, meanwhile=meanwhile)

        provider.send = send
        return provider


def _send(ids, clock, provider, owner="w"):
    return dispatch.send_claimed(
        ids, owner=owner, clock=clock, lease=LEASE, provider_for=provider, random=lambda: 0.5
    )


def _states(enrollments: list[Enrollment]) -> list[str]:
    return [ScheduledEmail.objects.get(enrollment=e, step=0).state for e in enrollments]


@pytest.mark.parametrize("made_ahead", [False, True], ids=["before made", "made ahead"])
def test_a_reply_that_lands_while_a_batch_is_sent_stops_that_recipients_email(
    admin, publish, mailbox, clock, smtp_server, made_ahead
):
    _open_limits(mailbox)
    sequence = publish([(0, "Hi {{ person.first_name }}", "<p>Hello</p>")])
    enrollments = _enroll(admin, sequence, mailbox, clock, 3)
    ids = claim_due(clock.now(), limit=10, lease=LEASE, owner="w")

    def second_replies() -> None:
        lifecycle.exit_enrollment(enrollments[1].pk, EventKind.REPLIED, clock=clock)

    if made_ahead:
        # The second email is rendered and composed while the first is on the wire; its
        # recipient replies after that, before its turn.
        provider = _Watching(clock, made_ahead=second_replies)
    else:
        # Checked as one batch already; the second recipient replies as the first goes.
        provider = _Watching(clock, before=lambda sends: sends or second_replies())
    handed_over = _send(ids, clock, provider)

    assert handed_over == 2
    assert provider.lent == int(made_ahead)
    assert _states(enrollments) == ["sent", "cancelled", "sent"]
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "p0@initech.test",
        "p2@initech.test",
    ]
    # The email that did not go holds no attempt against the mailbox's limits.
    assert ScheduledEmail.objects.get(enrollment=enrollments[1]).attempted_at is None


def test_a_batch_sends_no_more_than_the_hour_leaves_and_the_rest_waits_its_turn(
    admin, publish, mailbox, clock, smtp_server
):
    _open_limits(mailbox, per_hour=3)
    sequence = publish([(0, "Hi", "<p>Hello</p>")])
    enrollments = _enroll(admin, sequence, mailbox, clock, 5)
    ids = claim_due(clock.now(), limit=10, lease=LEASE, owner="w")

    assert _send(ids, clock, partial(provider_for, clock=clock)) == 3

    assert _states(enrollments) == ["sent", "sent", "sent", "scheduled", "scheduled"]
    waiting = ScheduledEmail.objects.filter(state="scheduled")
    # The hour's cap frees a send an hour after the first of the three.
    assert {e.due_at for e in waiting} == {clock.now() + timedelta(hours=1)}
    assert all(e.lease_owner == "" and e.attempted_at is None for e in waiting)


def test_another_workers_batch_sees_the_sends_this_one_reserved(admin, publish, mailbox, clock):
    _open_limits(mailbox, per_hour=3)
    sequence = publish([(0, "Hi", "<p>Hello</p>")])
    _enroll(admin, sequence, mailbox, clock, 5)
    first = claim_due(clock.now(), limit=2, lease=LEASE, owner="a")
    second = claim_due(clock.now(), limit=3, lease=LEASE, owner="b")

    # Worker a decides for its two emails; before either is sent, worker b decides for
    # its three: the hour has room for one more only.
    checked_a = dispatch.check(first, "a", clock)
    checked_b = dispatch.check(second, "b", clock)

    assert checked_a is not None and checked_b is not None
    assert [r.email.pk for r in checked_a.ready] == first
    assert [r.email.pk for r in checked_b.ready] == second[:1]
    assert ScheduledEmail.objects.filter(attempted_at__isnull=False).count() == 3
    assert set(
        ScheduledEmail.objects.filter(pk__in=second[1:]).values_list("state", flat=True)
    ) == {"scheduled"}


def test_a_batch_checked_too_long_ago_is_checked_again_before_its_next_email(
    admin, publish, mailbox, clock, smtp_server, monkeypatch
):
    _open_limits(mailbox)
    monkeypatch.setattr(dispatch, "RECHECK_AFTER", 0.0)  # every email finds its check stale
    sequence = publish([(0, "Hi", "<p>Hello</p>")])
    enrollments = _enroll(admin, sequence, mailbox, clock, 3)
    ids = claim_due(clock.now(), limit=10, lease=LEASE, owner="w")

    def pause_after_the_first(sends: int) -> None:
        if sends == 0:  # its owner pauses the mailbox while the first email goes out
            Mailbox.objects.filter(pk=mailbox.pk).update(
                status=MailboxStatus.PAUSED, status_reason="Paused by its owner."
            )

    assert _send(ids, clock, _Watching(clock, pause_after_the_first)) == 1

    assert _states(enrollments) == ["sent", "scheduled", "scheduled"]
    held = ScheduledEmail.objects.filter(state="scheduled")
    assert {e.last_error for e in held} == {"Paused by its owner."}
    assert all(e.attempted_at is None for e in held)


def test_an_email_that_cannot_be_rendered_fails_alone_and_the_batch_goes_on(
    admin, publish, mailbox, clock, smtp_server
):
    _open_limits(mailbox)
    sequence = publish([(0, "Hi {{ person.first_name }}", "<p>{{ person.job_title }}</p>")])
    enrollments = _enroll(admin, sequence, mailbox, clock, 3)
    # The second recipient's job title is empty, and the template prints it without a
    # fallback: that one email cannot be written.
    for n, e in enumerate(enrollments):
        e.person.job_title = "" if n == 1 else "Engineer"
        e.person.save()
    ids = claim_due(clock.now(), limit=10, lease=LEASE, owner="w")

    assert _send(ids, clock, partial(provider_for, clock=clock)) == 2

    assert _states(enrollments) == ["sent", "failed", "sent"]
    failed = ScheduledEmail.objects.get(enrollment=enrollments[1])
    assert "job_title" in failed.last_error
    assert failed.attempted_at is None  # it does not count against the limits
    assert Enrollment.objects.get(pk=enrollments[1].pk).status == "failed"


def test_a_reservation_whose_worker_vanished_stops_counting_when_its_lease_ends(
    admin, publish, mailbox, clock
):
    _open_limits(mailbox, per_hour=2)
    sequence = publish([(0, "Hi", "<p>Hello</p>")])
    _enroll(admin, sequence, mailbox, clock, 2)
    ids = claim_due(clock.now(), limit=10, lease=LEASE, owner="gone")
    checked = dispatch.check(ids, "gone", clock)
    assert checked is not None and len(checked.ready) == 2
    # The worker dies before sending anything: its reservations fill the hour...
    assert dispatch._allowance(mailbox, clock.now()) == 0

    clock.advance(LEASE + timedelta(seconds=1))
    released, lost = expire_leases(clock.now())

    # ...until its lease ends: the emails are due again and the hour is free.
    assert (released, lost) == (2, 0)
    assert dispatch._allowance(mailbox, clock.now()) == 2
    assert set(ScheduledEmail.objects.values_list("state", flat=True)) == {"scheduled"}
