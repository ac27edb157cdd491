"""Where one worker's sending time goes: medians of the sending benchmark, or a profile.

``python -m bench.profile_sending median [rounds]`` runs ``bench_sending`` ``rounds``
times (default 3) and prints the median of each figure: the machine is shared, so one
run alone says little. ``python -m bench.profile_sending profile [emails]`` sends
``emails`` (default 200) under ``cProfile`` in the benchmark's child process and prints
the 40 functions with the most cumulative time and the 40 with the most own time.
Neither writes ``bench/results.json``.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

from bench import bench_sending, support


def median(rounds: int) -> dict[str, float]:
    runs = [bench_sending.run() for _ in range(rounds)]
    return {name: round(statistics.median(r[name] for r in runs), 4) for name in sorted(runs[0])}


def profile(emails: int) -> str:
    out = Path(tempfile.mkdtemp(prefix="sequencer-profile-")) / "send.prof"
    with support.sink_smtp_server() as port:
        support.run_child("profile_sending", "child", str(port), str(emails), str(out))
    stats = pstats.Stats(str(out))
    text = []
    for order in ("cumulative", "tottime"):
        stream = _Capture()
        pstats.Stats(str(out), stream=stream).sort_stats(order).print_stats(40)  # type: ignore[arg-type]
        text.append(stream.text)
    del stats
    return "\n".join(text)


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


def _child(port: int, emails: int, out: str) -> None:
    support.setup_django()
    profiler = cProfile.Profile()
    profiler.enable()
    result = bench_sending.instant(port, emails)
    profiler.disable()
    profiler.dump_stats(out)
    support.emit(result)


if __name__ == "__main__":
    mode, *args = sys.argv[1:] or ["median"]
    if mode == "child":
        _child(int(args[0]), int(args[1]), args[2])
    elif mode == "profile":
        print(profile(int(args[0]) if args else 200))
    else:
        print(json.dumps(median(int(args[0]) if args else 3), indent=2))
