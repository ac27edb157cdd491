"""What the worst template bodies cost to save, read and render (security finding 3).

A body made only of ``{{`` took about 79 s to save at 32 KB before the Liquid lexer was
made linear. Each figure is the time for the slowest of several hostile bodies; the
ratio between 64 KB and 32 KB shows the growth (2 is linear, 4 is quadratic).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from sequencer.domain.variables import StaticCatalog
from sequencer.sequences import templating
from sequencer.sequences.html import sanitize_html
from sequencer.sequences.templating import RenderError, ai_prompts, render, template_errors

FIGURES = {
    "template_worst_save_ms_32kb": (
        "slowest of the hostile 32 KB bodies ({{, {%, {{{{, unclosed tags, raw, <) to "
        "sanitise and check for publishing, cache cold",
        "ms",
        ("<=", 2000),
    ),
    "template_worst_save_ratio_64kb_vs_32kb": (
        "the same at 64 KB divided by 32 KB (2 = linear, 4 = quadratic)",
        "ratio",
        ("<=", 3),
    ),
    "template_worst_read_ms_32kb": (
        "slowest hostile 32 KB body: finding its AI prompts, as reading a sequence does",
        "ms",
        ("<=", 1000),
    ),
    "template_worst_render_ms_32kb": (
        "slowest hostile 32 KB body rendered for one recipient, cache cold",
        "ms",
        ("<=", 2000),
    ),
}

_UNITS = ["{{", "{%", "{{{{", "{{ x", "{% ai %}", "{% raw %}", "{% if x %}", "<", "{{-"]
_CATALOG = StaticCatalog(person=frozenset({"first_name"}))


def _slowest(size: int, operation: Callable[[str], object]) -> float:
    worst = 0.0
    for unit in _UNITS:
        body = unit * (size // len(unit))
        templating._CACHE.clear()
        began = time.perf_counter()
        with contextlib.suppress(RenderError, ValueError):
            operation(body)
        worst = max(worst, time.perf_counter() - began)
    return worst * 1000


def _save(body: str) -> None:
    with contextlib.suppress(ValueError):
        body = sanitize_html(body)
    template_errors(body, html=True, catalog=_CATALOG)


def _render(body: str) -> None:
    render(body, {"person": {"first_name": "Ada"}}, html=True, strict=True)


def run() -> dict[str, float]:
    save_32 = _slowest(32 * 1024, _save)
    save_64 = _slowest(64 * 1024, _save)
    return {
        "template_worst_save_ms_32kb": save_32,
        "template_worst_save_ratio_64kb_vs_32kb": save_64 / save_32,
        "template_worst_read_ms_32kb": _slowest(32 * 1024, ai_prompts),
        "template_worst_render_ms_32kb": _slowest(32 * 1024, _render),
    }
