#!/usr/bin/env bash
# Sets up everything the hall system needs on a Debian machine, idempotently:
# system packages (through apt when run as root), a virtual environment in .venv
# with the pinned dependencies of requirements.lock, and the project itself.
# Usage: scripts/setup.sh [--with-tests]
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--with-tests" ]] && with_tests=1

# libgl1/libegl1: kivy draws through Mesa (also offscreen); libmtdev1: touchscreens;
# espeak-ng: the offline Mandarin voice.
apt_packages=(python3 python3-venv python3-dev ca-certificates sqlite3 libgl1 libegl1 libmtdev1
              espeak-ng)
if (( with_tests )); then
    # libzbar0: tests read printed QR codes back; chromium: Playwright drives it through the web pages
    apt_packages+=(postgresql libzbar0 chromium)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "安装系统软件包 / installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "缺少系统软件包，请以 root 运行或手动安装 / missing system packages, run as root or install: ${missing[*]}" >&2
        exit 1
    fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "需要 Python 3.11 或更新版本 / Python 3.11 or newer is required" >&2
    exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
    "$python" -m venv .venv
fi
stamp=.venv/.requirements.lock.sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "安装 Python 依赖 / installing Python dependencies (requirements.lock)"
    log=$(mktemp)
    if ! { .venv/bin/python -m pip install -q --require-hashes -r requirements.lock &&
           .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "安装失败，详见上方输出 / installation failed, see above" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$want" > "$stamp"
fi
