#!/usr/bin/env bash
# The whole suite: lint, then every test on SQLite, then every database test again on
# PostgreSQL. Under CI=true a missing PostgreSQL is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PG_URL="${SEQUENCER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export SEQUENCER_DATA_DIR="${SEQUENCER_DATA_DIR:-$(mktemp -d)}"

step() { printf '\n== %s\n' "$*"; }

step "lint (ruff, mypy)"
$VENV/bin/ruff check src tests bench
$VENV/bin/ruff format --check src tests bench
$VENV/bin/mypy src

postgres_reachable() {
    $VENV/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} is not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

step "test peers"
bash scripts/ensure-peers.sh

# pytest exits 5 when it collected no test: that is a failure here, like any non-zero.
# --durations: the slowest tests are named in every run, to keep the suite quick.
step "tests on SQLite"
DATABASE_URL="" $VENV/bin/pytest -n 2 -q --durations=20

# Each run creates (and drops) a test database of its own, test_<name>[_gwN]_<pid>_<random>
# (tests/conftest.py), so two suites on one machine never collide.
step "database tests on PostgreSQL"
if postgres_reachable; then
    DATABASE_URL="$PG_URL" $VENV/bin/pytest -n 2 -q -m django_db --durations=20
elif [ "${CI:-}" = "true" ]; then
    echo "CI=true and PostgreSQL is missing: failing. Start it, or set SEQUENCER_TEST_POSTGRES_URL." >&2
    exit 1
else
    echo "SKIPPED: PostgreSQL is not running. Install and start it (apt-get install postgresql)" >&2
    echo "or set SEQUENCER_TEST_POSTGRES_URL; CI fails instead of skipping." >&2
fi
