#!/usr/bin/env bash
# Sets everything up (PostgreSQL included, through apt when run as root) and runs the whole
# test suite: ruff, mypy (its configuration: pyproject.toml), then pytest. Extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-tests
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
