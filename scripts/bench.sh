#!/usr/bin/env bash
# Every benchmark in bench/; figures go to bench/results.json and docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m bench.run "$@"
