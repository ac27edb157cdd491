"""Run every benchmark in ``bench/`` and record the figures.

Each ``bench/bench_*.py`` module exposes ``FIGURES``: a dict from figure name to
``(description, unit, target)`` where target is ``(">=" | "<=", number)`` or ``None``,
and ``run() -> dict[str, float]``. The figures land in ``bench/results.json`` (one flat
JSON object) and in a table in ``docs/benchmarks.md``.

Usage: ``make bench`` or ``.venv/bin/python -m bench.run [name-fragment ...]``.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REPORT = ROOT / "docs" / "benchmarks.md"
# Everything from this heading on in the report is written by hand and kept on each run.
NOTES = "## Notes"


def _modules(selected: list[str]) -> list[Any]:
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return [importlib.import_module(f"bench.{n}") for n in names]


def _meets(value: float, target: tuple[str, float] | None) -> str:
    if target is None:
        return "—"
    op, bound = target
    ok = value >= bound if op == ">=" else value <= bound
    return "yes" if ok else "NO"


def main(argv: list[str]) -> int:
    os.environ.setdefault("SEQUENCER_DATA_DIR", tempfile.mkdtemp(prefix="sequencer-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer.config.settings")
    results: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    described: dict[str, tuple[str, str, tuple[str, float] | None]] = {}
    for module in _modules(argv):
        started = time.perf_counter()
        figures = module.run()
        print(f"{module.__name__}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
        results.update({k: round(v, 4) for k, v in figures.items()})
        described.update(module.FIGURES)
    for module in _modules([]):
        described.update(module.FIGURES)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")

    rows = []
    for name in sorted(results):
        description, unit, target = described.get(name, ("", "", None))
        shown = f"{target[0]} {target[1]:g}" if target else "—"
        rows.append(
            f"| `{name}` | {results[name]:g} {unit} | {shown} | {_meets(results[name], target)} "
            f"| {description} |"
        )
    table = "\n".join(
        ["| figure | measured | target | met | what it measures |", "|---|---|---|---|---|", *rows]
    )
    print(table)
    REPORT.write_text(
        "# Benchmarks\n\n"
        "Measured by `make bench` (`.venv/bin/python -m bench.run`), which rewrites this file "
        "(up to its notes) and `bench/results.json`.\n\n"
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.\n\n"
        f"{table}\n"
        f"{_notes()}"
    )
    return 0


def _notes() -> str:
    """The report's hand-written part, from its notes heading on: kept as it is."""
    if not REPORT.exists():
        return ""
    text = REPORT.read_text()
    at = text.find(NOTES)
    return "" if at < 0 else "\n" + text[at:]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
