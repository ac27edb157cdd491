"""A marker for "not given" in partial updates, where None means "clear it"."""

from __future__ import annotations

import enum
from typing import Final


class Unset(enum.Enum):
    UNSET = "unset"


UNSET: Final = Unset.UNSET
