"""Settling emails whose worker vanished.

A row stays *claimed* or *sending* only while its worker's lease runs. When the lease
has expired the worker is gone (killed, crashed, lost its database connection):

* *claimed* means nothing was handed to a provider yet: it is simply due again.
* *sending* means the provider may or may not have accepted it: it becomes *unknown*,
  and only the mailbox's sent mail may decide. Found there, it was sent. Not found: on
  Gmail and Microsoft 365, which file everything they accept, it was not sent and goes
  out again with the same Message-ID; on a plain SMTP server our own Sent copy is made
  only after acceptance, so absence proves nothing and the email is marked failed with
  "outcome unknown" rather than risk a duplicate. The same holds where no Sent folder
  can be searched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction

from sequencer import leasing
from sequencer.domain.lifecycle import EmailState
from sequencer.engine.dispatch import log_context
from sequencer.mail.models import Mailbox, Provider
from sequencer.mail.providers.base import MailProvider
from sequencer.sequences import lifecycle
from sequencer.sequences.models import ScheduledEmail

log = logging.getLogger(__name__)

# Providers whose "not in Sent" proves "not sent": Gmail files every message it accepts
# under the Message-ID we gave it. Microsoft 365 is left out on purpose: a threaded
# reply goes through createReply, whose Message-ID is set by a later PATCH that has not
# been confirmed to stick on every tenant, so a negative search there proves nothing.
SELF_FILING = (Provider.GMAIL,)
# How long after the lost attempt before a negative search is trusted: longer than any
# send could still be running (a lease plus the provider's own filing delay).
FILING_DELAY = timedelta(minutes=15)
# A search that keeps failing (IMAP down) is retried this often, for at most a day;
# then the email is failed with "outcome unknown" so that a person looks at it.
SEARCH_RETRY = timedelta(minutes=5)
SEARCH_GIVE_UP = timedelta(hours=24)

OUTCOME_UNKNOWN = (
    "The outcome of sending is unknown (the worker stopped while the provider had the "
    "email, and the Sent folder cannot tell). Check the Sent folder; resume the recipient "
    "to send it, or remove them."
)


def expire_leases(now: datetime) -> tuple[int, int]:
    """Claimed rows whose lease ran out are due again; sending ones become unknown."""
    with transaction.atomic():
        return lifecycle.release_expired(ScheduledEmail.objects.filter(leasing.expired(now)))


def settle_unknown(
    now: datetime,
    provider_for: Callable[[Mailbox], MailProvider],
    on_sent: Callable[[ScheduledEmail, datetime], None],
    *,
    limit: int = 50,
) -> int:
    """Decide the unknown emails whose next check is due; the number decided.

    ``due_at`` of an unknown row is when to look again, so a mailbox whose searches
    keep failing waits its turn instead of starving the others.
    """
    settled = 0
    for email in (
        ScheduledEmail.objects.filter(state=EmailState.UNKNOWN, due_at__lte=now)
        .select_related("mailbox", "enrollment")
        .order_by("due_at")[:limit]
    ):
        mailbox = email.mailbox
        attempted = email.attempted_at or now
        try:
            found = provider_for(mailbox).find_sent(email.message_id)
        except Exception as exc:
            if now - attempted >= SEARCH_GIVE_UP:
                _fail_unknown(email, f"{OUTCOME_UNKNOWN} The last search failed: {exc}")
                settled += 1
            else:
                log.warning(
                    "could not search Sent for %s: %s",
                    email.message_id,
                    exc,
                    extra=log_context(email),
                )
                _check_again(email, now + SEARCH_RETRY)
            continue
        if found:
            on_sent(email, attempted)
        elif found is False and mailbox.provider in SELF_FILING:
            if now - attempted < FILING_DELAY:
                _check_again(email, attempted + FILING_DELAY)
                continue
            lifecycle.send_again(email.pk, now)
        else:
            _fail_unknown(email, OUTCOME_UNKNOWN)
        settled += 1
    return settled


def _check_again(email: ScheduledEmail, when: datetime) -> None:
    ScheduledEmail.objects.filter(pk=email.pk, state=EmailState.UNKNOWN).update(due_at=when)


@transaction.atomic
def _fail_unknown(email: ScheduledEmail, reason: str) -> None:
    # Enrollment first: the lifecycle's lock order.
    lifecycle.fail_unknown(lifecycle.lock_enrollment(email.enrollment_id), email.pk, reason)
