"""When a mailbox's recipients mark too much of its mail as spam: the rule, pure.

A mailbox's complaint rate is the number of recipients who marked one of its emails as
spam, over the emails it sent, both counted over the last :data:`WINDOW`. Above the
workspace's limit (an admin sets it; :data:`DEFAULT_LIMIT_PERCENT` until then) the
engine pauses the mailbox and tells its owner, but only once the mailbox has sent at
least ``min_sends`` emails in the window: one complaint among a mailbox's first ten
emails is 10 %, and says nothing yet about how its mail is received.

"Above" is strict: a rate equal to the limit does not pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

# Mailbox providers look at complaint rates over days to weeks, not per email. One
# mailbox sends a few hundred emails a day at most (200 by default), so a single day
# holds too few for one complaint to mean much; thirty days holds thousands at full
# pace, enough for the rate to say something, and an old incident drops out of the
# count within a month.
WINDOW = timedelta(days=30)
# The rate the large mailbox providers tell bulk senders to stay under.
DEFAULT_LIMIT_PERCENT = Decimal("0.3")
DEFAULT_MIN_SENDS = 100
# What an admin may set.
LIMIT_RANGE = (Decimal("0.01"), Decimal("100"))
MIN_SENDS_RANGE = (0, 1_000_000)
# Every reason written by :func:`pause_reason` starts so; a mailbox already paused for
# its complaints is not paused (and its owner not told) again.
REASON_START = "Spam complaints are at"


@dataclass(frozen=True)
class ComplaintPolicy:
    """The workspace's limit, in percent of emails sent, and the sends it waits for."""

    limit_percent: Decimal = DEFAULT_LIMIT_PERCENT
    min_sends: int = DEFAULT_MIN_SENDS


@dataclass(frozen=True)
class ComplaintRate:
    """A mailbox's spam complaints and emails sent over the last :data:`WINDOW`."""

    complaints: int
    sent: int

    @property
    def percent(self) -> Decimal | None:
        """The rate in percent, ``None`` when nothing was sent."""
        if self.sent <= 0:
            return None
        return Decimal(self.complaints * 100) / Decimal(self.sent)


def is_over_limit(rate: ComplaintRate, policy: ComplaintPolicy) -> bool:
    """Whether ``rate`` must pause the mailbox under ``policy`` (see the module)."""
    if rate.complaints <= 0 or rate.sent < policy.min_sends:
        return False
    # Compared in whole numbers: complaints / sent > limit / 100, without rounding.
    return Decimal(rate.complaints * 100) > policy.limit_percent * rate.sent


def format_percent(value: Decimal, *, unlike: Decimal | None = None) -> str:
    """``value`` as a short percentage (``"0.5%"``), with as many decimals as it takes
    (up to four) not to read the same as ``unlike``: 1 in 300 above a 0.3 % limit is
    "0.33%", not "0.3%"."""
    shown = value
    for places in range(1, 5):
        shown = value.quantize(Decimal(1).scaleb(-places))
        if unlike is None or shown != unlike:
            break
    text = format(shown.normalize(), "f")
    return f"{text}%"


def pause_reason(rate: ComplaintRate, policy: ComplaintPolicy) -> str:
    """Why the mailbox was paused, in its owner's words."""
    days = WINDOW.days
    limit = format_percent(policy.limit_percent)
    percent = rate.percent
    emails = "email" if rate.sent == 1 else "emails"
    if percent is None:
        return (
            f"{REASON_START} {rate.complaints}, with no email sent in the last {days} "
            f"days: above the {limit} limit."
        )
    return (
        f"{REASON_START} {format_percent(percent, unlike=policy.limit_percent)} of "
        f"emails sent in the last {days} days ({rate.complaints} of {rate.sent} {emails}), "
        f"above the {limit} limit."
    )


def is_complaint_pause(reason: str) -> bool:
    """Whether a mailbox's pause reason is one :func:`pause_reason` wrote."""
    return reason.startswith(REASON_START)


__all__ = [
    "DEFAULT_LIMIT_PERCENT",
    "DEFAULT_MIN_SENDS",
    "LIMIT_RANGE",
    "MIN_SENDS_RANGE",
    "WINDOW",
    "ComplaintPolicy",
    "ComplaintRate",
    "format_percent",
    "is_complaint_pause",
    "is_over_limit",
    "pause_reason",
]
