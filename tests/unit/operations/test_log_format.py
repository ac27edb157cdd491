"""JSON log lines have stable keys, one object per line; secrets are masked in any format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sequencer.operations.log_format import REDACTED, RedactSecrets, logging_config
from sequencer.testing.logs import captured_log

TOKEN = "sqr_Zm9vYmFyYmF6cXV4cXV1eF9zZWNyZXQ"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The settings' JSON configuration, writing to a buffer instead of stderr."""
    with captured_log("json") as stream:
        yield stream


def _entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_has_time_level_logger_event_and_the_context_it_was_given(
    lines: io.StringIO,
) -> None:
    logging.getLogger("sequencer.engine.dispatch").warning(
        "email %s: the mailbox failed",
        7,
        extra={"enrollment": 3, "email": 7, "mailbox": 2, "duration": 12.5, "other": "x"},
    )
    [entry] = _entries(lines)
    assert list(entry) == [
        "time",
        "level",
        "logger",
        "event",
        "enrollment",
        "email",
        "mailbox",
        "duration",
    ]
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "sequencer.engine.dispatch"
    assert entry["event"] == "email 7: the mailbox failed"
    assert str(entry["time"]).endswith("Z")


def test_a_multi_line_message_and_its_traceback_stay_on_one_line(lines: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("sequencer.test").exception("first\nsecond")
    [entry] = _entries(lines)
    assert entry["event"] == "first\nsecond"
    assert "RuntimeError: boom" in str(entry["exc"])
    assert lines.getvalue().count("\n") == 1


def test_extra_values_under_secret_names_are_masked_and_others_kept() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "m",
            "password": "hunter2",
            "smtp_pass": "p",
            "api_token": "t",
            "Authorization": "Bearer x",
            "passed": 3,
            "mailbox": 2,
        }
    )
    assert RedactSecrets().filter(record)
    masked = (record.password, record.smtp_pass, record.api_token, record.Authorization)
    assert masked == (REDACTED,) * 4
    assert (record.passed, record.mailbox) == (3, 2)


def test_secrets_inside_messages_arguments_and_tracebacks_are_masked(lines: io.StringIO) -> None:
    log = logging.getLogger("sequencer.test")
    log.warning("Method Not Allowed (PUT): /u/eyJhIjoxfQ.sig-nature/")
    log.warning("Not Found: /mailboxes/prove/abc123/")
    log.warning("header %s", f"Authorization: Bearer {TOKEN}")
    log.warning("%(who)s used %(token)s", {"who": "ada", "token": "plain-token"})
    log.warning("stray %s", TOKEN)
    log.warning("the preview page stays: /u/preview/")
    try:
        raise ValueError(f"refused {TOKEN}")
    except ValueError:
        log.exception("failed")
    events = [str(e["event"]) for e in _entries(lines)]
    assert events[:6] == [
        f"Method Not Allowed (PUT): /u/{REDACTED}/",
        f"Not Found: /mailboxes/prove/{REDACTED}/",
        f"header Authorization: Bearer {REDACTED}",
        f"ada used {REDACTED}",
        f"stray {REDACTED}",
        "the preview page stays: /u/preview/",
    ]
    assert TOKEN not in lines.getvalue()
    assert "plain-token" not in lines.getvalue()


def test_the_text_format_is_the_plain_message_with_secrets_masked_too() -> None:
    with captured_log("text") as stream:
        logging.getLogger("sequencer.test").info("token %s", TOKEN)
    assert stream.getvalue() == f"token {REDACTED}\n"


def test_an_unknown_format_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="one of text, json"):
        logging_config("yaml", "INFO")
    assert logging_config(" JSON ", "INFO")["handlers"]["console"]["formatter"] == "json"
    assert "formatter" not in logging_config("", "INFO")["handlers"]["console"]
