"""Errors the pure domain raises when its input is wrong.

Every layer above (API, CLI, web) turns an :class:`InvalidInput` into a message that
names the offending field and says how to fix it, so the domain is where that
wording lives.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """Input that cannot be accepted.

    ``field`` is the dotted path of the offending input (``window.start``,
    ``steps.2.delay_days``) or ``None`` when no single field is to blame; ``code`` is a
    stable machine-readable identifier; ``message`` tells a person what to change.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def under(self, prefix: str) -> InvalidInput:
        """The same error with its field nested under ``prefix`` (``steps.0`` + ``subject``)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return InvalidInput(self.message, field=field, code=self.code)
