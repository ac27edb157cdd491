"""The log as the settings configure it, written to a buffer: for tests that read what an
operator's log collector would get."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sequencer.operations.log_format import logging_config


def console_handler(config: dict[str, Any], stream: io.StringIO) -> logging.Handler:
    """The ``console`` handler of a LOGGING ``config`` (its filters and formatter), built
    without ``dictConfig``, which would close every other handler (pytest's too)."""
    spec = config["handlers"]["console"]
    handler = logging.StreamHandler(stream)
    for name in spec.get("filters", ()):
        handler.addFilter(config["filters"][name]["()"]())
    if "formatter" in spec:
        handler.setFormatter(config["formatters"][spec["formatter"]]["()"]())
    return handler


@contextmanager
def captured_log(log_format: str = "json", level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """Everything logged inside the block, as ``SEQUENCER_LOG_FORMAT=log_format`` writes it."""
    stream = io.StringIO()
    handler = console_handler(logging_config(log_format, "DEBUG"), stream)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
