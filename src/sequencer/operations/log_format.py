"""How log lines look, and what they never contain.

``SEQUENCER_LOG_FORMAT=json`` writes one JSON object per line with stable keys, for a log
collector: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` (the message) and,
when the line is about them, ``enrollment``, ``email`` (the scheduled email) and
``mailbox`` (ids), ``duration`` (milliseconds), and ``exc`` (the traceback). The default,
``text``, stays the plain message a person reads in a terminal.

Our own formatter rather than a library's: neither structlog nor python-json-logger is a
dependency, and what is wanted here is a fixed allow-list of keys, the opposite of those
libraries' habit of writing every attribute passed in ``extra`` (Django's request log
passes the whole request, headers and all). It is a dozen lines over ``json.dumps``.

:class:`RedactSecrets` is the safety net under both formats: the code does not log
secrets, and if some day a line does, the usual shapes are masked before it is written.
This module is imported by the settings, so it imports nothing of Django's or ours.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
CONTEXT_KEYS = ("enrollment", "email", "mailbox", "duration")
REDACTED = "[redacted]"

# ``extra`` keys (and keys of a mapping passed as the message's arguments) whose values
# are masked, whatever the formatter does with them.
_SECRET_KEY_NAME = re.compile(
    r"pass(word|wd|phrase)?(?![a-z])|token|secret|authori[sz]ation|api_?key|credential|cookie",
    re.IGNORECASE,
)
# Secrets that travel inside text: a message or a traceback may quote a URL path or a
# header. The API token prefix is workspace.services.TOKEN_PREFIX (checked by a test; not
# imported, since the settings import this module before Django is set up).
_SECRET_IN_TEXT = (
    # The unsubscribe link's token (not the fixed preview page) and the mailbox proof link.
    (re.compile(r"(/u/)(?!preview/)[^/\s?#'\"]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/mailboxes/prove/)[^/\s?#'\"]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(Bearer|Basic)\s+[^\s'\",]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    (re.compile(r"\bsqr_[A-Za-z0-9_-]+"), REDACTED),
)
# What every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def took(started: float) -> dict[str, float]:
    """The ``duration`` key (milliseconds) of a line about work begun at ``started``
    (a ``time.monotonic()`` reading)."""
    return {"duration": round((time.monotonic() - started) * 1000, 1)}


def scrub(text: str) -> str:
    for pattern, replacement in _SECRET_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks secret-looking ``extra`` values, message arguments and text, on every record a
    handler writes (a handler's filter sees the records of every logger under it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in record.__dict__.keys() - _STANDARD:
            if _SECRET_KEY_NAME.search(key):
                record.__dict__[key] = REDACTED
        if isinstance(record.args, Mapping):
            record.args = {
                k: REDACTED if _SECRET_KEY_NAME.search(str(k)) else v
                for k, v in record.args.items()
            }
        message = record.getMessage()
        if (clean := scrub(message)) != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so both formats get the clean one.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line (a newline inside a message or traceback is escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for ``SEQUENCER_LOG_FORMAT`` and ``SEQUENCER_LOG_LEVEL``."""
    chosen = (log_format or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(
            f"SEQUENCER_LOG_FORMAT is {log_format!r}; it is one of {', '.join(FORMATS)}."
        )
    handler: dict[str, Any] = {"class": "logging.StreamHandler", "filters": ["redact"]}
    if chosen == "json":
        handler["formatter"] = "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
    }
