"""The recipient's time zone: an IANA name, matched whatever its case."""

from __future__ import annotations

import zoneinfo
from functools import cache

from sequencer.domain.errors import InvalidInput


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def normalize_time_zone(raw: object, field: str = "time_zone") -> str:
    """The canonical IANA name (``Europe/Paris``), or "" when none is given."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidInput("A time zone is a name such as Europe/Paris.", field=field)
    text = raw.strip()
    if not text:
        return ""
    name = _zones().get(text.lower())
    if name is None:
        raise InvalidInput(
            f"{text!r} is not a time zone; use an IANA name such as Europe/Paris or "
            "America/New_York.",
            field=field,
            code="invalid_time_zone",
        )
    return name
