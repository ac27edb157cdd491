"""Services take the clock as a required argument; only the edges supply the system clock.

The edges are where a request, a command or the worker loop starts: the REST API, the web
pages, the CLI and the worker. Everything else gets its time from the ``Clock`` it is
given, so a test can move time and a service can never mix two notions of "now". This
test reads the source, so a new default ``clock=system_clock`` or a stray
``timezone.now()`` fails here rather than in a flaky test months later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sequencer"

# Where a request, a command or the worker loop starts (see the README's architecture).
EDGES = ("api/", "web/", "cli.py", "engine/worker.py")
# The one module that reads the wall clock.
CLOCK = "clock.py"
# Migrations run once, from ``migrate``, and keep the historical state of the models.
MIGRATIONS = "/migrations/"

_WALL_CLOCK_OWNERS = {"timezone", "datetime", "date"}
_WALL_CLOCK_READS = {"now", "utcnow", "today"}


def _is_system_clock(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.Name) and node.id == "system_clock") or (
        isinstance(node, ast.Attribute) and node.attr == "system_clock"
    )


def defaults_to_system_clock(source: str) -> list[str]:
    """Functions (and lambdas) whose parameter defaults to ``system_clock``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        with_default = positional[len(positional) - len(args.defaults) :]
        pairs = list(zip(with_default, args.defaults, strict=True))
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        name = getattr(node, "name", "lambda")
        found += [
            f"{name}({arg.arg}=system_clock) line {node.lineno}"
            for arg, default in pairs
            if _is_system_clock(default)
        ]
    return found


def wall_clock_reads(source: str) -> list[str]:
    """Every ``timezone.now``, ``datetime.now``, ``datetime.utcnow`` or ``date.today``,
    called or passed on (``default=timezone.now`` reads the wall clock too), and every
    ``now`` imported from ``django.utils.timezone``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _WALL_CLOCK_READS
            and (
                (isinstance(node.value, ast.Name) and node.value.id in _WALL_CLOCK_OWNERS)
                or (isinstance(node.value, ast.Attribute) and node.value.attr in _WALL_CLOCK_OWNERS)
            )
        ):
            found.append(f"{ast.unparse(node)} line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "django.utils.timezone":
            found += [f"import of now line {node.lineno}" for a in node.names if a.name == "now"]
    return found


def names_system_clock(source: str) -> list[str]:
    """Every use of ``system_clock`` (imported, passed or assigned)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name | ast.Attribute) and _is_system_clock(node):
            found.append(f"system_clock line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sequencer.clock":
            found += [f"import line {node.lineno}" for a in node.names if a.name == "system_clock"]
    return found


def _service_modules() -> list[tuple[str, str]]:
    modules = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative == CLOCK or MIGRATIONS in f"/{relative}" or relative.startswith(EDGES):
            continue
        modules.append((relative, path.read_text(encoding="utf-8")))
    return modules


def test_the_scan_covers_the_services_and_leaves_out_only_the_edges() -> None:
    scanned = {relative for relative, _ in _service_modules()}
    assert {"sequences/authoring.py", "mail/mailboxes.py", "engine/dispatch.py"} <= scanned
    assert not {"cli.py", "engine/worker.py", "clock.py", "api/sequences.py"} & scanned


def test_no_service_parameter_defaults_to_the_system_clock() -> None:
    offenders = {
        relative: found
        for relative, source in _service_modules()
        if (found := defaults_to_system_clock(source))
    }
    assert offenders == {}, "make the clock a required argument; the edges pass system_clock"


def test_no_service_reads_the_wall_clock() -> None:
    offenders = {
        relative: found
        for relative, source in _service_modules()
        if (found := wall_clock_reads(source))
    }
    assert offenders == {}, "take the time from the Clock the service is given"


def test_only_the_edges_name_the_system_clock() -> None:
    offenders = {
        relative: found
        for relative, source in _service_modules()
        if (found := names_system_clock(source))
    }
    assert offenders == {}, "services receive their clock; only the edges supply system_clock"


@pytest.mark.parametrize(
    "source",
    [
        "def f(x, clock=system_clock): ...",
        "def f(*, clock: Clock = system_clock): ...",
        "class A:\n    def __init__(self, *, clock: Clock = clock_module.system_clock): ...",
        "handler = lambda clock=system_clock: clock",
    ],
)
def test_the_scan_finds_a_default_system_clock(source: str) -> None:
    assert defaults_to_system_clock(source)


@pytest.mark.parametrize(
    "source",
    [
        "from django.utils import timezone\nnow = timezone.now()",
        "from datetime import datetime, UTC\nnow = datetime.now(UTC)",
        "import datetime\nnow = datetime.datetime.now()",
        "created_at = models.DateTimeField(default=timezone.now)",
        "from django.utils.timezone import now",
        "from datetime import date\ntoday = date.today()",
    ],
)
def test_the_scan_finds_a_wall_clock_read(source: str) -> None:
    assert wall_clock_reads(source)


def test_the_scan_accepts_a_required_clock_and_its_reading() -> None:
    source = "def f(*, clock: Clock) -> datetime:\n    return clock.now()\n"
    assert defaults_to_system_clock(source) == []
    assert wall_clock_reads(source) == []
    assert names_system_clock(source) == []
