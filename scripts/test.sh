#!/usr/bin/env bash
# Sets everything up (PostgreSQL included, through apt when run as root) and runs the whole
# test suite: ruff, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-tests
.venv/bin/ruff check .
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
