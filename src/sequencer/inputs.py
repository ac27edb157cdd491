"""The one base class of every typed input: API bodies and queries, and service inputs.

Two rules hold for every field of every input, nested ones included:

- an unknown key is an error, never silently dropped: a misspelt ``"prot": 25`` must not
  leave the port at its default;
- text must be storable: a lone surrogate (``"\\ud800"`` in JSON) cannot be encoded as
  UTF-8, and PostgreSQL refuses the NUL character in text and JSON columns, so both are
  refused here, naming the field, instead of failing in the database driver.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

# The error type a client sees for unstorable text; the API appends ``ctx["path"]`` (the
# place inside a free-form value such as ``attributes``) to the field it names.
UNSTORABLE_TEXT = "unstorable_text"
# pydantic's own name for the same problem, found first by constrained strings.
PYDANTIC_UNSTORABLE = "string_unicode"


def _unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not a character"
    return None


def _first_unstorable(value: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """The path and problem of the first unstorable text in a parsed value.

    Nested inputs check their own fields, so they are skipped here; free-form values
    (``dict[str, Any]``, ``list[Any]``) are walked, keys included.
    """
    if isinstance(value, str):
        problem = _unstorable(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_unstorable(key, path) or _first_unstorable(item, (*path, str(key)))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first_unstorable(item, (*path, str(index)))
            if found:
                return found
    return None


def check_storable(value: Any) -> Any:
    """``value`` unchanged, or a validation error naming where unstorable text is."""
    found = _first_unstorable(value)
    if found is None:
        return value
    path, problem = found
    raise PydanticCustomError(
        UNSTORABLE_TEXT,
        "the text {problem}; remove it",
        {"problem": problem, "path": ".".join(path)},
    )


class Input(BaseModel):
    """Strict input: unknown keys refused, text storable."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return check_storable(value)


# A single text parameter outside an :class:`Input` (a query string's ``?email=``).
Text = Annotated[str, AfterValidator(check_storable)]
