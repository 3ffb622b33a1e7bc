#!/usr/bin/env bash
# Sets everything up and runs the demo hall: the 青山镇 town centre on a SQLite file in data/,
# its kiosk (in a window, or offscreen where there is no screen) printing to PNG files in
# data/prints/, its hall board with the voice, and the rating pad of window 1. The clerk
# console and the manager's pages open in a browser. Ctrl-C stops all. KIOSK=0, BOARD=0 and
# PAD=0 leave those out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export QUEUE_DB="sqlite:///$PWD/data/demo.db"
qs=.venv/bin/queue-server
$qs init
$qs import-hall assets/halls/demo-town.toml
# Reports start with history: the last 20 working days, simulated once into a database without any.
.venv/bin/python -m bench.simulate_day --hall demo-town --mode direct --days 20 --db "$QUEUE_DB" --if-empty

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
host=${HOST:-127.0.0.1}
port=${PORT:-8765}
# Closed now (night, weekend, holiday by the hall file's calendar): a simulated clock from the
# next opening, at real speed, so that the demo shows a working hall; demo-clock says so.
clock=()
from=$($qs demo-clock assets/halls/demo-town.toml)
[[ -n $from ]] && clock=(--simulate-from "$from")
# In a session of its own, so that Ctrl-C reaches the server only through `stop` below, after
# the devices: else they would log its going as a lost connection as they stop.
setsid $qs serve --host "$host" --port "$port" "${clock[@]}" &
server=$!
kiosk=
board=
pad=
started=()     # the roles of the devices started, whose connection is awaited below
stop() {
    # The devices first, so that they do not log the server's going as a lost connection.
    local devices=($kiosk $board $pad)
    if (( ${#devices[@]} )); then
        kill "${devices[@]}" 2>/dev/null || true
        wait "${devices[@]}" 2>/dev/null || true
    fi
    kill $server 2>/dev/null || true
    wait
}
trap stop EXIT INT TERM
for _ in $(seq 100); do
    .venv/bin/python -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://$host:$port/healthz" 2>/dev/null && break
    sleep 0.1
done
if [[ ${KIOSK:-1} != 0 ]]; then
    token=$(.venv/bin/python -c "import json, sys; print(next(d['token'] for d in json.load(open(sys.argv[1])) if d['role'] == 'kiosk'))" "$tokens")
    mkdir -p data/prints
    .venv/bin/kiosk run --server "ws://$host:$port/ws" --token "$token" --windowed \
        --portrait --printer preview:data/prints --cache data/kiosk-cache &
    kiosk=$!
    started+=(kiosk)
    echo "取号机已启动，打印的小票保存为图片 / the kiosk runs; its printouts: data/prints/*.png"
fi
if [[ ${BOARD:-1} != 0 ]]; then
    token=$(.venv/bin/python -c "import json, sys; print(next(d['token'] for d in json.load(open(sys.argv[1])) if d['role'] == 'display'))" "$tokens")
    .venv/bin/display-board --server "ws://$host:$port/ws" --token "$token" --windowed &
    board=$!
    started+=(display)
    echo "叫号显示屏已启动 / the hall board runs (voice: espeak-ng)"
fi
if [[ ${PAD:-1} != 0 ]]; then
    token=$(.venv/bin/python -c "import json, sys; print(next(d['token'] for d in json.load(open(sys.argv[1])) if d['role'] == 'pad'))" "$tokens")
    .venv/bin/satisfaction-pad --server "ws://$host:$port/ws" --token "$token" --windowed \
        --outbox data/pad-outbox.json &
    pad=$!
    started+=(pad)
    echo "1 号窗口评价器已启动 / the rating pad of window 1 runs"
fi
# The addresses and logins come last, after the devices' own lines ("取号机 kiosk-1 已连接 …"),
# so that they are on the screen without scrolling: wait (a minute at most) until every device
# started is connected, as /healthz counts them.
if (( ${#started[@]} )); then
    .venv/bin/python - "http://$host:$port/healthz" "${started[@]}" <<'PY'
import json, sys, time, urllib.request
url, roles = sys.argv[1], sys.argv[2:]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        seen = json.load(urllib.request.urlopen(url, timeout=1)).get("connections", {})
    except (OSError, ValueError):
        seen = {}
    if all(seen.get(role) for role in roles):
        break
    time.sleep(0.2)
else:
    print("部分设备未能连接，见上方日志 / some devices did not connect, see above", file=sys.stderr)
PY
fi
pin=$(.venv/bin/python -c "import tomllib; print(next(c['pin'] for c in tomllib.load(open('assets/halls/demo-town.toml', 'rb'))['clerks'] if c['badge'] == '1001'))")
url=http://$host:$port
# The mobile 取号 page's code of the hall's day: the simulated clock's day when it runs on one.
code=$($qs take-code ${from:+--day "${from:0:10}"})
echo
echo "演示大厅 / demo hall:       $url/            （首页，含各页面与办事指南的链接）"
echo "手机取号 / take a ticket:   $url/take        今日取号码 hall code $code（无屏幕时用浏览器取号 / without a screen）"
echo "网上预约 / book a slot:     $url/book        预约码在取号机签到 / the code checks in at a kiosk"
echo "窗口工作台 / clerk console: $url/clerk       演示工号 badge 1001，密码 PIN $pin（1 号窗口 A 岗）"
echo "大厅管理 / manager:         $url/manager     账号 admin，密码 demo-admin-2026"
echo "设备 / devices:             ws://$host:$port/ws   令牌 tokens: $tokens；小票图片 printouts: data/prints/"
echo "按 Ctrl-C 停止演示 / Ctrl-C stops the demo"
wait $server
