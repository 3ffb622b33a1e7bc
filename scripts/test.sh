#!/usr/bin/env bash
# Sets everything up (PostgreSQL included, through apt when run as root) and runs the whole
# test suite: ruff, mypy (its configuration: pyproject.toml), then pytest, which ends by listing
# its 25 slowest tests (CI must stay under 30 minutes). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-tests
# Byte-code caches on: the machine's environment may say PYTHONDONTWRITEBYTECODE=1, and then
# every server, CLI and device process the tests start compiles the project's sources anew
# (a third of a server's start-up CPU). The caches go to __pycache__/, which git ignores.
unset PYTHONDONTWRITEBYTECODE
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider --durations=25 "$@"
