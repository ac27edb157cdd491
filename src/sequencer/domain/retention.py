"""How long housekeeping keeps what only grows: the cut-offs of one run, and when the
next daily run is due.

Each kind of data is kept a number of days (0: forever). A cut-off is the moment before
which a row of that kind may be thinned; ``None`` means keep everything. Some kinds have
a floor that the setting cannot go below, because the engine still needs the data for a
while whatever the setting says:

* raw inbound messages are re-read by the worker while acting on them may be retried
  (``inbound_retry``), so they are never dropped before that;
* a calendar event UID can be listed again as long as it may fall in the polling
  window (``calendar_listed_for``): forgetting it earlier would make an old event look
  newly booked, so its days count from when it can no longer be listed.

No clock is read here: ``now`` is always given.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sequencer.domain.errors import InvalidInput

__all__ = ["DAILY", "Cutoffs", "Retention", "cutoffs", "is_finished", "is_run_due"]

DAILY = timedelta(days=1)
# Far enough for any setting (about 27 years) while keeping datetime arithmetic in range.
MAX_DAYS = 10_000


@dataclass(frozen=True)
class Retention:
    """Days to keep each kind; 0 keeps it forever."""

    inbound_raw_days: int = 90
    seen_calendar_event_days: int = 30
    finished_delivery_days: int = 180
    unused_attachment_days: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(
                    f"{f.name} must be a whole number of days.", field=f.name, code="not_a_number"
                )
            if not 0 <= value <= MAX_DAYS:
                raise InvalidInput(
                    f"{f.name} must be between 0 (keep forever) and {MAX_DAYS} days.",
                    field=f.name,
                    code="out_of_range",
                )


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these may go; ``None``: keep that kind forever."""

    inbound_raw: datetime | None
    seen_calendar_events: datetime | None
    finished_deliveries: datetime | None
    unused_attachments: datetime | None


def _before(
    now: datetime, days: int, *, floor: timedelta = timedelta(0), after: timedelta = timedelta(0)
) -> datetime | None:
    if days == 0:
        return None
    return now - after - max(timedelta(days=days), floor)


def cutoffs(
    now: datetime,
    retention: Retention,
    *,
    inbound_retry: timedelta,
    calendar_listed_for: timedelta,
) -> Cutoffs:
    return Cutoffs(
        inbound_raw=_before(now, retention.inbound_raw_days, floor=inbound_retry),
        seen_calendar_events=_before(
            now, retention.seen_calendar_event_days, after=calendar_listed_for
        ),
        finished_deliveries=_before(now, retention.finished_delivery_days),
        unused_attachments=_before(now, retention.unused_attachment_days),
    )


def is_finished(started: datetime | None, finished: datetime | None) -> bool:
    """Whether the run that last started has worked through everything (a run never
    started counts as finished: the next one is new)."""
    return started is None or (finished is not None and finished >= started)


def is_run_due(
    started: datetime | None,
    finished: datetime | None,
    now: datetime,
    *,
    every: timedelta = DAILY,
) -> bool:
    """Whether housekeeping should work at ``now``: a new run once ``every`` has passed
    since the last one started, and the unfinished one on every tick until it finishes
    (a large backlog is worked through over several ticks, each bounded in time)."""
    if started is None or not is_finished(started, finished):
        return True
    return now >= started + every
