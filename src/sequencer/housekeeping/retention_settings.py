"""The retention of this installation, from the Django settings (which read the
``SEQUENCER_KEEP_*_DAYS`` environment variables; see the README's Configuration)."""

from __future__ import annotations

from django.conf import settings

from sequencer.domain.errors import InvalidInput
from sequencer.domain.retention import Retention

# Retention field -> the setting (and environment variable) that sets it.
SETTINGS = {
    "inbound_raw_days": "SEQUENCER_KEEP_RAW_INBOUND_DAYS",
    "seen_calendar_event_days": "SEQUENCER_KEEP_SEEN_CALENDAR_EVENTS_DAYS",
    "finished_delivery_days": "SEQUENCER_KEEP_FINISHED_DELIVERIES_DAYS",
    "unused_attachment_days": "SEQUENCER_KEEP_UNUSED_ATTACHMENTS_DAYS",
}


def _days(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a whole number of days (0 keeps forever), not {text!r}.",
            field=name,
            code="not_a_number",
        ) from None


def configured() -> Retention:
    """The retention the settings ask for; an unusable value names its setting."""
    defaults = Retention()
    days = {field: _days(name, getattr(defaults, field)) for field, name in SETTINGS.items()}
    try:
        return Retention(**days)
    except InvalidInput as wrong:
        name = SETTINGS.get(wrong.field or "", wrong.field)
        raise InvalidInput(
            wrong.message.replace(wrong.field or "", name or ""), field=name, code=wrong.code
        ) from None
