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

from sequencer.domain.lifecycle import EnrollmentStatus
from sequencer.mail.models import Mailbox, Provider
from sequencer.mail.providers.base import MailProvider
from sequencer.sequences.models import EmailState, Enrollment, ScheduledEmail

log = logging.getLogger(__name__)

# Providers that file every accepted message in Sent themselves; a search that finds
# nothing there (once the provider had time to file it) means it was not accepted.
SELF_FILING = (Provider.GMAIL, Provider.MICROSOFT)
# How long after the lost attempt to trust a negative search on those providers.
FILING_DELAY = timedelta(minutes=2)

OUTCOME_UNKNOWN = (
    "The outcome of sending is unknown (the worker stopped while the provider had the "
    "email, and the Sent folder cannot tell). Check the Sent folder; resume the recipient "
    "to send it, or remove them."
)


def expire_leases(now: datetime) -> tuple[int, int]:
    """Claimed rows whose lease ran out are due again; sending ones become unknown."""
    with transaction.atomic():
        released = ScheduledEmail.objects.filter(
            state=EmailState.CLAIMED, lease_until__lt=now
        ).update(state=EmailState.SCHEDULED, lease_until=None, lease_owner="")
        lost = ScheduledEmail.objects.filter(state=EmailState.SENDING, lease_until__lt=now).update(
            state=EmailState.UNKNOWN, lease_until=None
        )
    return released, lost


def settle_unknown(
    now: datetime,
    provider_for: Callable[[Mailbox], MailProvider],
    on_sent: Callable[[ScheduledEmail, datetime], None],
    *,
    limit: int = 50,
) -> int:
    settled = 0
    for email in (
        ScheduledEmail.objects.filter(state=EmailState.UNKNOWN)
        .select_related("mailbox", "enrollment")
        .order_by("attempted_at")[:limit]
    ):
        mailbox = email.mailbox
        try:
            found = provider_for(mailbox).find_sent(email.message_id)
        except Exception as exc:  # the search itself failed: try again next tick
            log.warning("could not search Sent for %s: %s", email.message_id, exc)
            continue
        if found:
            on_sent(email, email.attempted_at or now)
        elif found is False and mailbox.provider in SELF_FILING:
            if email.attempted_at and now - email.attempted_at < FILING_DELAY:
                continue
            ScheduledEmail.objects.filter(pk=email.pk, state=EmailState.UNKNOWN).update(
                state=EmailState.SCHEDULED, due_at=now, lease_until=None, lease_owner=""
            )
        else:
            _fail_unknown(email)
        settled += 1
    return settled


@transaction.atomic
def _fail_unknown(email: ScheduledEmail) -> None:
    updated = ScheduledEmail.objects.filter(pk=email.pk, state=EmailState.UNKNOWN).update(
        state=EmailState.FAILED, last_error=OUTCOME_UNKNOWN
    )
    if updated:
        Enrollment.objects.filter(pk=email.enrollment_id, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.FAILED, failure_reason=OUTCOME_UNKNOWN
        )
