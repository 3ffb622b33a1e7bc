#!/usr/bin/env bash
# Regenerates requirements.lock (every dependency pinned, with hashes) from pyproject.toml.
# The build tools (setuptools, wheel) are locked too, because setup.sh installs the
# project without build isolation so that nothing unpinned is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q uv
printf 'setuptools>=68\nwheel\n' > "$tools/build-tools.in"
"$tools/venv/bin/uv" pip compile pyproject.toml "$tools/build-tools.in" --extra test \
    --python-version 3.11 --generate-hashes --no-header -o requirements.lock -q
