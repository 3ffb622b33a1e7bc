#!/usr/bin/env bash
# Sets everything up and runs the demo hall: the 青山镇 town centre on a SQLite file in data/.
# The server keeps running in the foreground (Ctrl-C stops it) and prints where it listens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export QUEUE_DB="sqlite:///$PWD/data/demo.db"
qs=.venv/bin/queue-server
$qs init
$qs import-hall assets/halls/demo-town.toml

# Device tokens are shown only once, so the demo keeps its own in data/demo-devices.json.
tokens=data/demo-devices.json
if [[ ! -s $tokens ]]; then
    {
        echo "["
        $qs device add --role kiosk --name kiosk-1 --json; echo ","
        $qs device add --role display --name board-1 --json; echo ","
        $qs device add --role pad --name pad-1 --window 1 --json
        echo "]"
    } > "$tokens.new"
    mv "$tokens.new" "$tokens"
fi
$qs manager add admin --name 演示管理员 --password demo-admin-2026 >/dev/null
echo "演示设备令牌 / demo device tokens: $tokens"
echo "演示管理账号 / demo manager: admin / demo-admin-2026"
echo "演示工作人员 / demo clerks: 工号与密码见 assets/halls/demo-town.toml（如 1001）"
exec $qs serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8765}"
